"""The SQL of the SQLite store's reads, in one place so tests can EXPLAIN it.

Every query reaches its rows through an index (see ``0001_initial.sql``); the
snapshot queries start from ``active_executions`` so that their cost follows the
amount of unfinished work, not the length of the project's history.
"""

from __future__ import annotations

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


def list_runs(where: str) -> str:
    """Most recent runs matching ``where``, with their root execution's latest state.

    ``where`` is built by the caller from fixed column names; values are bound.
    """
    return f"""
SELECT page.id, page.environment_id, page.repository, page.target, page.created_at,
       root.state, root.state_at
FROM (
    SELECT id, environment_id, repository, target, created_at, rowid AS seq
    FROM runs WHERE {where}
    ORDER BY created_at DESC, rowid DESC LIMIT :limit
) page
LEFT JOIN executions root ON root.id = {_ROOT_EXECUTION.format(run="page.id")}
ORDER BY page.created_at DESC, page.seq DESC
"""


RUN = """
SELECT environment_id, repository, target, idempotency_key, created_at
FROM runs WHERE id = ?
"""

# A step's columns as views read them: what it is and where it sits in the call
# tree; `{s}` names the steps table in the enclosing query.
_STEP = (
    "{s}.id, {s}.number, {s}.parent_execution_id, {s}.call_index,"
    " {s}.repository, {s}.target, {s}.type, {s}.created_at, {s}.group_index, {s}.group_name"
)

STEPS_OF_RUN = f"""
SELECT {_STEP.format(s="s")}, s.arguments, s.options
FROM steps AS s WHERE s.run_id = ? ORDER BY s.number
"""

# An execution's columns as views read them: what it is and its current state
# (see 0005_current_state.sql); `{e}` names the executions table in the query.
_EXECUTION = (
    "{e}.id, {e}.attempt, {e}.environment_id, {e}.created_at,"
    " {e}.state, {e}.state_at, {e}.assigned_at, {e}.session_id"
)

# Every execution of a run, one row each, with its outcome and its transitions as
# a JSON array of TransitionView objects in append order (the subquery reads them
# in the order of the (execution_id, id) index). Aggregating here rather than
# returning a row per transition keeps the Python work per execution small.
# SQLite writes a REAL into JSON with 15 significant digits; printf's `%!.17g`
# keeps every bit of the time.
EXECUTIONS_OF_RUN = f"""
SELECT {_EXECUTION.format(e="e")}, e.step_id, o.outcome, (
    SELECT json_group_array(json_object(
        'state', t.state, 'at', json(printf('%!.17g', t.at)), 'session_id', t.session_id
    ))
    FROM (
        SELECT state, at, session_id FROM execution_transitions
        WHERE execution_id = e.id ORDER BY id
    ) AS t
)
FROM executions AS e
LEFT JOIN outcomes AS o ON o.execution_id = e.id
WHERE e.run_id = ?
ORDER BY e.step_id, e.attempt
"""

# A run's outline: each step with its executions, a row per execution (one row
# with NULLs for a step that has none), in step and attempt order.
OUTLINE_OF_RUN = f"""
SELECT {_STEP.format(s="s")}, {_EXECUTION.format(e="e")}
FROM steps AS s
LEFT JOIN executions AS e ON e.step_id = s.id
WHERE s.run_id = ?
ORDER BY s.number, e.attempt
"""

_LOG_COLUMNS = "id, run_id, execution_id, timestamp, level, template, template_values"

LOGS_OF_RUN = f"""
SELECT {_LOG_COLUMNS} FROM logs
WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?
"""

LOGS_OF_EXECUTION = f"""
SELECT {_LOG_COLUMNS} FROM logs
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

SNAPSHOT_QUERIES = (ACTIVE_EXECUTIONS, ACTIVE_RUNS, ACTIVE_CALLS)

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
