"""Rebuild a project's in-memory state from the store after a (re)start.

Pure: the snapshot holds only unfinished work. Sessions are not stored as live
objects; every session that still had executions assigned comes back
*disconnected*, with the full session timeout from ``now`` to reconnect and
resume before its executions are abandoned.
"""

from __future__ import annotations

from coflux.orchestration.model import Environment, Execution, ProjectState, Run, Session
from coflux.orchestration.states import ExecutionState
from coflux.store.base import Snapshot


def restore(snapshot: Snapshot, *, session_timeout: float, now: float) -> ProjectState:
    state = ProjectState(session_timeout=session_timeout)
    for recorded in snapshot.environments:
        state.environments[recorded.environment_id] = Environment(
            recorded.environment_id, recorded.name, recorded.base_id, recorded.status
        )
    for environment_id, manifest in snapshot.manifests:
        state.manifests[(environment_id, manifest.repository)] = manifest
    for active_run in snapshot.runs:
        state.runs[active_run.run_id] = Run(
            active_run.run_id,
            active_run.environment_id,
            active_run.root_execution_id,
            active_run.step_count,
        )
    for active in sorted(snapshot.executions, key=lambda a: (a.created_at, a.execution_id)):
        execution = Execution(
            id=active.execution_id,
            step_id=active.step_id,
            run_id=active.run_id,
            step_number=active.step_number,
            attempt=active.attempt,
            environment_id=active.environment_id,
            repository=active.repository,
            target=active.target,
            type=active.type,
            arguments=active.arguments,
            options=active.options,
            parent_id=active.parent_execution_id,
            state=active.state,
            created_at=active.created_at,
            due_at=active.due_at,
            session_id=active.session_id,
            checkpoint=active.checkpoint,
        )
        state.executions[execution.id] = execution
        run = state.runs[execution.run_id]
        run.executions.add(execution.id)
        newest = run.latest_by_step.get(execution.step_id)
        if newest is None or state.executions[newest].attempt < execution.attempt:
            run.latest_by_step[execution.step_id] = execution.id
        run.unfinished.add(execution.id)
        if execution.state is ExecutionState.QUEUED:
            state.queue[execution.id] = None
            if execution.due_at > now:
                state.delayed[execution.id] = execution.due_at
        elif execution.session_id is not None:
            session = _session_for(state, execution.session_id, execution.environment_id, now)
            session.executions.add(execution.id)
    for parent_id, call_index, child_id in snapshot.calls:
        parent = state.executions.get(parent_id)
        if parent is not None:
            parent.children[call_index] = child_id
    return state


def _session_for(state: ProjectState, session_id: str, environment_id: str, now: float) -> Session:
    session = state.sessions.get(session_id)
    if session is None:
        session = Session(
            id=session_id,
            environment_id=environment_id,
            concurrency=0,
            provides={},
            targets={},
            connection=0,
            connected=False,
            expires_at=now + state.session_timeout,
        )
        state.sessions[session.id] = session
    return session
