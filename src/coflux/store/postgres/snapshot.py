"""Loading the orchestrator's restart snapshot from the PostgreSQL schema.

As in the SQLite store: everything starts from ``active_executions`` (the working
set ``append`` keeps) or from the few environments, so loading costs what the
unfinished work costs, and manifests follow the rule of ``list_manifests``.
"""

from __future__ import annotations

from typing import Any

from coflux.orchestration.effects import EnvironmentRecorded
from coflux.orchestration.states import EnvironmentStatus, ExecutionState
from coflux.store import codecs
from coflux.store.base import ActiveExecution, ActiveRun, Snapshot
from coflux.store.postgres import queries
from coflux.store.postgres.views import Conn, list_manifests, rows


def load_snapshot(conn: Conn, p: str) -> Snapshot:
    """The snapshot; ``conn`` must be in a repeatable-read transaction."""
    environments = [
        EnvironmentRecorded(
            environment_id=env_id,
            name=name,
            base_id=base_id,
            status=EnvironmentStatus(status),
            at=at,
        )
        for env_id, _created_at, name, base_id, status, at in rows(
            conn, queries.CURRENT_ENVIRONMENTS, {"p": p}
        )
    ]
    manifests = [
        (env.environment_id, manifest)
        for env in environments
        for manifest in list_manifests(conn, p, env.environment_id)
    ]
    runs = [
        ActiveRun(
            run_id=run_id, environment_id=env_id, root_execution_id=root, step_count=step_count
        )
        for run_id, env_id, root, step_count in rows(conn, queries.ACTIVE_RUNS, {"p": p})
        # A run has its first execution by the time any of its executions is
        # active; a row without one would be a partial batch, which cannot exist.
        if root is not None
    ]
    executions = [_active_execution(r) for r in rows(conn, queries.ACTIVE_EXECUTIONS, {"p": p})]
    sessions = sorted({e.session_id for e in executions if e.session_id is not None})
    secrets = rows(conn, queries.SESSION_SECRETS, {"p": p, "sessions": sessions})
    return Snapshot(
        environments=environments,
        manifests=manifests,
        runs=runs,
        executions=executions,
        session_secrets={session_id: secret for session_id, secret in secrets},
        calls=[
            (parent, call_index, child)
            for parent, call_index, child in rows(conn, queries.ACTIVE_CALLS, {"p": p})
            if child is not None
        ],
    )


def _active_execution(r: tuple[Any, ...]) -> ActiveExecution:
    (execution_id, step_id, run_id, number, attempt, env_id, state, session_id, created_at,
     due_at, repository, target, kind, arguments, options, parent, call_index, checkpoint,
     leader_id) = r  # fmt: skip
    return ActiveExecution(
        execution_id=execution_id,
        step_id=step_id,
        run_id=run_id,
        step_number=number,
        attempt=attempt,
        environment_id=env_id,
        # The core records `queued` with every new execution; without it, queued.
        state=ExecutionState(state) if state is not None else ExecutionState.QUEUED,
        session_id=session_id,
        created_at=created_at,
        due_at=due_at,
        repository=repository,
        target=target,
        type=kind,
        arguments=codecs.decode_arguments(arguments),
        options=codecs.decode_options(options),
        parent_execution_id=parent,
        call_index=call_index,
        checkpoint=None if checkpoint is None else codecs.decode_arguments(checkpoint),
        leader_id=leader_id,
    )
