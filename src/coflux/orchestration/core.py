"""The pure heart of orchestration: ``apply(state, event, now) -> (state, effects)``.

No I/O, no clock, no randomness: the caller passes the time and every new id
(inside the event). ``apply`` validates an event completely before it changes
anything, so an event that raises (``BadRequest``, ``InvalidTransition``) leaves
the state exactly as it was. For speed the state object is updated in place and
returned; callers must treat the returned effects as the only output.

Effects are facts to persist (appended in order, in one transaction per batch)
and deliveries to perform after the facts are durable (see ``effects``). The
work is split by concept: ``environments``, ``runs`` (submissions, calls,
re-runs), ``sessions`` (agents and assignment), ``outcomes`` (endings, retries,
waiters, cancellation), ``inputs`` (prompts and their answers), over ``executions``
(state changes and indices).
"""

from __future__ import annotations

from coflux.orchestration import (
    environments,
    executions,
    inputs,
    metrics,
    outcomes,
    runs,
    sessions,
)
from coflux.orchestration.effects import Effect
from coflux.orchestration.events import (
    Assign,
    AwaitInput,
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
    RecordAsset,
    RecordCheckpoint,
    RecordLogs,
    RecordMetrics,
    RegisterManifests,
    ReportBlocked,
    RequestInput,
    RequestResult,
    RerunStep,
    ScheduleStep,
    SetEnvironmentStatus,
    SettleInput,
    SubmitRun,
    Tick,
    UpdateEnvironment,
)
from coflux.orchestration.executions import active_execution, running_in
from coflux.orchestration.model import LocalWaiter, ProjectState, SessionWaiter


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
            runs.submit_run(state, event, now, effects)
        case ScheduleStep():
            runs.schedule_step(state, event, now, effects)
        case RerunStep():
            runs.rerun_step(state, event, now, effects)
        case RecordAsset():
            executions.record_asset(state, event, effects)
        case RecordLogs():
            executions.record_logs(state, event, effects)
        case RecordMetrics():
            metrics.record_metrics(state, event, now, effects)
        case RecordCheckpoint():
            runs.record_checkpoint(state, event, now, effects)
        case ConnectSession():
            sessions.connect_session(state, event, now, effects)
        case DeclareTargets():
            sessions.get_session(state, event.session_id).targets = sessions.targets(event.targets)
        case DisconnectSession():
            sessions.disconnect_session(state, event, now)
        case ReportBlocked():
            sessions.report_blocked(state, event)
        case Tick():
            sessions.tick(state, now, effects)
        case Assign():
            sessions.assign(state, now, effects)
        case RequestResult():
            running_in(state, event.session_id, event.request.from_execution_id)
            waiter = SessionWaiter(event.session_id, event.request.request_id)
            outcomes.add_waiter(state, event.request.execution_id, waiter, effects)
        case AwaitOutcome():
            outcomes.add_waiter(state, event.execution_id, LocalWaiter(event.token), effects)
        case ForgetWaiter():
            outcomes.forget_waiter(state, event.execution_id, LocalWaiter(event.token))
        case CompleteExecution():
            outcomes.complete(state, event, now, effects)
        case CancelExecution():
            if event.session_id is not None and event.from_execution_id is not None:
                running_in(state, event.session_id, event.from_execution_id)
            outcomes.cancel(state, active_execution(state, event.execution_id), now, effects)
        case CancelRun():
            outcomes.cancel_run(state, event.run_id, now, effects)
        case RequestInput():
            inputs.request(state, event, now, effects)
        case AwaitInput():
            inputs.await_response(state, event, effects)
        case SettleInput():
            inputs.settle(state, event, now, effects)
    return state, effects
