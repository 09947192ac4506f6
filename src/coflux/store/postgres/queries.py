"""The SQL of the PostgreSQL store's reads, in one place.

The same queries as the SQLite store's (``store/sqlite/queries.py``), with the
project as the first condition of each, so every one reaches its rows through an
index that starts with ``project_id``. Parameters are named: ``%(p)s`` is always
the project. Results are read in binary, so a float arrives as its eight bytes
whatever the session's ``extra_float_digits``.
"""

from __future__ import annotations

from typing import Any

from coflux.store.reading import RunSelection

# The latest execution (highest attempt) of a run's first step, as a LATERAL
# subquery; `{run}` names the column holding the run id, `{columns}` what to take.
_ROOT_EXECUTION = """(
    SELECT {columns} FROM steps s JOIN executions e
        ON e.project_id = s.project_id AND e.step_id = s.id
    WHERE s.project_id = %(p)s AND s.run_id = {run} AND s.number = 1
    ORDER BY e.attempt DESC LIMIT 1
)"""

PROJECT = "SELECT id, name, created_at FROM projects WHERE id = %(p)s"

# How many runs of each environment and state (both arrays) were created at or
# after %(since)s: a count of a range of `runs_by_environment_state`
# (0007_run_history.sql) for each pair, however long the history before it.
RUN_COUNTS = """
SELECT e.id, s.state, (
    SELECT count(*) FROM runs r
    WHERE r.project_id = %(p)s AND r.environment_id = e.id AND r.state = s.state
        AND r.created_at >= %(since)s
)
FROM unnest(%(environments)s::text[]) e (id)
CROSS JOIN unnest(%(states)s::text[]) s (state)
"""

# id, created_at, name, base_id, status, updated_at of every environment, oldest first.
CURRENT_ENVIRONMENTS = """
SELECT e.id, e.created_at, v.name, v.base_id, v.status, v.at
FROM environments e
CROSS JOIN LATERAL (
    SELECT name, base_id, status, at FROM environment_versions
    WHERE project_id = e.project_id AND environment_id = e.id
    ORDER BY id DESC LIMIT 1
) v
WHERE e.project_id = %(p)s
ORDER BY e.seq
"""

# The latest registration of each repository in environment %(env)s, by name.
# Registrations are only recorded when a manifest changes, so they are few.
LATEST_MANIFESTS = """
SELECT m.manifest
FROM (
    SELECT DISTINCT ON (repository) repository, manifest_hash
    FROM manifest_registrations
    WHERE project_id = %(p)s AND environment_id = %(env)s
    ORDER BY repository, id DESC
) g
JOIN manifests m ON m.project_id = %(p)s AND m.hash = g.manifest_hash
ORDER BY g.repository
"""


_RUN_COLUMNS = "id, environment_id, repository, target, created_at, seq"


def like_pattern(text: str) -> str:
    """A LIKE pattern matching any text that contains ``text`` (the default escape)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# The runs whose first step's arguments contain a text (`%(pattern)s`), through the
# trigram index (0007_run_history.sql), at most `%(limit)s` of them.
MATCHING_RUNS = """
SELECT run_id FROM steps
WHERE project_id = %(p)s AND number = 1 AND left(arguments, 10000) LIKE %(pattern)s
LIMIT %(limit)s
"""

# A search whose text is in more runs than this is checked run by run, in the
# page's order (the matches are dense: a page is found soon); one in fewer, by
# looking up the runs it is in (``MATCHING_RUNS``: they are few).
FEW_MATCHES = 5_000


def list_runs(
    selection: RunSelection, matched: list[str] | None = None
) -> tuple[str, dict[str, Any]]:
    """The runs of ``selection`` (at most ``%(limit)s``) with their root execution's
    latest state, and the query's parameters but the project and the limit.

    As in the SQLite store: each branch reads its own index in the page's order, up
    to the limit, and the branches are merged. Column names come from
    ``reading``'s fixed list; values are bound.

    Args:
        matched: with a search, the runs whose arguments contain its text, when
            they are ``FEW_MATCHES`` or fewer; None: more (or no search).
    """
    params: dict[str, Any] = {}
    common = []
    if selection.since is not None:
        common.append("created_at >= %(since)s")
        params["since"] = selection.since
    if selection.until is not None:
        common.append("created_at < %(until)s")
        params["until"] = selection.until
    order = "ASC" if selection.oldest_first else "DESC"
    if selection.after is not None:
        beyond = ">" if selection.oldest_first else "<"
        common.append(f"(created_at, seq) {beyond} (%(after_at)s, %(after_seq)s)")
        params["after_at"], params["after_seq"] = selection.after
    if selection.search is not None:
        # The run with that id, or one whose arguments contain the text (LIKE finds
        # exactly what SQLite's trigram index does).
        params["search"] = selection.search
        if matched is not None or len(selection.search) < 3:
            params["matched"] = [selection.search, *(matched or ())]
            common.append("id = ANY(%(matched)s::text[])")
        else:
            # Run by run: a scalar subquery, which the planner never turns into a
            # hash of every match (as it would an EXISTS), one key look-up each.
            params["pattern"] = like_pattern(selection.search)
            common.append(
                "(id = %(search)s OR (SELECT left(s.arguments, 10000) LIKE %(pattern)s"
                " FROM steps s WHERE s.project_id = %(p)s AND s.run_id = runs.id"
                " AND s.number = 1))"
            )
    parts = []
    for index, branch in enumerate(selection.branches):
        conditions = [f"{column} = %(b{index}_{column})s" for column in branch]
        params.update({f"b{index}_{column}": value for column, value in branch.items()})
        where = "".join(f" AND {condition}" for condition in conditions + common)
        parts.append(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE project_id = %(p)s{where}"
            f" ORDER BY created_at {order}, seq {order} LIMIT %(limit)s"
        )
    if len(parts) == 1:
        page = parts[0]
    else:
        merged = " UNION ALL ".join(f"({part})" for part in parts)
        page = f"{merged} ORDER BY created_at {order}, seq {order} LIMIT %(limit)s"
    root = _ROOT_EXECUTION.format(columns="e.state, e.state_at", run="page.id")
    sql = f"""
SELECT page.id, page.environment_id, page.repository, page.target, page.created_at,
       root.state, root.state_at, page.seq
FROM ({page}) page
LEFT JOIN LATERAL {root} root ON true
ORDER BY page.created_at {order}, page.seq {order}
"""
    return sql, params


# A run's row, and the execution that spawned it (the SQLite store's RUN says how).
RUN = """
SELECT r.environment_id, r.repository, r.target, r.idempotency_key, r.created_at, (
    SELECT caller.id FROM steps s
    JOIN executions root ON root.project_id = s.project_id AND root.step_id = s.id
    JOIN executions caller ON caller.project_id = s.project_id AND caller.leader_id = root.id
    WHERE s.project_id = r.project_id AND s.run_id = r.id AND s.number = 1
        AND caller.state = 'spawned'
    LIMIT 1
)
FROM runs r WHERE r.project_id = %(p)s AND r.id = %(run)s
"""

# A step's columns as views read them; `{s}` names the steps table in the query.
_STEP = (
    "{s}.id, {s}.number, {s}.parent_execution_id, {s}.call_index,"
    " {s}.repository, {s}.target, {s}.type, {s}.created_at, {s}.group_index, {s}.group_name"
)

# An execution's columns as views read them: what it is, its current state and
# what it stands in for (its leader).
_EXECUTION = (
    "{e}.id, {e}.attempt, {e}.environment_id, {e}.created_at,"
    " {e}.state, {e}.state_at, {e}.assigned_at, {e}.session_id, {e}.leader_id"
)

# A run's outline: a row per execution (one with NULLs for a step that has none).
OUTLINE_OF_RUN = f"""
SELECT {_STEP.format(s="s")}, {_EXECUTION.format(e="e")}
FROM steps s
LEFT JOIN executions e ON e.project_id = s.project_id AND e.step_id = s.id
WHERE s.project_id = %(p)s AND s.run_id = %(run)s
ORDER BY s.number, e.attempt
"""

# The same with the step's arguments, the execution's outcome and the step's
# options last (for the outline's previews and the whole view: ``rows.run_outline``,
# ``rows.run_view``).
OUTLINE_WITH_VALUES_OF_RUN = f"""
SELECT {_STEP.format(s="s")}, {_EXECUTION.format(e="e")}, s.arguments, o.outcome, s.options
FROM steps s
LEFT JOIN executions e ON e.project_id = s.project_id AND e.step_id = s.id
LEFT JOIN outcomes o ON o.project_id = e.project_id AND o.execution_id = e.id
WHERE s.project_id = %(p)s AND s.run_id = %(run)s
ORDER BY s.number, e.attempt
"""

# Every transition of a run's executions, each execution's together and in append
# order: a row each (arrays aggregated an execution took twice as long to read).
TRANSITIONS_OF_RUN = """
SELECT t.execution_id, t.state, t.at, t.session_id
FROM executions e
JOIN execution_transitions t ON t.project_id = e.project_id AND t.execution_id = e.id
WHERE e.project_id = %(p)s AND e.run_id = %(run)s
ORDER BY t.execution_id, t.id
"""

_LOG_COLUMNS = "id, run_id, execution_id, timestamp, level, template, template_values"

# `levels`: the levels asked for, an array (all of them when unfiltered).
LOGS_OF_RUN = f"""
SELECT {_LOG_COLUMNS} FROM logs
WHERE project_id = %(p)s AND run_id = %(run)s AND id > %(after)s AND level = ANY(%(levels)s)
ORDER BY id LIMIT %(limit)s
"""

LOGS_OF_EXECUTION = f"""
SELECT {_LOG_COLUMNS} FROM logs
WHERE project_id = %(p)s AND execution_id = %(execution)s AND run_id = %(run)s
  AND id > %(after)s AND level = ANY(%(levels)s)
ORDER BY id LIMIT %(limit)s
"""

# --- metrics ---------------------------------------------------------------------

# A metric's point count and latest point (its last by id: its x only grows), each
# through `metric_points_by_metric`; `{m}` names the metrics table in the query.
_METRIC_POINTS = """
CROSS JOIN LATERAL (
    SELECT count(*) FROM metric_points
    WHERE project_id = {m}.project_id AND execution_id = {m}.execution_id AND key = {m}.key
) c
LEFT JOIN LATERAL (
    SELECT value, at FROM metric_points
    WHERE project_id = {m}.project_id AND execution_id = {m}.execution_id AND key = {m}.key
    ORDER BY id DESC LIMIT 1
) p ON true
"""

_METRICS = f"""
SELECT m.execution_id, m.key, m.definition, m.created_at, c.count, p.value, p.at
FROM metrics m
{_METRIC_POINTS.format(m="m")}
"""

METRICS_OF_RUN = _METRICS + "WHERE m.project_id = %(p)s AND m.run_id = %(run)s ORDER BY m.seq"

METRICS_OF_EXECUTION = (
    _METRICS
    + "WHERE m.project_id = %(p)s AND m.execution_id = %(execution)s AND m.run_id = %(run)s"
    + " ORDER BY m.seq"
)

_POINT_COLUMNS = "id, execution_id, key, value, at"

POINTS_OF_RUN = f"""
SELECT {_POINT_COLUMNS} FROM metric_points
WHERE project_id = %(p)s AND run_id = %(run)s AND id > %(after)s ORDER BY id LIMIT %(limit)s
"""

POINTS_OF_EXECUTION = f"""
SELECT {_POINT_COLUMNS} FROM metric_points
WHERE project_id = %(p)s AND execution_id = %(execution)s AND run_id = %(run)s
  AND id > %(after)s
ORDER BY id LIMIT %(limit)s
"""

# --- snapshot: each starts from the working set ---------------------------------

ACTIVE_EXECUTIONS = """
SELECT e.id, e.step_id, e.run_id, s.number, e.attempt, e.environment_id, e.state,
       e.session_id, e.created_at, e.due_at, s.repository, s.target, s.type,
       coalesce(e.arguments, s.arguments), s.options, s.parent_execution_id, s.call_index,
       (
           SELECT arguments FROM checkpoints
           WHERE project_id = e.project_id AND execution_id = e.id
           ORDER BY id DESC LIMIT 1
       ),
       e.leader_id
FROM active_executions a
JOIN executions e ON e.project_id = a.project_id AND e.id = a.execution_id
JOIN steps s ON s.project_id = e.project_id AND s.id = e.step_id
WHERE a.project_id = %(p)s
ORDER BY a.seq
"""

ACTIVE_RUNS = f"""
SELECT r.id, r.environment_id, {_ROOT_EXECUTION.format(columns="e.id", run="r.id")},
       (SELECT max(number) FROM steps WHERE project_id = %(p)s AND run_id = r.id)
FROM (
    SELECT DISTINCT e.run_id
    FROM active_executions a
    JOIN executions e ON e.project_id = a.project_id AND e.id = a.execution_id
    WHERE a.project_id = %(p)s
) active
JOIN runs r ON r.project_id = %(p)s AND r.id = active.run_id
ORDER BY r.created_at, r.id
"""

# (parent, call index, latest execution of the child step) for unfinished parents.
ACTIVE_CALLS = """
SELECT s.parent_execution_id, s.call_index, (
    SELECT id FROM executions
    WHERE project_id = s.project_id AND step_id = s.id ORDER BY attempt DESC LIMIT 1
)
FROM active_executions a
JOIN steps s ON s.project_id = a.project_id AND s.parent_execution_id = a.execution_id
WHERE a.project_id = %(p)s
ORDER BY a.seq, s.call_index
"""

# (execution, key, latest x, point count) of each metric of an unfinished execution.
ACTIVE_METRICS = f"""
SELECT m.execution_id, m.key, p.at, c.count
FROM active_executions a
JOIN metrics m ON m.project_id = a.project_id AND m.execution_id = a.execution_id
{_METRIC_POINTS.format(m="m")}
WHERE a.project_id = %(p)s
ORDER BY a.seq, m.seq
"""

SESSION_SECRETS = """
SELECT id, secret_sha256 FROM sessions
WHERE project_id = %(p)s AND id = ANY(%(sessions)s::text[]) AND secret_sha256 IS NOT NULL
"""

# What re-running one step needs (``StepRecord``).
STEP_RECORD = f"""
SELECT s.run_id, r.environment_id,
       (SELECT max(number) FROM steps WHERE project_id = %(p)s AND run_id = s.run_id),
       {_ROOT_EXECUTION.format(columns="e.id", run="s.run_id")},
       s.id, s.number, s.repository, s.target, s.type, s.arguments, s.options,
       s.parent_execution_id, latest.id, latest.attempt
FROM steps s
JOIN runs r ON r.project_id = s.project_id AND r.id = s.run_id
CROSS JOIN LATERAL (
    SELECT id, attempt FROM executions
    WHERE project_id = s.project_id AND step_id = s.id ORDER BY attempt DESC LIMIT 1
) latest
WHERE s.project_id = %(p)s AND s.id = %(step)s
"""

OUTCOME = "SELECT outcome FROM outcomes WHERE project_id = %(p)s AND execution_id = %(execution)s"

# The outcome of the latest execution of the step that an execution belongs to.
STEP_OUTCOME = """
SELECT o.outcome
FROM executions e
JOIN executions latest ON latest.project_id = e.project_id AND latest.step_id = e.step_id
LEFT JOIN outcomes o ON o.project_id = latest.project_id AND o.execution_id = latest.id
WHERE e.project_id = %(p)s AND e.id = %(execution)s
ORDER BY latest.attempt DESC
LIMIT 1
"""

# The newest execution that succeeded (itself, not by standing in for another)
# for a cache key, in the given environments, finished at or after a time.
CACHE_HIT = """
SELECT e.id, o.outcome
FROM steps s
JOIN executions e ON e.project_id = s.project_id AND e.step_id = s.id
JOIN outcomes o ON o.project_id = e.project_id AND o.execution_id = e.id
WHERE s.project_id = %(p)s AND s.cache_key = %(key)s
  AND e.environment_id = ANY(%(environments)s::text[])
  AND o.at >= %(since)s
  AND o.outcome::json ->> 'tag' = 'succeeded'
  AND EXISTS (
    SELECT 1 FROM execution_transitions t
    WHERE t.project_id = e.project_id AND t.execution_id = e.id AND t.state = 'succeeded'
  )
ORDER BY o.at DESC
LIMIT 1
"""

# The latest execution of the first step of a run with a memo key, and its outcome.
MEMO_HIT = """
SELECT e.id, o.outcome
FROM steps s
JOIN executions e ON e.project_id = s.project_id AND e.step_id = s.id
LEFT JOIN outcomes o ON o.project_id = e.project_id AND o.execution_id = e.id
WHERE s.project_id = %(p)s AND s.run_id = %(run)s AND s.memo_key = %(key)s
ORDER BY s.number, e.attempt DESC
LIMIT 1
"""

RUN_BY_IDEMPOTENCY_KEY = """
SELECT id FROM runs WHERE project_id = %(p)s AND idempotency_key = %(key)s
"""

RUN_OF_EXECUTION = "SELECT run_id FROM executions WHERE project_id = %(p)s AND id = %(execution)s"

# --- assets ---------------------------------------------------------------------

_ASSET_COLUMNS = "id, execution_id, kind, path, size, file_count, metadata, created_at"

ASSET = f"SELECT {_ASSET_COLUMNS} FROM assets WHERE project_id = %(p)s AND id = %(asset)s"

ASSET_ENTRIES = """
SELECT path, size, blob FROM asset_entries
WHERE project_id = %(p)s AND asset_id = %(asset)s ORDER BY path
"""

ASSETS_OF_RUN = f"""
SELECT {_ASSET_COLUMNS} FROM assets
WHERE project_id = %(p)s AND run_id = %(run)s ORDER BY created_at, id
"""

RESTORES_OF_RUN = """
SELECT asset_id, execution_id, at FROM asset_restores
WHERE project_id = %(p)s AND run_id = %(run)s ORDER BY id
"""

# --- inputs ---------------------------------------------------------------------
# An input's row: its info, the asking execution's environment, and its settlement
# (kind, value, by, at; NULL while pending). See 0008_inputs.sql.

_INPUT_ROW = """
SELECT i.info, e.environment_id, r.kind, r.value, r.by, r.at
FROM inputs i
JOIN executions e ON e.project_id = i.project_id AND e.id = i.execution_id
LEFT JOIN input_responses r ON r.project_id = i.project_id AND r.input_id = i.id
"""

INPUT = _INPUT_ROW + "WHERE i.project_id = %(p)s AND i.id = %(input)s"


def list_inputs(
    environment_id: str | None, run_id: str | None, statuses: tuple[str, ...] | None, limit: int
) -> tuple[str, dict[str, Any]]:
    """The inputs of an environment and/or run with one of ``statuses`` (None: any),
    newest first: the statement and its parameters (but the project's)."""
    conditions = ["i.project_id = %(p)s"]
    params: dict[str, Any] = {"limit": limit}
    if environment_id is not None:
        conditions.append("e.environment_id = %(env)s")
        params["env"] = environment_id
    if run_id is not None:
        conditions.append("i.run_id = %(run)s")
        params["run"] = run_id
    if statuses is not None:
        either = ["r.input_id IS NULL"] if "pending" in statuses else []
        settled = [s for s in statuses if s != "pending"]
        if settled:
            either.append("r.kind = ANY(%(settled)s::text[])")
            params["settled"] = settled
        conditions.append(f"({' OR '.join(either) or 'false'})")
    where = " AND ".join(conditions)
    return (
        f"{_INPUT_ROW}WHERE {where} ORDER BY i.created_at DESC, i.id DESC LIMIT %(limit)s",
        params,
    )


# The inputs of unfinished runs, pending and settled, for the snapshot.
ACTIVE_INPUTS = """
SELECT i.id, i.run_id, i.execution_id, i.key, i.info, r.kind, r.value
FROM (
    SELECT DISTINCT e.run_id
    FROM active_executions a
    JOIN executions e ON e.project_id = a.project_id AND e.id = a.execution_id
    WHERE a.project_id = %(p)s
) active
JOIN inputs i ON i.project_id = %(p)s AND i.run_id = active.run_id
LEFT JOIN input_responses r ON r.project_id = i.project_id AND r.input_id = i.id
ORDER BY i.created_at, i.id
"""
