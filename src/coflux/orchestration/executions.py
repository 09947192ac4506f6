"""Executions in memory: creating attempts, moving them between states, following them.

Every state change goes through ``set_state``, which applies the transition table
and keeps the indices (queue, delayed, session load, a run's unfinished set) true.
"""

from __future__ import annotations

from coflux import ids, protocol
from coflux.errors import Conflict, NotFound
from coflux.orchestration.effects import (
    AssetRecorded,
    Effect,
    ExecutionCreated,
    ExecutionLinked,
    ExecutionTransitioned,
    LogsRecorded,
)
from coflux.orchestration.events import RecordAsset, RecordLogs
from coflux.orchestration.model import Execution, ProjectState, Run
from coflux.orchestration.states import STANDING_IN, ExecutionState, transition

S = ExecutionState


def active_execution(state: ProjectState, execution_id: str) -> Execution:
    execution = state.executions.get(execution_id)
    if execution is None:
        raise NotFound("unknown_execution", f"execution {execution_id} is not in progress")
    return execution


def running_in(state: ProjectState, session_id: str, execution_id: str) -> Execution:
    """The execution an agent's message speaks for, if it runs in that session.

    An agent speaks only for its own running executions: every message that
    names the execution it comes from is checked here.

    Raises:
        NotFound: the execution is not in memory (it ended, or never was).
        Conflict: it does not run in ``session_id`` (nothing changed).
    """
    execution = active_execution(state, execution_id)
    if execution.state is not S.ASSIGNED or execution.session_id != session_id:
        raise Conflict(
            "not_running", f"execution {execution_id} is not running in session {session_id}"
        )
    return execution


def waited_on(
    arguments: tuple[protocol.Value, ...], options: protocol.TargetOptions
) -> tuple[str, ...]:
    """The executions referenced by the arguments named in ``options.wait``."""
    found: dict[str, None] = {}
    for position in options.wait:
        if position < len(arguments):
            found.update(dict.fromkeys(arguments[position].executions))
    return tuple(found)


def add_execution(
    state: ProjectState,
    run: Run,
    execution: Execution,
    effects: list[Effect],
    own_arguments: tuple[protocol.Value, ...] | None = None,
) -> None:
    """Put a new execution in memory, queued, and record it (with ``own_arguments``
    when it runs with other arguments than its step's)."""
    execution.waiting_for = waited_on(execution.arguments, execution.options)
    state.executions[execution.id] = execution
    if execution.cache_key is not None:
        state.cache_index.setdefault(execution.cache_key, []).append(execution.id)
    run.executions.add(execution.id)
    run.latest_by_step[execution.step_id] = execution.id
    run.unfinished.add(execution.id)
    state.queue[execution.id] = None
    if execution.due_at > execution.created_at:
        state.delayed[execution.id] = execution.due_at
    effects.append(
        ExecutionCreated(
            execution.id, execution.step_id, run.id, execution.attempt,
            execution.environment_id, execution.due_at, execution.created_at, own_arguments,
        )
    )  # fmt: skip
    effects.append(
        ExecutionTransitioned(execution.id, run.id, S.QUEUED, None, execution.created_at)
    )


def new_attempt(
    state: ProjectState,
    previous: Execution,
    environment_id: str,
    now: float,
    due_at: float,
    effects: list[Effect],
    arguments: tuple[protocol.Value, ...] | None = None,
) -> Execution:
    """A new execution of ``previous``'s step; ``previous`` now leads to it.

    ``arguments`` replace the step's (a sensor restarting from its checkpoint).
    """
    attempt = previous.attempt + 1
    execution = Execution(
        id=ids.execution_id(previous.step_id, attempt),
        step_id=previous.step_id,
        run_id=previous.run_id,
        step_number=previous.step_number,
        attempt=attempt,
        environment_id=environment_id,
        repository=previous.repository,
        target=previous.target,
        type=previous.type,
        arguments=arguments if arguments is not None else previous.arguments,
        options=previous.options,
        parent_id=previous.parent_id,
        state=S.QUEUED,
        created_at=now,
        due_at=due_at,
        cache_key=previous.cache_key,
    )
    run = state.runs[previous.run_id]
    add_execution(state, run, execution, effects, arguments)
    previous.successor = execution.id
    execution.followers, previous.followers = previous.followers, []
    execution.waiters, previous.waiters = previous.waiters, set()
    if run.root_execution_id == previous.id:
        run.root_execution_id = execution.id
    return execution


def set_state(
    state: ProjectState,
    execution: Execution,
    new: ExecutionState,
    now: float,
    effects: list[Effect],
    session_id: str | None = None,
) -> None:
    execution.state = transition(execution.id, execution.state, new)
    effects.append(ExecutionTransitioned(execution.id, execution.run_id, new, session_id, now))
    if new is not S.QUEUED:
        state.queue.pop(execution.id, None)
        state.delayed.pop(execution.id, None)
        if execution.defer_key is not None:
            key = (execution.environment_id, execution.defer_key)
            if state.deferrable.get(key) == execution.id:
                del state.deferrable[key]
    if new is not S.ASSIGNED and new is not S.QUEUED:
        execution.completed_at = now
        if execution.session_id is not None:
            session = state.sessions.get(execution.session_id)
            if session is not None:
                session.executions.discard(execution.id)
                session.blocked.discard(execution.id)
        if new not in STANDING_IN:
            state.runs[execution.run_id].unfinished.discard(execution.id)


def link(
    state: ProjectState, follower: Execution, leader: Execution, now: float, effects: list[Effect]
) -> None:
    """Make ``follower`` stand in for ``leader``: its waiters and outcome follow it.

    The link is recorded: after a restart ``recovery`` links the follower again,
    to ``leader`` or to whatever carries on for it by then.
    """
    follower.successor = leader.id
    effects.append(ExecutionLinked(follower.id, follower.run_id, leader.id, now))
    leader.followers.append(follower.id)
    leader.followers.extend(follower.followers)
    follower.followers = []
    leader.waiters |= follower.waiters
    follower.waiters = set()


def latest(state: ProjectState, execution: Execution) -> Execution:
    """Follow retries, re-runs and spawned runs to the execution that carries on."""
    while execution.successor is not None and execution.successor in state.executions:
        execution = state.executions[execution.successor]
    return execution


def carrying_on(state: ProjectState, execution_id: str) -> Execution | None:
    """The execution in memory that carries on for ``execution_id``: itself, or
    for an attempt that had ended before a restart (only unfinished executions
    are restored), the latest restored attempt of its step. None if neither is
    in memory: then the store has its final outcome."""
    execution = state.executions.get(execution_id)
    if execution is None:
        try:
            run_id, number, attempt = ids.parse_execution(execution_id)
        except ValueError:
            return None  # no execution has that id
        run = state.runs.get(run_id)
        newest = run.latest_by_step.get(ids.step_id(run_id, number)) if run is not None else None
        execution = state.executions.get(newest) if newest is not None else None
        if execution is None or execution.attempt <= attempt:
            return None
    return latest(state, execution)


def is_resolved(state: ProjectState, execution_id: str) -> bool:
    """Whether an execution's final outcome exists."""
    execution = carrying_on(state, execution_id)
    return execution is None or execution.outcome is not None


def record_logs(state: ProjectState, event: RecordLogs, effects: list[Effect]) -> None:
    """Record the entries of executions in memory that ran in the sending session.

    Others are dropped, not refused: a session speaks only for its own
    executions, and the lines of one that already left memory (output read after
    a cancellation, say) have nowhere to go. Nothing an agent sends here can name
    an execution the store does not have.
    """
    kept = [
        entry
        for entry in event.entries
        if (execution := state.executions.get(entry.execution_id)) is not None
        and execution.session_id == event.session_id
    ]
    if kept:
        run_ids = tuple(state.executions[entry.execution_id].run_id for entry in kept)
        effects.append(LogsRecorded(tuple(kept), run_ids))


def record_asset(state: ProjectState, event: RecordAsset, effects: list[Effect]) -> None:
    """Record an asset persisted or restored by an execution running in the session.

    Raises:
        NotFound, Conflict: see ``running_in`` (nothing changed).
    """
    fact = event.fact
    execution_id = fact.asset.execution_id if isinstance(fact, AssetRecorded) else fact.execution_id
    running_in(state, event.session_id, execution_id)
    effects.append(fact)
