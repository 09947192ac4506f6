"""The SQL of the SQLite store's reads, in one place so tests can EXPLAIN it.

Every query reaches its rows through an index (see ``0001_initial.sql``); the
snapshot queries start from ``active_executions`` so that their cost follows the
amount of unfinished work, not the length of the project's history.
"""

from __future__ import annotations

import json
from typing import Any

from coflux.store.reading import RunSelection

# The latest execution (highest attempt) of a run's first step; `{run}` names
# the column holding the run id in the enclosing query.
_ROOT_EXECUTION = """(
    SELECT e.id FROM steps s JOIN executions e ON e.step_id = s.id
    WHERE s.run_id = {run} AND s.number = 1
    ORDER BY e.attempt DESC LIMIT 1
)"""

# id, created_at, name, base_id, status, updated_at of every environment, oldest first.
CURRENT_ENVIRONMENTS = """
SELECT e.id, e.created_at, v.name, v.base_id, v.status, v.at
FROM environments e
JOIN environment_versions v ON v.id = (
    SELECT max(id) FROM environment_versions WHERE environment_id = e.id
)
ORDER BY e.rowid
"""

# The latest registration of each repository in environment :env. The recursive
# part is a loose index scan: it hops from one repository name to the next
# through the index instead of reading every registration ever made.
LATEST_MANIFESTS = """
WITH RECURSIVE repositories (name) AS (
    SELECT min(repository) FROM manifest_registrations WHERE environment_id = :env
    UNION ALL
    SELECT (
        SELECT min(repository) FROM manifest_registrations
        WHERE environment_id = :env AND repository > repositories.name
    )
    FROM repositories WHERE repositories.name IS NOT NULL
)
SELECT m.manifest
FROM repositories r
JOIN manifest_registrations g ON g.id = (
    SELECT max(id) FROM manifest_registrations
    WHERE environment_id = :env AND repository = r.name
)
JOIN manifests m ON m.hash = g.manifest_hash
ORDER BY r.name
"""


PROJECT = "SELECT id, name, created_at FROM project"

# How many runs of each environment and state (both JSON arrays) were created at
# or after :since: a count of a range of `runs_by_environment_state`
# (0011_run_history.sql) for each pair, which reads only the index (it holds every
# column the count looks at), however long the history before :since.
RUN_COUNTS = """
SELECT e.value, s.value, (
    SELECT count(*) FROM runs r
    WHERE r.environment_id = e.value AND r.state = s.value AND r.created_at >= :since
)
FROM json_each(:environments) e CROSS JOIN json_each(:states) s
"""


# A run of a page: what the view shows (its root execution's state is joined to
# the page, not read for every run the page's conditions look at) and the order.
_RUN_COLUMNS = "r.id, r.environment_id, r.repository, r.target, r.created_at, r.rowid AS seq"

# The runs whose first step's arguments contain a text: a phrase of the trigram
# index (0011_run_history.sql) is the text itself, exactly. At most `:limit`.
MATCHING_RUNS = "SELECT rowid FROM run_texts WHERE run_texts MATCH :phrase LIMIT :limit"

# A search whose text is in more runs than this reads the runs in the page's
# order, each checked against all the matches (they are dense: a page is found
# soon); one in fewer reads only the runs it is in (``MATCHING_RUNS``: few).
FEW_MATCHES = 5_000


def phrase(text: str) -> str:
    """``text`` as an FTS5 phrase: itself, quoted."""
    return '"' + text.replace('"', '""') + '"'


def _conditions(selection: RunSelection, params: dict[str, Any]) -> list[str]:
    """The conditions every branch has: the time range and the cursor's position."""
    conditions = []
    if selection.since is not None:
        conditions.append("r.created_at >= :since")
        params["since"] = selection.since
    if selection.until is not None:
        conditions.append("r.created_at < :until")
        params["until"] = selection.until
    if selection.after is not None:
        # Past the position in the page's order: created later (or earlier), or at
        # the same time and appended later (earlier). The first part is a range of
        # the index; ties are rare.
        beyond = ">" if selection.oldest_first else "<"
        conditions.append(
            f"r.created_at {beyond}= :after_at AND (r.created_at {beyond} :after_at"
            f" OR r.rowid {beyond} :after_seq)"
        )
        params["after_at"], params["after_seq"] = selection.after
    return conditions


def _source(
    selection: RunSelection, matched: list[int] | None, params: dict[str, Any]
) -> tuple[str, list[str]]:
    """Where a branch reads its runs from, and the search's condition (if any)."""
    if selection.search is None:
        return "runs r", []
    # The run with that id, and those whose arguments contain the text.
    params["search"] = selection.search
    by_id = "SELECT rowid FROM runs WHERE id = :search"
    if matched is not None:
        # Only those runs, looked up by rowid (CROSS JOIN: in this order), then sorted.
        params["matched"] = json.dumps(matched)
        found = f"(SELECT value AS seq FROM json_each(:matched) UNION {by_id}) m"
        return f"{found} CROSS JOIN runs r ON r.rowid = m.seq", []
    if len(selection.search) < 3:
        return "runs r", [f"r.rowid IN ({by_id})"]
    params["phrase"] = phrase(selection.search)
    matches = "SELECT rowid FROM run_texts WHERE run_texts MATCH :phrase"
    return "runs r", [f"r.rowid IN ({by_id} UNION ALL {matches})"]


def list_runs(
    selection: RunSelection, matched: list[int] | None = None
) -> tuple[str, dict[str, Any]]:
    """The runs of ``selection`` (at most ``:limit``) with their root execution's
    latest state, and the query's parameters but the limit.

    Each branch reads its own index in the page's order, up to the limit, and the
    branches are merged (``UNION ALL`` of ordered, limited parts), so a filter on
    several states reads as little as one on one. Column names come from
    ``reading``'s fixed list; values are bound.

    Args:
        matched: with a search, the rowids of the runs whose arguments contain its
            text, when they are ``FEW_MATCHES`` or fewer; None: more (or no search).
    """
    params: dict[str, Any] = {}
    order = "ASC" if selection.oldest_first else "DESC"
    common = _conditions(selection, params)
    source, searched = _source(selection, matched, params)
    parts = []
    for index, branch in enumerate(selection.branches):
        conditions = [f"r.{column} = :b{index}_{column}" for column in branch]
        params.update({f"b{index}_{column}": value for column, value in branch.items()})
        where = " AND ".join(conditions + common + searched) or "1"
        parts.append(
            f"SELECT {_RUN_COLUMNS} FROM {source} WHERE {where}"
            f" ORDER BY r.created_at {order}, r.rowid {order} LIMIT :limit"
        )
    if len(parts) == 1:
        page = parts[0]
    else:
        merged = " UNION ALL ".join(f"SELECT * FROM ({part})" for part in parts)
        page = f"{merged} ORDER BY created_at {order}, seq {order} LIMIT :limit"
    sql = f"""
SELECT page.id, page.environment_id, page.repository, page.target, page.created_at,
       root.state, root.state_at, page.seq
FROM ({page}) page
LEFT JOIN executions root ON root.id = {_ROOT_EXECUTION.format(run="page.id")}
ORDER BY page.created_at {order}, page.seq {order}
"""
    return sql, params


# A run's row, and the execution that spawned it (None for a submitted run): a
# workflow called from a task runs apart, and its caller's execution, *spawned*,
# is linked to the run's first execution (its `leader_id`).
RUN = """
SELECT r.environment_id, r.repository, r.target, r.idempotency_key, r.created_at, (
    SELECT caller.id FROM steps s
    JOIN executions root ON root.step_id = s.id
    JOIN executions caller ON caller.leader_id = root.id
    WHERE s.run_id = r.id AND s.number = 1 AND caller.state = 'spawned'
    LIMIT 1
)
FROM runs r WHERE r.id = ?
"""

# A step's columns as views read them: what it is and where it sits in the call
# tree; `{s}` names the steps table in the enclosing query.
_STEP = (
    "{s}.id, {s}.number, {s}.parent_execution_id, {s}.call_index,"
    " {s}.repository, {s}.target, {s}.type, {s}.created_at, {s}.group_index, {s}.group_name"
)

# An execution's columns as views read them: what it is, its current state (see
# 0005_current_state.sql) and what it stands in for (0007_stand_in_links.sql);
# `{e}` names the executions table in the query.
_EXECUTION = (
    "{e}.id, {e}.attempt, {e}.environment_id, {e}.created_at,"
    " {e}.state, {e}.state_at, {e}.assigned_at, {e}.session_id, {e}.leader_id"
)

# A run's outline: each step with its executions, a row per execution (one row
# with NULLs for a step that has none), in step and attempt order.
OUTLINE_OF_RUN = f"""
SELECT {_STEP.format(s="s")}, {_EXECUTION.format(e="e")}
FROM steps AS s
LEFT JOIN executions AS e ON e.step_id = s.id
WHERE s.run_id = ?
ORDER BY s.number, e.attempt
"""

# The same with the step's arguments, the execution's outcome and the step's
# options last (for the outline's previews and the whole view: ``rows.run_outline``,
# ``rows.run_view``).
OUTLINE_WITH_VALUES_OF_RUN = f"""
SELECT {_STEP.format(s="s")}, {_EXECUTION.format(e="e")}, s.arguments, o.outcome, s.options
FROM steps AS s
LEFT JOIN executions AS e ON e.step_id = s.id
LEFT JOIN outcomes AS o ON o.execution_id = e.id
WHERE s.run_id = ?
ORDER BY s.number, e.attempt
"""

# Every transition of a run's executions, each execution's together (in the order
# of `executions_by_run`, which holds the rowid) and in append order. A row each,
# not a JSON array an execution: ~40% cheaper to read than making and decoding the
# arrays, and a REAL column keeps every bit of the time.
TRANSITIONS_OF_RUN = """
SELECT t.execution_id, t.state, t.at, t.session_id
FROM executions AS e
JOIN execution_transitions AS t ON t.execution_id = e.id
WHERE e.run_id = ?
ORDER BY e.rowid, t.id
"""

_LOG_COLUMNS = "id, run_id, execution_id, timestamp, level, template, template_values"

# The levels asked for come as one JSON array (all of them when unfiltered).
LOGS_OF_RUN = f"""
SELECT {_LOG_COLUMNS} FROM logs
WHERE run_id = ? AND id > ? AND level IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?
"""

LOGS_OF_EXECUTION = f"""
SELECT {_LOG_COLUMNS} FROM logs
WHERE execution_id = ? AND run_id = ? AND id > ? AND level IN (SELECT value FROM json_each(?))
ORDER BY id LIMIT ?
"""

# --- metrics ---------------------------------------------------------------------

# A metric's latest point (its last by id: its x only grows) and count, through
# `metric_points_by_metric`; `{m}` names the metrics table in the enclosing query.
_LATEST_POINT = """metric_points AS p ON p.id = (
    SELECT max(id) FROM metric_points WHERE execution_id = {m}.execution_id AND key = {m}.key
)"""
_POINT_COUNT = """(
    SELECT count(*) FROM metric_points WHERE execution_id = {m}.execution_id AND key = {m}.key
)"""

_METRICS = f"""
SELECT m.execution_id, m.key, m.definition, m.created_at, {_POINT_COUNT.format(m="m")},
       p.value, p.at
FROM metrics AS m
LEFT JOIN {_LATEST_POINT.format(m="m")}
"""

METRICS_OF_RUN = _METRICS + "WHERE m.run_id = ? ORDER BY m.rowid"

METRICS_OF_EXECUTION = _METRICS + "WHERE m.execution_id = ? AND m.run_id = ? ORDER BY m.rowid"

_POINT_COLUMNS = "id, execution_id, key, value, at"

POINTS_OF_RUN = f"""
SELECT {_POINT_COLUMNS} FROM metric_points
WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?
"""

POINTS_OF_EXECUTION = f"""
SELECT {_POINT_COLUMNS} FROM metric_points
WHERE execution_id = ? AND run_id = ? AND id > ? ORDER BY id LIMIT ?
"""

# --- snapshot: each starts from the working set ---------------------------------
# CROSS JOIN makes SQLite keep the written join order, so these always start from
# `active_executions` whatever the planner guesses about table sizes (on a fresh
# database it would otherwise happily scan `executions`).

ACTIVE_EXECUTIONS = """
SELECT e.id, e.step_id, e.run_id, s.number, e.attempt, e.environment_id, e.state,
       e.session_id, e.created_at, e.due_at, s.repository, s.target, s.type,
       coalesce(e.arguments, s.arguments), s.options, s.parent_execution_id, s.call_index,
       (
           SELECT arguments FROM checkpoints
           WHERE execution_id = e.id ORDER BY id DESC LIMIT 1
       ),
       e.leader_id
FROM active_executions a
CROSS JOIN executions e ON e.id = a.execution_id
CROSS JOIN steps s ON s.id = e.step_id
ORDER BY a.rowid
"""

ACTIVE_RUNS = f"""
WITH active (run_id) AS (
    SELECT DISTINCT e.run_id
    FROM active_executions a CROSS JOIN executions e ON e.id = a.execution_id
)
SELECT r.id, r.environment_id, {_ROOT_EXECUTION.format(run="r.id")},
       (SELECT max(number) FROM steps WHERE run_id = r.id)
FROM active CROSS JOIN runs r ON r.id = active.run_id
ORDER BY r.created_at, r.id
"""

# (parent, call index, latest execution of the child step) for unfinished parents;
# the child is NULL for a step with no execution yet.
ACTIVE_CALLS = """
SELECT s.parent_execution_id, s.call_index, (
    SELECT id FROM executions WHERE step_id = s.id ORDER BY attempt DESC LIMIT 1
)
FROM active_executions a
CROSS JOIN steps s ON s.parent_execution_id = a.execution_id
ORDER BY a.rowid, s.call_index
"""

# (execution, key, latest x, point count) of each metric of an unfinished execution.
ACTIVE_METRICS = f"""
SELECT m.execution_id, m.key, p.at, {_POINT_COUNT.format(m="m")}
FROM active_executions a
CROSS JOIN metrics m ON m.execution_id = a.execution_id
LEFT JOIN {_LATEST_POINT.format(m="m")}
ORDER BY a.rowid, m.rowid
"""

SNAPSHOT_QUERIES = (ACTIVE_EXECUTIONS, ACTIVE_RUNS, ACTIVE_CALLS, ACTIVE_METRICS)

SESSION_SECRET = "SELECT secret_sha256 FROM sessions WHERE id = ?"

# What re-running one step needs (``StepRecord``): the step, its run, the run's
# root and step count, and the step's latest execution. Reads a handful of rows
# whatever the run's size.
STEP_RECORD = f"""
SELECT s.run_id, r.environment_id, (SELECT max(number) FROM steps WHERE run_id = s.run_id),
       {_ROOT_EXECUTION.format(run="s.run_id")},
       s.id, s.number, s.repository, s.target, s.type, s.arguments, s.options,
       s.parent_execution_id, latest.id, latest.attempt
FROM steps s
JOIN runs r ON r.id = s.run_id
JOIN executions latest ON latest.id = (
    SELECT id FROM executions WHERE step_id = s.id ORDER BY attempt DESC LIMIT 1
)
WHERE s.id = ?
"""

OUTCOME = "SELECT outcome FROM outcomes WHERE execution_id = ?"

# The outcome of the latest execution of the step that an execution belongs to.
STEP_OUTCOME = """
SELECT o.outcome
FROM executions AS e
JOIN executions AS latest ON latest.step_id = e.step_id
LEFT JOIN outcomes AS o ON o.execution_id = latest.id
WHERE e.id = ?
ORDER BY latest.attempt DESC
LIMIT 1
"""

# The newest execution that succeeded (itself, not by standing in for another)
# for a cache key, in the given environments, finished at or after a time.
# ``{environments}`` is replaced by one placeholder per environment id.
CACHE_HIT = """
SELECT e.id, o.outcome
FROM steps AS s
JOIN executions AS e ON e.step_id = s.id
JOIN outcomes AS o ON o.execution_id = e.id
WHERE s.cache_key = ?
  AND e.environment_id IN ({environments})
  AND o.at >= ?
  AND json_extract(o.outcome, '$.tag') = 'succeeded'
  AND EXISTS (
    SELECT 1 FROM execution_transitions AS t
    WHERE t.execution_id = e.id AND t.state = 'succeeded'
  )
ORDER BY o.at DESC
LIMIT 1
"""

# The latest execution of the first step of a run with a memo key, and its outcome.
MEMO_HIT = """
SELECT e.id, o.outcome
FROM steps AS s
JOIN executions AS e ON e.step_id = s.id
LEFT JOIN outcomes AS o ON o.execution_id = e.id
WHERE s.run_id = ? AND s.memo_key = ?
ORDER BY s.number, e.attempt DESC
LIMIT 1
"""

RUN_BY_IDEMPOTENCY_KEY = "SELECT id FROM runs WHERE idempotency_key = ?"

RUN_OF_EXECUTION = "SELECT run_id FROM executions WHERE id = ?"

# --- assets ---------------------------------------------------------------------

_ASSET_COLUMNS = "id, execution_id, kind, path, size, file_count, metadata, created_at"

ASSET = f"SELECT {_ASSET_COLUMNS} FROM assets WHERE id = ?"

ASSET_ENTRIES = "SELECT path, size, blob FROM asset_entries WHERE asset_id = ? ORDER BY path"

ASSETS_OF_RUN = f"SELECT {_ASSET_COLUMNS} FROM assets WHERE run_id = ? ORDER BY created_at, id"

RESTORES_OF_RUN = (
    "SELECT asset_id, execution_id, at FROM asset_restores WHERE run_id = ? ORDER BY id"
)

# --- inputs ---------------------------------------------------------------------
# An input's row: its info, the asking execution's environment, and its settlement
# (kind, value, by, at; NULL while pending). See 0012_inputs.sql.

_INPUT_ROW = """
SELECT i.info, e.environment_id, r.kind, r.value, r.by, r.at
FROM inputs i
CROSS JOIN executions e ON e.id = i.execution_id
LEFT JOIN input_responses r ON r.input_id = i.id
"""

INPUT = _INPUT_ROW + "WHERE i.id = ?"


def list_inputs(
    environment_id: str | None, run_id: str | None, statuses: tuple[str, ...] | None, limit: int
) -> tuple[str, dict[str, Any]]:
    """The inputs of an environment and/or run with one of ``statuses`` (None: any),
    newest first: the statement and its parameters."""
    conditions: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    if environment_id is not None:
        conditions.append("e.environment_id = :env")
        params["env"] = environment_id
    if run_id is not None:
        conditions.append("i.run_id = :run")
        params["run"] = run_id
    if statuses is not None:
        settled = [s for s in statuses if s != "pending"]
        either = ["r.input_id IS NULL"] if "pending" in statuses else []
        if settled:
            either.append(f"r.kind IN ({', '.join(f':s{n}' for n in range(len(settled)))})")
            params.update({f"s{n}": status for n, status in enumerate(settled)})
        conditions.append(f"({' OR '.join(either) or '0'})")
    where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    return f"{_INPUT_ROW}{where}ORDER BY i.created_at DESC, i.id DESC LIMIT :limit", params


# The inputs of unfinished runs, pending and settled, for the snapshot.
ACTIVE_INPUTS = """
WITH active (run_id) AS (
    SELECT DISTINCT e.run_id
    FROM active_executions a CROSS JOIN executions e ON e.id = a.execution_id
)
SELECT i.id, i.run_id, i.execution_id, i.key, i.info, r.kind, r.value
FROM active
CROSS JOIN inputs i ON i.run_id = active.run_id
LEFT JOIN input_responses r ON r.input_id = i.id
ORDER BY i.created_at, i.id
"""
