"""Building the read models of ``coflux.store.base`` from the PostgreSQL schema.

Each function takes a connection that the caller has put in a read transaction
(or a single statement), and the project's id. The rows have the shapes of the
SQLite store's (the same columns, in the same order), and are turned into views
by the same rules: "current" means the latest row by id, a state with no time
counts as queued, a terminal state's time is the completion time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

import msgspec
import psycopg

from coflux import protocol
from coflux.orchestration.events import StepRecord
from coflux.orchestration.states import ExecutionState
from coflux.store import codecs
from coflux.store.postgres import queries
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

Conn = psycopg.Connection[tuple[Any, ...]]

_QUEUED = ExecutionState.QUEUED.value
_TERMINAL = frozenset(state.value for state in ExecutionState if state.terminal)
_template = msgspec.json.Decoder(str)


def rows(conn: Conn, query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """All rows of ``query``, transferred in binary (floats exact, whatever the session)."""
    with conn.cursor(binary=True) as cursor:
        return cursor.execute(query, params).fetchall()


def row(conn: Conn, query: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    with conn.cursor(binary=True) as cursor:
        return cursor.execute(query, params).fetchone()


def project_info(conn: Conn, p: str) -> ProjectInfo | None:
    found = row(conn, queries.PROJECT, {"p": p})
    return None if found is None else ProjectInfo(id=found[0], name=found[1], created_at=found[2])


def environment_names(conn: Conn, p: str) -> dict[str, str]:
    return {r[0]: r[2] for r in rows(conn, queries.CURRENT_ENVIRONMENTS, {"p": p})}


def list_environments(conn: Conn, p: str) -> list[EnvironmentView]:
    found = rows(conn, queries.CURRENT_ENVIRONMENTS, {"p": p})
    names = {r[0]: r[2] for r in found}
    return [
        EnvironmentView(
            id=env_id,
            name=name,
            base=None if base_id is None else names.get(base_id),
            status=status,
            created_at=created_at,
            updated_at=updated_at,
        )
        for env_id, created_at, name, base_id, status, updated_at in found
    ]


def list_manifests(conn: Conn, p: str, environment_id: str) -> list[protocol.Manifest]:
    """The latest manifest of each repository, by repository name, empty ones left out."""
    found = rows(conn, queries.LATEST_MANIFESTS, {"p": p, "env": environment_id})
    manifests = (codecs.decode_manifest(text) for (text,) in found)
    return [manifest for manifest in manifests if manifest.targets]


def list_runs(
    conn: Conn,
    p: str,
    *,
    environment_id: str | None,
    repository: str | None,
    target: str | None,
    limit: int,
) -> list[RunSummary]:
    filters = {"environment_id": environment_id, "repository": repository, "target": target}
    # Only the filters given go into the WHERE clause, so the planner picks the
    # index that serves them. Column names come from the dict above, never the caller.
    chosen = {column: value for column, value in filters.items() if value is not None}
    where = "".join(f" AND {column} = %({column})s" for column in chosen)
    return _run_summaries(conn, p, where, {**chosen, "limit": limit})


def get_run_summary(conn: Conn, p: str, run_id: str) -> RunSummary | None:
    found = _run_summaries(conn, p, " AND id = %(id)s", {"id": run_id, "limit": 1})
    return found[0] if found else None


def _run_summaries(conn: Conn, p: str, where: str, params: dict[str, Any]) -> list[RunSummary]:
    names = environment_names(conn, p)
    summaries = []
    for run_id, env_id, repo, tgt, created_at, state, at in rows(
        conn, queries.list_runs(where), {"p": p, **params}
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
    """A state and completion time from an execution's current state."""
    if state is None or at is None:
        return _QUEUED, None
    return state, at if state in _TERMINAL else None


def get_run(conn: Conn, p: str, run_id: str) -> RunView | None:
    header = _run_header(conn, p, run_id)
    if header is None:
        return None
    names, fields = header
    executions = _executions_of_run(conn, p, run_id, names)
    steps = [
        _step(
            StepView,
            r[:8],
            arguments=list(codecs.decode_arguments(r[8])),
            options=codecs.decode_options(r[9]),
            executions=executions.get(r[0], []),
        )
        for r in rows(conn, queries.STEPS_OF_RUN, {"p": p, "run": run_id})
    ]
    return RunView(**fields, **_run_state(steps), steps=steps)


def get_run_outline(conn: Conn, p: str, run_id: str) -> RunOutline | None:
    header = _run_header(conn, p, run_id)
    if header is None:
        return None
    names, fields = header
    steps: list[StepOutline] = []
    step: StepOutline | None = None
    for r in rows(conn, queries.OUTLINE_OF_RUN, {"p": p, "run": run_id}):
        if step is None or step.id != r[0]:
            step = _step(StepOutline, r[:8], executions=[])
            steps.append(step)
        if r[8] is not None:  # NULL: the step has no execution (yet)
            step.executions.append(_execution(ExecutionOutline, r[8:], names))
    return RunOutline(**fields, **_run_state(steps), steps=steps)


def _run_header(conn: Conn, p: str, run_id: str) -> tuple[dict[str, str], dict[str, Any]] | None:
    """Environment names by id, and the fields every view of the run starts with."""
    run = row(conn, queries.RUN, {"p": p, "run": run_id})
    if run is None:
        return None
    env_id, repository, target, key, created_at = run
    names = environment_names(conn, p)
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


def _step(cls: type[H], r: Sequence[Any], **details: Any) -> H:
    step_id, number, parent, call_index, repository, target, kind, created_at = r
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


def _execution(cls: type[E], r: Sequence[Any], names: dict[str, str], **details: Any) -> E:
    execution_id, attempt, env_id, created_at, state, state_at, assigned_at, session_id = r
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


def _executions_of_run(
    conn: Conn, p: str, run_id: str, names: dict[str, str]
) -> dict[str, list[ExecutionView]]:
    """The run's executions by step id, each step's ordered by attempt (one query)."""
    by_step: dict[str, list[ExecutionView]] = defaultdict(list)
    for r in rows(conn, queries.EXECUTIONS_OF_RUN, {"p": p, "run": run_id}):
        step_id, outcome, states, ats, sessions = r[8:]
        transitions = (
            []
            if states is None
            else [
                TransitionView(state=state, at=at, session_id=session)
                for state, at, session in zip(states, ats, sessions, strict=True)
            ]
        )
        by_step[step_id].append(
            _execution(
                ExecutionView,
                r[:8],
                names,
                outcome=codecs.decode_outcome(outcome) if outcome is not None else None,
                transitions=transitions,
            )
        )
    return by_step


def get_step_record(conn: Conn, p: str, step_id: str) -> StepRecord | None:
    found = row(conn, queries.STEP_RECORD, {"p": p, "step": step_id})
    if found is None:
        return None
    (run_id, env_id, step_count, root, step_id, number, repository, target, kind,
     arguments, options, parent, latest_id, latest_attempt) = found  # fmt: skip
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


def list_logs(
    conn: Conn, p: str, run_id: str, *, execution_id: str | None, after: int, limit: int
) -> list[LogView]:
    params = {"p": p, "run": run_id, "execution": execution_id, "after": after, "limit": limit}
    query = queries.LOGS_OF_RUN if execution_id is None else queries.LOGS_OF_EXECUTION
    return [
        LogView(
            id=log_id,
            run_id=run,
            execution_id=execution,
            timestamp=timestamp,
            level=level,
            template=_template.decode(template),
            values=codecs.decode_log_values(values),
        )
        for log_id, run, execution, timestamp, level, template, values in rows(conn, query, params)
    ]


def get_outcome(conn: Conn, p: str, execution_id: str) -> protocol.Outcome | None:
    found = row(conn, queries.OUTCOME, {"p": p, "execution": execution_id})
    return None if found is None else codecs.decode_outcome(found[0])


def get_step_outcome(conn: Conn, p: str, execution_id: str) -> protocol.Outcome | None:
    found = row(conn, queries.STEP_OUTCOME, {"p": p, "execution": execution_id})
    return None if found is None or found[0] is None else codecs.decode_outcome(found[0])


def find_cached(
    conn: Conn, p: str, key: str, environment_ids: Sequence[str], since: float
) -> tuple[str, protocol.Outcome] | None:
    params = {"p": p, "key": key, "environments": list(environment_ids), "since": since}
    found = row(conn, queries.CACHE_HIT, params)
    return None if found is None else (str(found[0]), codecs.decode_outcome(found[1]))


def find_memoised(conn: Conn, p: str, run_id: str, key: str) -> str | None:
    found = row(conn, queries.MEMO_HIT, {"p": p, "run": run_id, "key": key})
    if found is None:
        return None
    # A memoised call that failed or was cancelled is not reused.
    if found[1] is not None and not isinstance(codecs.decode_outcome(found[1]), protocol.Succeeded):
        return None
    return str(found[0])


def find_run_by_idempotency_key(conn: Conn, p: str, key: str) -> str | None:
    found = row(conn, queries.RUN_BY_IDEMPOTENCY_KEY, {"p": p, "key": key})
    return None if found is None else str(found[0])


def run_of_execution(conn: Conn, p: str, execution_id: str) -> str | None:
    found = row(conn, queries.RUN_OF_EXECUTION, {"p": p, "execution": execution_id})
    return None if found is None else str(found[0])
