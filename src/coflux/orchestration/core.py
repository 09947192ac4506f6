"""The pure heart of orchestration: ``apply(state, event, now) -> (state, effects)``.

No I/O, no clock, no randomness: the caller passes the time and every new id
(inside the event). ``apply`` validates an event completely before it changes
anything, so an event that raises (``BadRequest``, ``InvalidTransition``) leaves
the state exactly as it was. For speed the state object is updated in place and
returned; callers must treat the returned effects as the only output.

Effects are facts to persist (appended in order, in one transaction per batch)
and deliveries to perform after the facts are durable (see ``effects``).
"""

from __future__ import annotations

from coflux import protocol
from coflux.errors import BadRequest, Conflict, NotFound
from coflux.orchestration import environments
from coflux.orchestration.effects import (
    Effect,
    ExecutionCreated,
    ExecutionTransitioned,
    OutcomeRecorded,
    Resolve,
    RunCreated,
    Send,
    SessionStarted,
    StepCreated,
)
from coflux.orchestration.events import (
    Assign,
    AwaitOutcome,
    CancelExecution,
    CancelRun,
    CompleteExecution,
    ConnectSession,
    CreateEnvironment,
    DeclareTargets,
    DisconnectSession,
    Event,
    ForgetWaiter,
    RegisterManifests,
    RequestResult,
    ScheduleStep,
    SetEnvironmentStatus,
    SubmitRun,
    Tick,
    UpdateEnvironment,
)
from coflux.orchestration.model import (
    Execution,
    LocalWaiter,
    ProjectState,
    Run,
    Session,
    SessionWaiter,
)
from coflux.orchestration.states import EnvironmentStatus, ExecutionState, transition

S = ExecutionState


def apply(state: ProjectState, event: Event, now: float) -> tuple[ProjectState, list[Effect]]:
    """Apply one event; return the (updated) state and the effects it causes.

    Raises:
        BadRequest: the event asks for something invalid; nothing changed.
        InvalidTransition: an execution cannot make the requested move; nothing changed.
    """
    effects: list[Effect] = []
    match event:
        case CreateEnvironment():
            environments.create(state, event, now, effects)
        case UpdateEnvironment():
            environments.update(state, event, now, effects)
        case SetEnvironmentStatus():
            environments.set_status(state, event, now, effects)
        case RegisterManifests():
            environments.register_manifests(state, event, now, effects)
        case SubmitRun():
            _submit_run(state, event, now, effects)
        case ConnectSession():
            _connect_session(state, event, now, effects)
        case DeclareTargets():
            _session(state, event.session_id).targets = _targets(event.targets)
        case DisconnectSession():
            _disconnect_session(state, event, now)
        case ScheduleStep():
            _schedule_step(state, event, now, effects)
        case RequestResult():
            request = event.request
            waiter = SessionWaiter(event.session_id, request.request_id)
            _await(state, request.execution_id, waiter, effects)
        case AwaitOutcome():
            _await(state, event.execution_id, LocalWaiter(event.token), effects)
        case ForgetWaiter():
            execution = state.executions.get(event.execution_id)
            if execution is not None:
                execution.waiters.discard(LocalWaiter(event.token))
        case CompleteExecution():
            _complete(state, event, now, effects)
        case CancelExecution():
            _cancel(state, _execution(state, event.execution_id), now, effects)
        case CancelRun():
            run = state.runs.get(event.run_id)
            if run is not None:
                _cancel(state, state.executions[run.root_execution_id], now, effects)
        case Tick():
            _tick(state, now, effects)
        case Assign():
            _assign(state, now, effects)
    return state, effects


# --- look-ups ------------------------------------------------------------------


def _execution(state: ProjectState, execution_id: str) -> Execution:
    execution = state.executions.get(execution_id)
    if execution is None:
        raise NotFound("unknown_execution", f"execution {execution_id} is not in progress")
    return execution


def _session(state: ProjectState, session_id: str) -> Session:
    session = state.sessions.get(session_id)
    if session is None:
        raise NotFound("unknown_session", f"session {session_id} does not exist")
    return session


def _targets(declared: dict[str, tuple[str, ...]]) -> dict[str, frozenset[str]]:
    return {repository: frozenset(names) for repository, names in declared.items()}


# --- runs and steps ------------------------------------------------------------


def _check_arguments(definition: protocol.TargetDefinition, count: int) -> None:
    positional = [p for p in definition.parameters if p.kind == "positional"]
    required = sum(1 for p in positional if p.default is None)
    variadic = any(p.kind == "var_positional" for p in definition.parameters)
    if count < required or (count > len(positional) and not variadic):
        expected = (
            f"at least {required}"
            if variadic
            else str(required)
            if required == len(positional)
            else f"{required} to {len(positional)}"
        )
        raise BadRequest(
            "wrong_argument_count",
            f"{definition.name} takes {expected} argument(s), but {count} were given",
        )


def _submit_run(state: ProjectState, event: SubmitRun, now: float, effects: list[Effect]) -> None:
    environment = environments.writable(state, event.environment)
    manifest = state.manifests.get((environment.id, event.repository))
    if manifest is None:
        raise NotFound(
            "unknown_repository",
            f"repository '{event.repository}' is not registered in environment "
            f"'{environment.name}'",
        )
    definition = next((t for t in manifest.targets if t.name == event.target), None)
    if definition is None or definition.type != "workflow":
        raise NotFound(
            "unknown_target",
            f"repository '{event.repository}' has no workflow '{event.target}'",
        )
    _check_arguments(definition, len(event.arguments))
    if event.run_id in state.runs:
        raise Conflict("duplicate_run", f"run {event.run_id} already exists")
    run = Run(event.run_id, environment.id, root_execution_id="", step_count=0)
    run.idempotency_key = event.idempotency_key
    state.runs[run.id] = run
    if event.idempotency_key is not None:
        state.idempotency_keys[event.idempotency_key] = run.id
    effects.append(
        RunCreated(
            run.id, environment.id, event.repository, event.target, event.idempotency_key, now
        )
    )
    root = _create_step(
        state, run, None, None, event.repository, event.target, "workflow",
        event.arguments, definition.options, now, effects,
    )  # fmt: skip
    run.root_execution_id = root.id


def _create_step(
    state: ProjectState,
    run: Run,
    parent: Execution | None,
    call_index: int | None,
    repository: str,
    target: str,
    type_: protocol.TargetType,
    arguments: tuple[protocol.Value, ...],
    options: protocol.TargetOptions,
    now: float,
    effects: list[Effect],
) -> Execution:
    run.step_count += 1
    number = run.step_count
    step_id = f"{run.id}:{number}"
    parent_id = parent.id if parent is not None else None
    effects.append(
        StepCreated(
            step_id, run.id, number, parent_id, call_index, repository, target, type_,
            arguments, options, now,
        )
    )  # fmt: skip
    execution = Execution(
        id=f"{step_id}:1",
        step_id=step_id,
        run_id=run.id,
        step_number=number,
        attempt=1,
        environment_id=run.environment_id,
        repository=repository,
        target=target,
        type=type_,
        arguments=arguments,
        options=options,
        parent_id=parent_id,
        state=S.QUEUED,
        created_at=now,
        due_at=now + options.delay,
    )
    _add_execution(state, run, execution, effects)
    if parent is not None and call_index is not None:
        parent.children[call_index] = execution.id
    return execution


def _add_execution(
    state: ProjectState, run: Run, execution: Execution, effects: list[Effect]
) -> None:
    state.executions[execution.id] = execution
    run.executions.add(execution.id)
    run.unfinished.add(execution.id)
    state.queue[execution.id] = None
    if execution.due_at > execution.created_at:
        state.delayed[execution.id] = execution.due_at
    effects.append(
        ExecutionCreated(
            execution.id, execution.step_id, run.id, execution.attempt,
            execution.environment_id, execution.due_at, execution.created_at,
        )
    )  # fmt: skip
    effects.append(
        ExecutionTransitioned(execution.id, run.id, S.QUEUED, None, execution.created_at)
    )


def _schedule_step(
    state: ProjectState, event: ScheduleStep, now: float, effects: list[Effect]
) -> None:
    submit = event.submit
    parent = _execution(state, submit.parent_execution_id)
    if parent.state is not S.ASSIGNED or parent.session_id != event.session_id:
        raise Conflict(
            "not_running",
            f"execution {parent.id} is not running in session {event.session_id}",
        )
    existing = parent.children.get(submit.call_index)
    if existing is not None:
        # A resent submission (after a reconnect): answer with what exists.
        effects.append(Send(event.session_id, protocol.Submitted(submit.request_id, existing)))
        return
    environments.check_target_name(submit.repository, submit.target)
    if submit.type != "task":
        raise BadRequest(
            "unsupported_call",
            f"calling a {submit.type} ({submit.repository}.{submit.target}) from a task "
            "is not supported yet",
        )
    run = state.runs[parent.run_id]
    child = _create_step(
        state, run, parent, submit.call_index, submit.repository, submit.target, submit.type,
        submit.arguments, submit.options, now, effects,
    )  # fmt: skip
    effects.append(Send(event.session_id, protocol.Submitted(submit.request_id, child.id)))


# --- sessions ------------------------------------------------------------------


def _connect_session(
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
            targets=_targets(hello.targets),
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
        session.targets = _targets(hello.targets)
        session.connection = event.connection
        session.connected = True
        session.expires_at = None
        # Executions the agent no longer holds were lost with the old connection.
        lost = [e for e in session.executions if e not in set(hello.executing)]
        for execution_id in sorted(lost):
            _abandon(state, state.executions[execution_id], now, effects)
        resumed = True
    effects.append(Send(session.id, protocol.Welcome(session.id, resumed)))


def _disconnect_session(state: ProjectState, event: DisconnectSession, now: float) -> None:
    session = state.sessions.get(event.session_id)
    if session is None or session.connection != event.connection:
        return  # a stale disconnect from a connection that was already replaced
    session.connected = False
    session.expires_at = now + state.session_timeout


def _tick(state: ProjectState, now: float, effects: list[Effect]) -> None:
    expired = [
        s for s in state.sessions.values() if s.expires_at is not None and s.expires_at <= now
    ]
    for session in expired:
        for execution_id in sorted(session.executions):
            _abandon(state, state.executions[execution_id], now, effects)
        del state.sessions[session.id]
    for execution_id, due_at in list(state.delayed.items()):
        if due_at <= now:
            del state.delayed[execution_id]


# --- assignment ----------------------------------------------------------------


def _assign(state: ProjectState, now: float, effects: list[Effect]) -> None:
    """Assign due executions, oldest first, to matching sessions with free capacity."""
    if not state.queue:
        return
    stuck: set[tuple[str, str, str]] = set()  # routes with no capacity in this pass
    for execution_id in list(state.queue):
        execution = state.executions[execution_id]
        if execution.due_at > now:
            continue
        route = (execution.environment_id, execution.repository, execution.target)
        if route in stuck and not execution.options.requires:
            continue
        if state.environments[execution.environment_id].status is not EnvironmentStatus.ACTIVE:
            continue
        session = _find_session(state, execution)
        if session is None:
            if not execution.options.requires:
                stuck.add(route)
            continue
        _set_state(state, execution, S.ASSIGNED, now, effects, session.id)
        session.executions.add(execution.id)
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


def _find_session(state: ProjectState, execution: Execution) -> Session | None:
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


# --- outcomes ------------------------------------------------------------------


def _set_state(
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
    if new.terminal:
        if execution.session_id is not None:
            session = state.sessions.get(execution.session_id)
            if session is not None:
                session.executions.discard(execution.id)
        state.runs[execution.run_id].unfinished.discard(execution.id)


def _finish(
    state: ProjectState,
    execution: Execution,
    new: ExecutionState,
    outcome: protocol.Outcome,
    now: float,
    effects: list[Effect],
) -> None:
    _set_state(state, execution, new, now, effects)
    execution.outcome = outcome
    effects.append(OutcomeRecorded(execution.id, execution.run_id, outcome, now))
    for waiter in sorted(execution.waiters, key=repr):
        effects.append(_deliver(waiter, execution.id, outcome))
    execution.waiters.clear()
    _release_run_if_done(state, execution.run_id)


def _deliver(
    waiter: SessionWaiter | LocalWaiter, execution_id: str, outcome: protocol.Outcome
) -> Send | Resolve:
    if isinstance(waiter, SessionWaiter):
        return Send(
            waiter.session_id, protocol.ResultReady(waiter.request_id, execution_id, outcome)
        )
    return Resolve(waiter.token, execution_id, outcome)


def _release_run_if_done(state: ProjectState, run_id: str) -> None:
    """Drop a run from memory once nothing in it is unfinished; the store has it all."""
    run = state.runs[run_id]
    if run.unfinished:
        return
    for execution_id in run.executions:
        del state.executions[execution_id]
    if run.idempotency_key is not None:
        state.idempotency_keys.pop(run.idempotency_key, None)
    del state.runs[run_id]


def _await(
    state: ProjectState,
    execution_id: str,
    waiter: SessionWaiter | LocalWaiter,
    effects: list[Effect],
) -> None:
    execution = _execution(state, execution_id)
    if execution.outcome is not None:
        effects.append(_deliver(waiter, execution.id, execution.outcome))
    else:
        execution.waiters.add(waiter)


def _complete(
    state: ProjectState, event: CompleteExecution, now: float, effects: list[Effect]
) -> None:
    execution = state.executions.get(event.execution_id)
    ack = Send(event.session_id, protocol.Ack((event.execution_id,)))
    if execution is None or execution.state.terminal:
        # Already recorded (a resend after a reconnect), or cancelled meanwhile.
        effects.append(ack)
        return
    if execution.session_id != event.session_id or execution.state is not S.ASSIGNED:
        raise Conflict(
            "not_assigned",
            f"execution {execution.id} is not assigned to session {event.session_id}",
        )
    new = S.SUCCEEDED if isinstance(event.outcome, protocol.Succeeded) else S.FAILED
    _finish(state, execution, new, event.outcome, now, effects)
    effects.append(ack)


def _abandon(state: ProjectState, execution: Execution, now: float, effects: list[Effect]) -> None:
    _finish(state, execution, S.ABANDONED, protocol.Abandoned(), now, effects)


def _cancel(state: ProjectState, root: Execution, now: float, effects: list[Effect]) -> None:
    """Cancel an execution and every unfinished execution it (transitively) started."""
    pending = [root]
    targets: list[Execution] = []
    while pending:
        execution = pending.pop()
        if not execution.state.terminal:
            targets.append(execution)
        pending.extend(
            state.executions[c] for c in execution.children.values() if c in state.executions
        )
    for execution in targets:
        session_id = execution.session_id if execution.state is S.ASSIGNED else None
        _finish(state, execution, S.CANCELLED, protocol.Cancelled(), now, effects)
        if session_id is not None:
            effects.append(Send(session_id, protocol.Abort(execution.id)))
