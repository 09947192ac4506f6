"""Building the read models of ``coflux.store.base`` from the SQLite schema.

Each function takes a connection that the caller has put in a read transaction,
so views assembled from several queries see one consistent state even while the
writer appends. "Current" always means the latest row by id (append order).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

import msgspec

from coflux import protocol
from coflux.orchestration.events import StepRecord
from coflux.orchestration.states import ExecutionState
from coflux.store import codecs
from coflux.store.sqlite import queries
from coflux.views import (
    EnvironmentView,
    ExecutionOutline,
    ExecutionView,
    LogView,
    ProjectInfo,
    RunOutline,
    RunSummary,
    RunView,
    StepHeader,
    StepOutline,
    StepView,
    TransitionView,
)

_QUEUED = ExecutionState.QUEUED.value
# Plain strings, looked up once: enum attribute access is slow in the loops that
# build views of runs with thousands of executions.
_TERMINAL = frozenset(state.value for state in ExecutionState if state.terminal)


def get_step_record(conn: sqlite3.Connection, step_id: str) -> StepRecord | None:
    row = conn.execute(queries.STEP_RECORD, (step_id,)).fetchone()
    if row is None:
        return None
    (run_id, env_id, step_count, root, step_id, number, repository, target, kind,
     arguments, options, parent, latest_id, latest_attempt) = row  # fmt: skip
    return StepRecord(
        run_id=run_id,
        run_environment_id=env_id,
        run_step_count=step_count,
        root_execution_id=root,
        step_id=step_id,
        number=number,
        repository=repository,
        target=target,
        type=kind,
        arguments=codecs.decode_arguments(arguments),
        options=codecs.decode_options(options),
        parent_execution_id=parent,
        latest_execution_id=latest_id,
        latest_attempt=latest_attempt,
    )


def project_info(conn: sqlite3.Connection) -> ProjectInfo | None:
    row = conn.execute("SELECT id, name, created_at FROM project").fetchone()
    return None if row is None else ProjectInfo(id=row[0], name=row[1], created_at=row[2])


def environment_names(conn: sqlite3.Connection) -> dict[str, str]:
    """Each environment's current name, by id."""
    return {row[0]: row[2] for row in conn.execute(queries.CURRENT_ENVIRONMENTS)}


def list_environments(conn: sqlite3.Connection) -> list[EnvironmentView]:
    rows = conn.execute(queries.CURRENT_ENVIRONMENTS).fetchall()
    names = {row[0]: row[2] for row in rows}
    return [
        EnvironmentView(
            id=env_id,
            name=name,
            base=None if base_id is None else names.get(base_id),
            status=status,
            created_at=created_at,
            updated_at=updated_at,
        )
        for env_id, created_at, name, base_id, status, updated_at in rows
    ]


def list_manifests(conn: sqlite3.Connection, environment_id: str) -> list[protocol.Manifest]:
    """The latest manifest of each repository, by repository name, empty ones left out."""
    manifests = (
        codecs.decode_manifest(text)
        for (text,) in conn.execute(queries.LATEST_MANIFESTS, {"env": environment_id})
    )
    return [manifest for manifest in manifests if manifest.targets]


def list_runs(
    conn: sqlite3.Connection,
    *,
    environment_id: str | None,
    repository: str | None,
    target: str | None,
    limit: int,
) -> list[RunSummary]:
    filters = {"environment_id": environment_id, "repository": repository, "target": target}
    # Only the filters given go into the WHERE clause: `(? IS NULL OR col = ?)`
    # would stop SQLite from using the indices. Column names come from the fixed
    # dict above, never from the caller.
    chosen = {column: value for column, value in filters.items() if value is not None}
    where = " AND ".join(f"{column} = :{column}" for column in chosen) or "1"
    return _run_summaries(conn, where, {**chosen, "limit": limit})


def get_run_summary(conn: sqlite3.Connection, run_id: str) -> RunSummary | None:
    found = _run_summaries(conn, "id = :id", {"id": run_id, "limit": 1})
    return found[0] if found else None


def _run_summaries(
    conn: sqlite3.Connection, where: str, parameters: dict[str, Any]
) -> list[RunSummary]:
    names = environment_names(conn)
    summaries = []
    for run_id, env_id, repo, tgt, created_at, state, at in conn.execute(
        queries.list_runs(where), parameters
    ):
        state, completed_at = _status(state, at)
        summaries.append(
            RunSummary(
                id=run_id,
                environment=names.get(env_id, env_id),
                repository=repo,
                target=tgt,
                state=state,
                created_at=created_at,
                completed_at=completed_at,
            )
        )
    return summaries


def _status(state: str | None, at: float | None) -> tuple[str, float | None]:
    """A state and completion time from an execution's latest transition.

    A terminal state has no way out, so when the latest transition is terminal
    its time is the completion time. An execution with no transition (the core
    records `queued` with every new execution, so this is defensive) counts as queued.
    """
    if state is None or at is None:
        return _QUEUED, None
    return state, at if state in _TERMINAL else None


def get_run(conn: sqlite3.Connection, run_id: str) -> RunView | None:
    header = _run_header(conn, run_id)
    if header is None:
        return None
    names, fields = header
    executions = _executions_of_run(conn, run_id, names)
    steps = [
        _step(
            StepView,
            row[:8],
            arguments=list(codecs.decode_arguments(row[8])),
            options=codecs.decode_options(row[9]),
            executions=executions.get(row[0], []),
        )
        for row in conn.execute(queries.STEPS_OF_RUN, (run_id,))
    ]
    return RunView(**fields, **_run_state(steps), steps=steps)


def get_run_outline(conn: sqlite3.Connection, run_id: str) -> RunOutline | None:
    header = _run_header(conn, run_id)
    if header is None:
        return None
    names, fields = header
    steps: list[StepOutline] = []
    step: StepOutline | None = None
    for row in conn.execute(queries.OUTLINE_OF_RUN, (run_id,)):
        if step is None or step.id != row[0]:
            step = _step(StepOutline, row[:8], executions=[])
            steps.append(step)
        if row[8] is not None:  # NULL: the step has no execution (yet)
            step.executions.append(_execution(ExecutionOutline, row[8:], names))
    return RunOutline(**fields, **_run_state(steps), steps=steps)


def _run_header(
    conn: sqlite3.Connection, run_id: str
) -> tuple[dict[str, str], dict[str, Any]] | None:
    """Environment names by id, and the fields every view of the run starts with."""
    run = conn.execute(
        "SELECT environment_id, repository, target, idempotency_key, created_at"
        " FROM runs WHERE id = ?",
        (run_id,),
    ).fetchone()
    if run is None:
        return None
    env_id, repository, target, key, created_at = run
    names = environment_names(conn)
    return names, {
        "id": run_id,
        "environment": names.get(env_id, env_id),
        "repository": repository,
        "target": target,
        "idempotency_key": key,
        "created_at": created_at,
    }


def _run_state(steps: Sequence[StepOutline | StepView]) -> dict[str, Any]:
    """A run's state and completion: those of its first step's latest execution."""
    root = steps[0].executions if steps and steps[0].number == 1 else []
    if not root:
        return {"state": _QUEUED, "completed_at": None}
    return {"state": root[-1].state, "completed_at": root[-1].completed_at}


H = TypeVar("H", bound=StepHeader)


def _step(cls: type[H], row: Sequence[Any], **details: Any) -> H:
    """A step (outline or view, with ``details``) from its columns (``queries._STEP``)."""
    step_id, number, parent, call_index, repository, target, kind, created_at = row
    return cls(
        id=step_id,
        number=number,
        repository=repository,
        target=target,
        type=kind,
        parent_execution=parent,
        call_index=call_index,
        created_at=created_at,
        **details,
    )


E = TypeVar("E", bound=ExecutionOutline)


def _execution(cls: type[E], row: Sequence[Any], names: dict[str, str], **details: Any) -> E:
    """An execution (outline, or view with ``details``) from its columns: id,
    attempt, environment id, created_at and its current state (``queries._EXECUTION``)."""
    execution_id, attempt, env_id, created_at, state, state_at, assigned_at, session_id = row
    state, completed_at = _status(state, state_at)
    return cls(
        id=execution_id,
        attempt=attempt,
        state=state,
        environment=names.get(env_id, env_id),
        created_at=created_at,
        assigned_at=assigned_at,
        completed_at=completed_at,
        session_id=session_id,
        **details,
    )


_transitions = msgspec.json.Decoder(list[TransitionView])


def _executions_of_run(
    conn: sqlite3.Connection, run_id: str, names: dict[str, str]
) -> dict[str, list[ExecutionView]]:
    """The run's executions by step id, each step's ordered by attempt (one query)."""
    by_step: dict[str, list[ExecutionView]] = defaultdict(list)
    for row in conn.execute(queries.EXECUTIONS_OF_RUN, (run_id,)):
        step_id, outcome, transitions = row[8:]
        by_step[step_id].append(
            _execution(
                ExecutionView,
                row[:8],
                names,
                outcome=codecs.decode_outcome(outcome) if outcome is not None else None,
                transitions=_transitions.decode(transitions),
            )
        )
    return by_step


def list_logs(
    conn: sqlite3.Connection,
    run_id: str,
    *,
    execution_id: str | None,
    after: int,
    limit: int,
) -> list[LogView]:
    if execution_id is None:
        rows = conn.execute(queries.LOGS_OF_RUN, (run_id, after, limit))
    else:
        rows = conn.execute(queries.LOGS_OF_EXECUTION, (execution_id, run_id, after, limit))
    return [_log_view(row) for row in rows]


def _log_view(row: Any) -> LogView:
    log_id, run_id, execution_id, timestamp, level, template, values = row
    return LogView(
        id=log_id,
        run_id=run_id,
        execution_id=execution_id,
        timestamp=timestamp,
        level=level,
        template=template,
        values=codecs.decode_log_values(values),
    )


def get_outcome(conn: sqlite3.Connection, execution_id: str) -> protocol.Outcome | None:
    row = conn.execute(
        "SELECT outcome FROM outcomes WHERE execution_id = ?", (execution_id,)
    ).fetchone()
    return None if row is None else codecs.decode_outcome(row[0])


def get_step_outcome(conn: sqlite3.Connection, execution_id: str) -> protocol.Outcome | None:
    row = conn.execute(queries.STEP_OUTCOME, (execution_id,)).fetchone()
    return None if row is None or row[0] is None else codecs.decode_outcome(row[0])


def find_cached(
    conn: sqlite3.Connection, key: str, environment_ids: Sequence[str], since: float
) -> tuple[str, protocol.Outcome] | None:
    placeholders = ", ".join("?" for _ in environment_ids)
    query = queries.CACHE_HIT.format(environments=placeholders)
    row = conn.execute(query, (key, *environment_ids, since)).fetchone()
    return None if row is None else (str(row[0]), codecs.decode_outcome(row[1]))


def find_memoised(conn: sqlite3.Connection, run_id: str, key: str) -> str | None:
    row = conn.execute(queries.MEMO_HIT, (run_id, key)).fetchone()
    if row is None:
        return None
    # A memoised call that failed or was cancelled is not reused.
    if row[1] is not None and not isinstance(codecs.decode_outcome(row[1]), protocol.Succeeded):
        return None
    return str(row[0])


def find_run_by_idempotency_key(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT id FROM runs WHERE idempotency_key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def run_of_execution(conn: sqlite3.Connection, execution_id: str) -> str | None:
    row = conn.execute("SELECT run_id FROM executions WHERE id = ?", (execution_id,)).fetchone()
    return None if row is None else str(row[0])
