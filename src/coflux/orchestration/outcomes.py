"""How executions end, and what their endings set off.

An execution that fails, times out or is abandoned is retried when its step
allows it: a new attempt of the same step takes over its waiters. One that
timed out also has its unfinished children cancelled (its process is gone, so
nobody waits for them). A *recurrent* step that succeeded with ``None`` runs
again (after its ``delay``) as the next attempt, which takes over its waiters;
a value other than ``None`` ends it. Otherwise its outcome is
final: it is delivered to every waiter, passed back to the execution that
spawned its run (if any), and once nothing in the run is unfinished the run
leaves memory. Cancellation ends an execution and everything it started.
"""

from __future__ import annotations

from coflux import ids, protocol
from coflux.errors import Conflict
from coflux.orchestration import retries
from coflux.orchestration.effects import Effect, OutcomeRecorded, ReadOutcome, Resolve, Send
from coflux.orchestration.events import CompleteExecution
from coflux.orchestration.executions import carrying_on, new_attempt, set_state
from coflux.orchestration.model import (
    Execution,
    ProjectState,
    SessionWaiter,
    Waiter,
)
from coflux.orchestration.states import ExecutionState

S = ExecutionState

SENSOR_RESTART_DELAY = 1.0  # seconds before restarting a sensor that failed


def finish(
    state: ProjectState,
    execution: Execution,
    new: ExecutionState,
    outcome: protocol.Outcome,
    now: float,
    effects: list[Effect],
) -> None:
    """End an execution with ``outcome``; retry it if it failed and its step allows,
    run it again if it is recurrent and returned ``None``."""
    set_state(state, execution, new, now, effects)
    execution.outcome = outcome
    effects.append(OutcomeRecorded(execution.id, execution.run_id, outcome, now))
    if execution.type == "sensor":
        # A sensor is kept running: it restarts from its last checkpoint, after a
        # pause if it failed (so a sensor that always fails does not spin).
        pause = 0.0 if new is S.SUCCEEDED else SENSOR_RESTART_DELAY
        new_attempt(
            state, execution, execution.environment_id, now, now + pause, effects,
            execution.checkpoint,
        )  # fmt: skip
        return
    delay = None
    if new in RETRIED:
        tries = failures_in_a_row(state, execution)
        delay = retries.retry_delay(execution.options.retries, tries, outcome)
    elif recurs(execution.options, outcome):
        delay = execution.options.delay
    if delay is not None:
        new_attempt(state, execution, execution.environment_id, now, now + delay, effects)
    else:
        settle(state, execution, outcome, now, effects)
    if new is S.TIMED_OUT:
        cancel_children(state, execution, now, effects)


# The endings a step's retry policy applies to (never a cancellation).
RETRIED = frozenset({S.FAILED, S.ABANDONED, S.TIMED_OUT})


def failures_in_a_row(state: ProjectState, execution: Execution) -> int:
    """The attempts of the step, up to this failed one, that failed (or timed out,
    or were abandoned) since it last ended otherwise: the try a retry policy counts.

    A recurrent step's runs that returned ``None`` and a suspended attempt's
    resumption are new attempts too, but no failures: each failure after them
    gets the whole retry budget again. After a restart only unfinished attempts
    are in memory; earlier ones count as failures (as attempt numbers would),
    except for a recurrent step, whose earlier attempts are mostly its runs.
    """
    count = 1
    for attempt in range(execution.attempt - 1, 0, -1):
        earlier = state.executions.get(ids.execution_id(execution.step_id, attempt))
        if earlier is None:
            return count if execution.options.recurrent else count + attempt
        if earlier.state not in RETRIED:
            break
        count += 1
    return count


def recurs(options: protocol.TargetOptions, outcome: protocol.Outcome) -> bool:
    """Whether a step runs again: it is recurrent and this attempt returned ``None``."""
    return (
        options.recurrent
        and isinstance(outcome, protocol.Succeeded)
        and outcome.value.blob is None
        and outcome.value.format == "json"
        and outcome.value.data is None
    )


def cancel_children(
    state: ProjectState, execution: Execution, now: float, effects: list[Effect]
) -> None:
    """Cancel what an execution that ended started and left unfinished."""
    for child_id in list(execution.children.values()):
        child = state.executions.get(child_id)
        if child is not None:
            cancel(state, child, now, effects)


def settle(
    state: ProjectState,
    execution: Execution,
    outcome: protocol.Outcome,
    now: float,
    effects: list[Effect],
) -> None:
    """Deliver a final outcome to the waiters and to the executions standing in for it."""
    for waiter in sorted(execution.waiters, key=repr):
        effects.append(deliver(waiter, execution.id, outcome))
    execution.waiters.clear()
    followers, execution.followers = execution.followers, []
    for follower_id in followers:
        # A spawned, cached or deferred execution takes this outcome as its own,
        # recorded even if its run already left memory.
        effects.append(OutcomeRecorded(follower_id, ids.run_of(follower_id), outcome, now))
        follower = state.executions.get(follower_id)
        if follower is not None:
            follower.outcome = outcome
            settle(state, follower, outcome, now, effects)
            state.runs[follower.run_id].unfinished.discard(follower.id)
            release_run_if_done(state, follower.run_id)
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
        execution = state.executions.pop(execution_id)
        if execution.cache_key is not None:
            _unindex(state.cache_index, execution.cache_key, execution_id)
    if run.idempotency_key is not None:
        state.idempotency_keys.pop(run.idempotency_key, None)
    del state.runs[run_id]


def _unindex(index: dict[str, list[str]], key: str, execution_id: str) -> None:
    entries = index.get(key)
    if entries is not None and execution_id in entries:
        entries.remove(execution_id)
        if not entries:
            del index[key]


def add_waiter(
    state: ProjectState, execution_id: str, waiter: Waiter, effects: list[Effect]
) -> None:
    """Deliver the execution's final outcome to ``waiter``: now if it has one, else
    once it has (with nothing in memory carrying on for it, the store holds it)."""
    execution = carrying_on(state, execution_id)
    if execution is None:
        effects.append(ReadOutcome(waiter, execution_id))
        return
    if execution.outcome is not None:
        effects.append(deliver(waiter, execution.id, execution.outcome))
    else:
        execution.waiters.add(waiter)


def forget_waiter(state: ProjectState, execution_id: str, waiter: Waiter) -> None:
    execution = carrying_on(state, execution_id)
    if execution is not None:
        execution.waiters.discard(waiter)


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
    match event.outcome:
        case protocol.Suspended(
            due_at=due_at, waiting_for=waiting_for, waiting_for_inputs=waiting_for_inputs
        ):
            resumed = suspend(state, execution, due_at, waiting_for, now, effects)
            resumed.waiting_for_inputs = waiting_for_inputs
        case protocol.Succeeded():
            finish(state, execution, S.SUCCEEDED, event.outcome, now, effects)
        case protocol.Failed():
            finish(state, execution, S.FAILED, event.outcome, now, effects)
        case protocol.TimedOut():
            finish(state, execution, S.TIMED_OUT, event.outcome, now, effects)
    effects.append(ack)


def suspend(
    state: ProjectState,
    execution: Execution,
    due_at: float | None,
    waiting_for: tuple[str, ...],
    now: float,
    effects: list[Effect],
) -> Execution:
    """The execution suspended itself: the next attempt of its step takes over
    (returned)."""
    set_state(state, execution, S.SUSPENDED, now, effects)
    resumed = new_attempt(
        state, execution, execution.environment_id, now, max(now, due_at or now), effects
    )
    resumed.waiting_for = tuple(dict.fromkeys(resumed.waiting_for + waiting_for))
    return resumed


def abandon(state: ProjectState, execution: Execution, now: float, effects: list[Effect]) -> None:
    finish(state, execution, S.ABANDONED, protocol.Abandoned(), now, effects)


def cancel_run(state: ProjectState, run_id: str, now: float, effects: list[Effect]) -> None:
    """Cancel everything unfinished in a run (nothing if it has left memory).

    Its first step is usually the root of all of it, but not always in memory: a
    finished run with one step re-run is back with only that step's new attempt.
    """
    run = state.runs.get(run_id)
    if run is None:
        return
    root = state.executions.get(run.root_execution_id)
    tops = [root] if root is not None else [state.executions[e] for e in sorted(run.unfinished)]
    for execution in tops:
        if execution.id in state.executions:  # an earlier one's cancel may release the run
            cancel(state, execution, now, effects)


def cancel(state: ProjectState, root: Execution, now: float, effects: list[Effect]) -> None:
    """Cancel an execution and every unfinished execution it (transitively) started."""
    pending = [root]
    seen = {root.id}  # a memoised call is the child of each caller that made it
    found: list[Execution] = []
    while pending:
        execution = pending.pop()
        if not execution.state.terminal:
            found.append(execution)
        related = list(execution.children.values())
        successor = state.executions.get(execution.successor or "")
        if successor is not None and (
            execution.state is S.SPAWNED or successor.step_id == execution.step_id
        ):
            # The spawned run is a descendant; a later attempt of the same step (a
            # retry, a recurrence, a resumption) is the call itself. A cached or
            # deferred call's leader is other callers' too: it is left running.
            related.append(successor.id)
        for related_id in related:
            if related_id in state.executions and related_id not in seen:
                seen.add(related_id)
                pending.append(state.executions[related_id])
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
