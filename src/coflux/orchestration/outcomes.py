"""How executions end, and what their endings set off.

An execution that fails or is abandoned is retried when its step allows it: a
new attempt of the same step takes over its waiters. Otherwise its outcome is
final: it is delivered to every waiter, passed back to the execution that
spawned its run (if any), and once nothing in the run is unfinished the run
leaves memory. Cancellation ends an execution and everything it started.
"""

from __future__ import annotations

from coflux import protocol
from coflux.errors import Conflict
from coflux.orchestration import retries
from coflux.orchestration.effects import Effect, OutcomeRecorded, Resolve, Send
from coflux.orchestration.events import CompleteExecution
from coflux.orchestration.executions import active_execution, latest, new_attempt, set_state
from coflux.orchestration.model import (
    Execution,
    ProjectState,
    SessionWaiter,
    Waiter,
    run_of,
)
from coflux.orchestration.states import ExecutionState

S = ExecutionState


def finish(
    state: ProjectState,
    execution: Execution,
    new: ExecutionState,
    outcome: protocol.Outcome,
    now: float,
    effects: list[Effect],
) -> None:
    """End an execution with ``outcome``; retry it if it failed and its step allows."""
    set_state(state, execution, new, now, effects)
    execution.outcome = outcome
    effects.append(OutcomeRecorded(execution.id, execution.run_id, outcome, now))
    delay = None
    if new in (S.FAILED, S.ABANDONED):
        delay = retries.retry_delay(execution.options.retries, execution.attempt)
    if delay is not None:
        retry = new_attempt(state, execution, execution.environment_id, now, now + delay, effects)
        retry.waiters, execution.waiters = execution.waiters, set()
        return
    settle(state, execution, outcome, now, effects)


def settle(
    state: ProjectState,
    execution: Execution,
    outcome: protocol.Outcome,
    now: float,
    effects: list[Effect],
) -> None:
    """Deliver a final outcome to the waiters and to the spawning execution."""
    for waiter in sorted(execution.waiters, key=repr):
        effects.append(deliver(waiter, execution.id, outcome))
    execution.waiters.clear()
    if execution.origin is not None:
        # The run started by a spawned execution ended: that is the spawned one's outcome.
        effects.append(OutcomeRecorded(execution.origin, run_of(execution.origin), outcome, now))
        origin = state.executions.get(execution.origin)
        if origin is not None:
            origin.outcome = outcome
            settle(state, origin, outcome, now, effects)
            state.runs[origin.run_id].unfinished.discard(origin.id)
            release_run_if_done(state, origin.run_id)
    release_run_if_done(state, execution.run_id)


def deliver(waiter: Waiter, execution_id: str, outcome: protocol.Outcome) -> Send | Resolve:
    if isinstance(waiter, SessionWaiter):
        message = protocol.ResultReady(waiter.request_id, execution_id, outcome)
        return Send(waiter.session_id, message)
    return Resolve(waiter.token, execution_id, outcome)


def release_run_if_done(state: ProjectState, run_id: str) -> None:
    """Drop a run from memory once nothing in it is unfinished; the store has it all."""
    run = state.runs.get(run_id)
    if run is None or run.unfinished:
        return
    for execution_id in run.executions:
        del state.executions[execution_id]
    if run.idempotency_key is not None:
        state.idempotency_keys.pop(run.idempotency_key, None)
    del state.runs[run_id]


def add_waiter(
    state: ProjectState, execution_id: str, waiter: Waiter, effects: list[Effect]
) -> None:
    execution = latest(state, active_execution(state, execution_id))
    if execution.outcome is not None:
        effects.append(deliver(waiter, execution.id, execution.outcome))
    else:
        execution.waiters.add(waiter)


def forget_waiter(state: ProjectState, execution_id: str, waiter: Waiter) -> None:
    execution = state.executions.get(execution_id)
    if execution is not None:
        latest(state, execution).waiters.discard(waiter)


def complete(
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
    finish(state, execution, new, event.outcome, now, effects)
    effects.append(ack)


def abandon(state: ProjectState, execution: Execution, now: float, effects: list[Effect]) -> None:
    finish(state, execution, S.ABANDONED, protocol.Abandoned(), now, effects)


def cancel(state: ProjectState, root: Execution, now: float, effects: list[Effect]) -> None:
    """Cancel an execution and every unfinished execution it (transitively) started."""
    pending = [root]
    found: list[Execution] = []
    while pending:
        execution = pending.pop()
        if not execution.state.terminal:
            found.append(execution)
        related = [*execution.children.values(), execution.successor]
        pending.extend(state.executions[e] for e in related if e in state.executions)
    for execution in found:
        session_id = execution.session_id if execution.state is S.ASSIGNED else None
        # Cancelled executions are not retried: settle, don't finish.
        set_state(state, execution, S.CANCELLED, now, effects)
        execution.outcome = protocol.Cancelled()
        effects.append(OutcomeRecorded(execution.id, execution.run_id, execution.outcome, now))
        if session_id is not None:
            effects.append(Send(session_id, protocol.Abort(execution.id)))
    for execution in found:
        settle(state, execution, protocol.Cancelled(), now, effects)
