"""Rebuild a project's in-memory state from the store after a (re)start.

Pure: the snapshot holds only unfinished work. Sessions are not stored as live
objects; every session that still had executions assigned comes back
*disconnected*, with the full session timeout from ``now`` to reconnect and
resume before its executions are abandoned.

Stand-ins (spawned, cached, deferred executions still waiting for an outcome)
come back linked to what carries on for their recorded leader, so their waiters
and their own outcome follow it as before the restart. The indices the core
keeps beside the executions (cache keys, the deferrable queued calls, memo keys)
are rebuilt from the restored executions' calls. The inputs of restored runs come
back with them, pending or settled (an attempt that suspended waiting for one is
not held back by it: it may run early, and then waits, or suspends, again).
"""

from __future__ import annotations

from coflux.orchestration.executions import carrying_on, waited_on
from coflux.orchestration.keys import step_keys
from coflux.orchestration.model import (
    Environment,
    Execution,
    Input,
    MetricsState,
    ProjectState,
    Run,
    Session,
)
from coflux.orchestration.states import STANDING_IN, ExecutionState
from coflux.store.base import ActiveInput, Snapshot


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
            successor=active.leader_id if active.state in STANDING_IN else None,
        )
        # What a queued execution waits for (``wait=``) is in its arguments: without
        # it, it would be assigned before its dependencies resolve. (The extra
        # executions a suspended attempt waits for are not restored: it may run
        # early, and suspends again if they are still unfinished.)
        execution.waiting_for = waited_on(execution.arguments, execution.options)
        state.executions[execution.id] = execution
        _index(state, execution)
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
            session.secret_sha256 = snapshot.session_secrets.get(session.id)
            session.executions.add(execution.id)
    for metric in snapshot.metrics:
        restored = state.executions.get(metric.execution_id)
        if restored is not None:
            # Its bounds go on from what it had recorded (``orchestration.metrics``).
            kept = restored.metrics = restored.metrics or MetricsState()
            kept.last_at[metric.key] = metric.last_at
            kept.points += metric.points
    _restore_inputs(state, snapshot.inputs)
    for parent_id, call_index, child_id in snapshot.calls:
        parent = state.executions.get(parent_id)
        if parent is not None:
            parent.children[call_index] = child_id
    _link_stand_ins(state)
    return state


def _restore_inputs(state: ProjectState, restored: list[ActiveInput]) -> None:
    """Give each restored run its inputs: pending ones are answered as before the
    restart, settled ones give their response again to a prompt asked again."""
    for active in restored:
        run = state.runs.get(active.run_id)
        if run is not None:
            found = Input(
                active.input_id, active.run_id, active.execution_id, active.key, active.schema,
                active.response,
            )  # fmt: skip
            run.inputs[found.id] = found
            run.input_keys[found.key] = found.id


def _index(state: ProjectState, execution: Execution) -> None:
    """Put a restored execution in the core's key indices, as ``runs`` did when it
    was created (oldest first: executions are restored in creation order). Only
    calls have keys: a run's first step is submitted, not called."""
    if execution.parent_id is None:
        return
    keys = step_keys(execution.repository, execution.target, execution.arguments, execution.options)
    if keys.cache is not None:
        execution.cache_key = keys.cache
        state.cache_index.setdefault(keys.cache, []).append(execution.id)
    if keys.memo is not None:
        state.runs[execution.run_id].memo.setdefault(keys.memo, execution.id)
    # Only a call's first attempt can be replaced by a newer equal call, and only
    # while it is queued.
    if (
        keys.defer is not None
        and execution.attempt == 1
        and execution.state is ExecutionState.QUEUED
    ):
        execution.defer_key = keys.defer
        state.deferrable[(execution.environment_id, keys.defer)] = execution.id


def _link_stand_ins(state: ProjectState) -> None:
    """Give each restored stand-in's leader (or what carries on for it now: its
    retry, or the leader a deferred leader was replaced by) the stand-in as a
    follower again."""
    for execution in state.executions.values():
        if execution.state not in STANDING_IN or execution.successor is None:
            continue
        leader = carrying_on(state, execution.successor)
        if leader is not None and leader is not execution:
            execution.successor = leader.id
            leader.followers.append(execution.id)


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
