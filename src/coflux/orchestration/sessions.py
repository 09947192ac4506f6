"""Agent sessions inside the core: connecting, resuming, expiring, and assignment.

A session outlives its connection: an agent that reconnects within the session
timeout resumes it and keeps the executions it still holds; one that stays away
longer has them abandoned; one it resumes without holding (its assignment never
reached it) is queued again (``requeue_undelivered``). Only the agent holding the session's secret (handed
out in the ``Welcome`` that opened it; only its sha256 is kept) can resume it: a
hello naming a session without its secret is refused and changes nothing.

Assignment hands due executions, oldest first, to the
least loaded session that hosts the target, provides the required tags and has
capacity, in an environment that is not paused. Capacity: fewer than
``concurrency`` executions that are not blocked waiting for a result (agents
report those, ``report_blocked``), and fewer than the session's process cap in
all. ``queued_reason`` says, for a queued execution, why it is not assigned.
"""

from __future__ import annotations

import hashlib
import hmac

from coflux import protocol
from coflux.errors import BadRequest, Conflict, NotFound, SessionRefused
from coflux.orchestration import environments, inputs
from coflux.orchestration.effects import Effect, Send, SessionStarted
from coflux.orchestration.events import ConnectSession, DisconnectSession, ReportBlocked
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
    environment = environments.named(state, event.environment)
    if hello.concurrency < 1:
        raise BadRequest("invalid_concurrency", "concurrency must be at least 1")
    if hello.max_executors is not None and hello.max_executors < hello.concurrency:
        raise BadRequest(
            "invalid_max_executors",
            f"max_executors ({hello.max_executors}) must be at least the concurrency"
            f" ({hello.concurrency})",
        )
    session = state.sessions.get(hello.session_id) if hello.session_id else None
    if session is not None and not holds_secret(session, hello.session_secret):
        raise SessionRefused(
            "session_refused",
            f"session {session.id} can be resumed only with its secret",
        )
    if session is not None and session.environment_id != environment.id:
        session = None
    new = session is None
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
            max_executors=hello.max_executors,
            prefetch=hello.prefetch,
            secret_sha256=secret_digest(event.new_secret) if event.new_secret else None,
        )
        state.sessions[session.id] = session
        effects.append(
            SessionStarted(
                session.id, environment.id, session.concurrency, session.provides, now,
                session.secret_sha256,
            )
        )  # fmt: skip
        resumed = False
    else:
        session.concurrency = hello.concurrency
        session.max_executors = hello.max_executors
        session.prefetch = hello.prefetch
        session.provides = dict(hello.provides)
        session.targets = targets(hello.targets)
        session.connection = event.connection
        session.connected = True
        session.expires_at = None
        # Executions assigned to the session that the agent does not hold never
        # reached it (see ``requeue_undelivered``): they go back to the queue.
        executing = set(hello.executing)
        undelivered = [e for e in session.executions if e not in executing]
        for execution_id in sorted(undelivered):
            requeue_undelivered(state, state.executions[execution_id], session, now, effects)
        # Reports sent while disconnected were dropped: the hello has the agent's view.
        session.blocked = set(hello.blocked) & session.executions
        resumed = True
    secret = event.new_secret if new and event.new_secret else None
    effects.append(Send(session.id, protocol.Welcome(session.id, resumed, secret)))


def requeue_undelivered(
    state: ProjectState, execution: Execution, session: Session, now: float, effects: list[Effect]
) -> None:
    """Put back in the queue an execution assigned to ``session`` that its agent,
    resuming the session, does not hold.

    The agent's hello lists every execution it holds: running, waiting for an
    executor, or finished with its completion not yet acknowledged (an executor
    that died is a completion too). One it does not list never reached it: the
    server that assigned it stopped before the ``Execute`` left (it is sent once
    the assignment is committed), or the connection dropped with the message in
    flight. It never ran, so it is not abandoned (which its retry policy would
    count, or fail the run for): the same execution is assigned again.
    """
    session.executions.discard(execution.id)
    session.blocked.discard(execution.id)
    execution.session_id = None
    set_state(state, execution, S.QUEUED, now, effects)
    state.queue[execution.id] = None


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def holds_secret(session: Session, secret: str | None) -> bool:
    """Whether ``secret`` is the session's resume secret (compared in constant time).
    A session without a recorded secret can be resumed by nobody."""
    if session.secret_sha256 is None:
        return False
    return hmac.compare_digest(secret_digest(secret or ""), session.secret_sha256)


def disconnect_session(state: ProjectState, event: DisconnectSession, now: float) -> None:
    session = state.sessions.get(event.session_id)
    if session is None or session.connection != event.connection:
        return  # a stale disconnect from a connection that was already replaced
    session.connected = False
    session.expires_at = now + state.session_timeout


def report_blocked(state: ProjectState, event: ReportBlocked) -> None:
    """An execution of the session started or stopped waiting for a result.

    Raises:
        NotFound: no such session.
        Conflict: the execution is not assigned to that session (nothing changed).
    """
    session = get_session(state, event.session_id)
    if event.execution_id not in session.executions:
        raise Conflict(
            "execution_not_assigned",
            f"execution {event.execution_id} is not assigned to session {session.id}",
        )
    if event.blocked:
        session.blocked.add(event.execution_id)
    else:
        session.blocked.discard(event.execution_id)


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
    free = sum(s.free() for s in state.sessions.values())
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
        if execution.waiting_for_inputs and inputs.unanswered(state, execution):
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
                    execution.options.timeout,
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
        ) and (best is None or _load(session) < _load(best)):
            best = session  # the least loaded matching session
    return best


def _load(session: Session) -> tuple[int, int]:
    return session.running(), len(session.executions)


def targets(declared: dict[str, tuple[str, ...]]) -> dict[str, frozenset[str]]:
    return {repository: frozenset(names) for repository, names in declared.items()}


def queued_reason(state: ProjectState, execution_id: str, now: float) -> str | None:
    """Why a queued execution is not assigned yet, in a sentence; None if it is not
    queued, or nothing holds it back (the next assignment pass takes it)."""
    execution = state.executions.get(execution_id)
    if execution is None or execution.state is not S.QUEUED:
        return None
    environment = state.environments[execution.environment_id]
    if environment.status is not EnvironmentStatus.ACTIVE:
        return f"the environment {environment.name} is {environment.status.value}"
    if execution.due_at > now:
        return f"delayed: due in {execution.due_at - now:.1f} s"
    if execution.waiting_for and not all(is_resolved(state, e) for e in execution.waiting_for):
        return "waiting for the results of the arguments it waits for"
    if execution.waiting_for_inputs and inputs.unanswered(state, execution):
        return "waiting for an input to be answered"
    requires = execution.options.requires
    unplaceable, able = _placement(
        state, environment.id, execution.repository, execution.target, requires
    )
    if unplaceable is not None:
        return unplaceable
    if any(s.has_capacity() for s in able):
        return None
    running = sum(s.running() for s in able)
    blocked = sum(len(s.blocked) for s in able)
    concurrency = sum(s.concurrency for s in able)
    cap = sum(s.process_cap for s in able)
    return (
        f"every agent that can run it is full: {running} running (concurrency {concurrency}),"
        f" {blocked} blocked waiting for results, {running + blocked} held of at most {cap}"
    )


def why_unplaceable(
    state: ProjectState,
    environment_id: str,
    repository: str,
    target: str,
    requires: dict[str, tuple[str, ...]],
) -> str | None:
    """Why no agent can take a call of the target as things stand, however long
    it waits: none in the environment hosts it, those that do are disconnected,
    or none of them provides the required tags. None if one can (busy or not)."""
    reason, _ = _placement(state, environment_id, repository, target, requires)
    return reason


def _placement(
    state: ProjectState,
    environment_id: str,
    repository: str,
    target: str,
    requires: dict[str, tuple[str, ...]],
) -> tuple[str | None, list[Session]]:
    """``why_unplaceable``'s reason, and the sessions able to take the call."""
    name = f"{repository}.{target}"
    hosting = [
        s
        for s in state.sessions.values()
        if s.environment_id == environment_id and s.hosts(repository, target)
    ]
    if not hosting:
        return f"no agent in {state.environments[environment_id].name} hosts {name}", []
    connected = [s for s in hosting if s.connected]
    if not connected:
        return f"the agents that host {name} are disconnected", []
    able = [s for s in connected if s.satisfies(requires)]
    if not able:
        return f"no agent that hosts {name} provides {_missing(connected, requires)}", []
    return None, able


def _missing(sessions: list[Session], requires: dict[str, tuple[str, ...]]) -> str:
    """The required tags no session provides (all of them, if each one alone is)."""
    tags = {key: values for key, values in requires.items()}
    unmet = {k: v for k, v in tags.items() if not any(s.satisfies({k: v}) for s in sessions)}
    shown = unmet or tags
    text = ", ".join(f"{key}={','.join(values)}" for key, values in sorted(shown.items()))
    return text if unmet else f"all of {text}"
