"""Loading the orchestrator's restart snapshot from the SQLite schema.

Everything here starts from ``active_executions`` (the working set ``append``
keeps) or from the few environments, never from a table of history, so loading
costs what the unfinished work costs. Manifests are the latest non-empty one per
(environment, repository), the same rule as ``list_manifests``: an empty manifest
means the repository has no targets there, and leaving it out says exactly that.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from coflux.orchestration.effects import EnvironmentRecorded
from coflux.orchestration.states import EnvironmentStatus, ExecutionState
from coflux.store import codecs
from coflux.store.base import ActiveExecution, ActiveRun, Snapshot
from coflux.store.sqlite import queries, views


def load_snapshot(conn: sqlite3.Connection) -> Snapshot:
    """The snapshot; ``conn`` must be in a read transaction."""
    environments = [
        EnvironmentRecorded(
            environment_id=env_id,
            name=name,
            base_id=base_id,
            status=EnvironmentStatus(status),
            at=at,
        )
        for env_id, _created_at, name, base_id, status, at in conn.execute(
            queries.CURRENT_ENVIRONMENTS
        )
    ]
    manifests = [
        (env.environment_id, manifest)
        for env in environments
        for manifest in views.list_manifests(conn, env.environment_id)
    ]
    runs = [
        ActiveRun(
            run_id=run_id,
            environment_id=env_id,
            root_execution_id=root,
            step_count=step_count,
        )
        for run_id, env_id, root, step_count in conn.execute(queries.ACTIVE_RUNS)
        # A run always has its first execution by the time any of its executions
        # is active; a row without one would be a partial batch, which cannot exist.
        if root is not None
    ]
    executions = [_active_execution(row) for row in conn.execute(queries.ACTIVE_EXECUTIONS)]
    return Snapshot(
        environments=environments,
        manifests=manifests,
        runs=runs,
        executions=executions,
        session_secrets=_session_secrets(conn, {e.session_id for e in executions}),
        calls=[
            (parent, call_index, child)
            for parent, call_index, child in conn.execute(queries.ACTIVE_CALLS)
            if child is not None
        ],
    )


def _session_secrets(conn: sqlite3.Connection, session_ids: set[str | None]) -> dict[str, str]:
    secrets: dict[str, str] = {}
    for session_id in session_ids:
        if session_id is None:
            continue
        row = conn.execute(
            "SELECT secret_sha256 FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        if row is not None and row[0] is not None:
            secrets[session_id] = row[0]
    return secrets


def _active_execution(row: Any) -> ActiveExecution:
    (
        execution_id,
        step_id,
        run_id,
        number,
        attempt,
        env_id,
        state,
        session_id,
        created_at,
        due_at,
        repository,
        target,
        kind,
        arguments,
        options,
        parent,
        call_index,
        checkpoint,
        leader_id,
    ) = row
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
