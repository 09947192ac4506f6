"""Agent sessions inside the core: connecting, resuming, expiring, and assignment.

A session outlives its connection: an agent that reconnects within the session
timeout resumes it and keeps the executions it still holds; one that stays away
longer has them abandoned. Assignment hands due executions, oldest first, to the
least loaded session that hosts the target, provides the required tags and has
capacity, in an environment that is not paused.
"""

from __future__ import annotations

from coflux import protocol
from coflux.errors import BadRequest, NotFound
from coflux.orchestration.effects import Effect, Send, SessionStarted
from coflux.orchestration.events import ConnectSession, DisconnectSession
from coflux.orchestration.executions import is_resolved, set_state
from coflux.orchestration.model import Execution, ProjectState, Session
from coflux.orchestration.outcomes import abandon
from coflux.orchestration.states import EnvironmentStatus, ExecutionState

S = ExecutionState


def get_session(state: ProjectState, session_id: str) -> Session:
    session = state.sessions.get(session_id)
    if session is None:
        raise NotFound("unknown_session", f"session {session_id} does not exist")
    return session


def connect_session(
    state: ProjectState, event: ConnectSession, now: float, effects: list[Effect]
) -> None:
    hello = event.hello
    environment = state.environment_named(event.environment)
    if environment is None:
        raise NotFound("unknown_environment", f"environment '{event.environment}' does not exist")
    if hello.concurrency < 1:
        raise BadRequest("invalid_concurrency", "concurrency must be at least 1")
    session = state.sessions.get(hello.session_id) if hello.session_id else None
    if session is not None and session.environment_id != environment.id:
        session = None
    if session is None:
        session = Session(
            id=event.new_session_id,
            environment_id=environment.id,
            concurrency=hello.concurrency,
            provides=dict(hello.provides),
            targets=targets(hello.targets),
            connection=event.connection,
            connected=True,
            expires_at=None,
        )
        state.sessions[session.id] = session
        effects.append(
            SessionStarted(session.id, environment.id, session.concurrency, session.provides, now)
        )
        resumed = False
    else:
        session.concurrency = hello.concurrency
        session.provides = dict(hello.provides)
        session.targets = targets(hello.targets)
        session.connection = event.connection
        session.connected = True
        session.expires_at = None
        # Executions the agent no longer holds were lost with the old connection.
        lost = [e for e in session.executions if e not in set(hello.executing)]
        for execution_id in sorted(lost):
            abandon(state, state.executions[execution_id], now, effects)
        resumed = True
    effects.append(Send(session.id, protocol.Welcome(session.id, resumed)))


def disconnect_session(state: ProjectState, event: DisconnectSession, now: float) -> None:
    session = state.sessions.get(event.session_id)
    if session is None or session.connection != event.connection:
        return  # a stale disconnect from a connection that was already replaced
    session.connected = False
    session.expires_at = now + state.session_timeout


def tick(state: ProjectState, now: float, effects: list[Effect]) -> None:
    expired = [
        s for s in state.sessions.values() if s.expires_at is not None and s.expires_at <= now
    ]
    for session in expired:
        for execution_id in sorted(session.executions):
            abandon(state, state.executions[execution_id], now, effects)
        del state.sessions[session.id]
    for execution_id, due_at in list(state.delayed.items()):
        if due_at <= now:
            del state.delayed[execution_id]


def assign(state: ProjectState, now: float, effects: list[Effect]) -> None:
    """Assign due executions, oldest first, to matching sessions with free capacity."""
    if not state.queue:
        return
    # Once every session is full nothing more can be assigned: stop instead of
    # walking the rest of a long queue (this runs after every batch of events).
    free = sum(
        s.concurrency - len(s.executions) for s in state.sessions.values() if s.has_capacity()
    )
    stuck: set[tuple[str, str, str]] = set()  # routes with no capacity in this pass
    chosen: list[tuple[Execution, Session]] = []
    # The queue is walked in place (assigning takes an execution out of it, so that
    # happens after the walk): copying a queue of 10,000 per batch showed in profiles.
    for execution_id in state.queue:
        if free <= 0:
            break
        execution = state.executions[execution_id]
        if execution.due_at > now:
            continue
        if execution.waiting_for and not all(is_resolved(state, e) for e in execution.waiting_for):
            continue
        route = (execution.environment_id, execution.repository, execution.target)
        if route in stuck and not execution.options.requires:
            continue
        if state.environments[execution.environment_id].status is not EnvironmentStatus.ACTIVE:
            continue
        session = find_session(state, execution)
        if session is None:
            if not execution.options.requires:
                stuck.add(route)
            continue
        session.executions.add(execution.id)  # find_session sees its capacity shrink
        free -= 1
        chosen.append((execution, session))
    for execution, session in chosen:
        set_state(state, execution, S.ASSIGNED, now, effects, session.id)
        execution.session_id = session.id
        effects.append(
            Send(
                session.id,
                protocol.Execute(
                    execution.id, execution.run_id, execution.step_id, execution.attempt,
                    execution.repository, execution.target, execution.arguments,
                ),
            )
        )  # fmt: skip


def find_session(state: ProjectState, execution: Execution) -> Session | None:
    best: Session | None = None
    for session in state.sessions.values():
        if (
            session.environment_id == execution.environment_id
            and session.has_capacity()
            and session.hosts(execution.repository, execution.target)
            and session.satisfies(execution.options.requires)
        ) and (best is None or len(session.executions) < len(best.executions)):
            best = session  # the least loaded matching session
    return best


def targets(declared: dict[str, tuple[str, ...]]) -> dict[str, frozenset[str]]:
    return {repository: frozenset(names) for repository, names in declared.items()}
