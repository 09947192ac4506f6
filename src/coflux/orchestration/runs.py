"""Runs and their steps: submitting a workflow, calls from executions, re-runs.

A run starts with one step (the workflow). Each call made by a running execution
adds a step to the same run, except:

* a memoised call equal to an earlier one in the run reuses that execution (no step);
* a call of a *workflow* starts a separate run: the caller's step is *spawned*;
* a cached call equal to a pending, running or recent successful one in this
  environment or a base of it becomes a *cached* step that takes that outcome;
* a deferrable call replaces an equal one still queued, which becomes *deferred*.

Spawned, cached and deferred executions stand in for another execution (their
successor) and receive its final outcome. A step can be re-run by hand, in the
run's environment or one derived from it, as a new execution of the same step.
"""

from __future__ import annotations

import msgspec

from coflux import ids, protocol
from coflux.errors import BadRequest, Conflict, NotFound
from coflux.orchestration import environments, outcomes
from coflux.orchestration.arguments import check_arguments
from coflux.orchestration.effects import (
    CheckpointRecorded,
    Effect,
    ExecutionLinked,
    OutcomeRecorded,
    RunCreated,
    Send,
    StepCreated,
)
from coflux.orchestration.events import (
    CacheHit,
    LookupRequired,
    RecordCheckpoint,
    RerunStep,
    ScheduleStep,
    SubmitRun,
)
from coflux.orchestration.executions import (
    add_execution,
    latest,
    link,
    running_in,
    set_state,
)
from coflux.orchestration.keys import StepKeys, step_keys
from coflux.orchestration.model import Execution, ProjectState, Run, SessionWaiter
from coflux.orchestration.states import STANDING_IN, EnvironmentStatus, ExecutionState

S = ExecutionState


def submit_run(state: ProjectState, event: SubmitRun, now: float, effects: list[Effect]) -> None:
    environment = environments.writable(state, event.environment)
    manifest = state.manifests.get((environment.id, event.repository))
    if manifest is None:
        raise NotFound(
            "unknown_repository",
            f"repository '{event.repository}' is not registered in environment "
            f"'{environment.name}'",
        )
    definition = next((t for t in manifest.targets if t.name == event.target), None)
    if definition is None or definition.type != event.kind:
        raise NotFound(
            "unknown_target",
            f"repository '{event.repository}' has no {event.kind} '{event.target}'",
        )
    check_arguments(definition, event.arguments)
    if event.run_id in state.runs:
        raise Conflict("duplicate_run", f"run {event.run_id} already exists")
    start_run(
        state, event.run_id, environment.id, event.repository, event.target,
        event.arguments, definition.options, event.idempotency_key, now, effects, event.kind,
    )  # fmt: skip


def start_run(
    state: ProjectState,
    run_id: str,
    environment_id: str,
    repository: str,
    target: str,
    arguments: tuple[protocol.Value, ...],
    options: protocol.TargetOptions,
    idempotency_key: str | None,
    now: float,
    effects: list[Effect],
    kind: protocol.TargetType = "workflow",
) -> Execution:
    """Create a run and its first step; returns the step's execution."""
    run = Run(run_id, environment_id, root_execution_id="", step_count=0)
    run.idempotency_key = idempotency_key
    state.runs[run.id] = run
    if idempotency_key is not None:
        state.idempotency_keys[idempotency_key] = run.id
    effects.append(RunCreated(run.id, environment_id, repository, target, idempotency_key, now))
    root = create_step(
        state, run, None, None, repository, target, kind, arguments, options, now, effects
    )
    run.root_execution_id = root.id
    return root


def create_step(
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
    keys: StepKeys | None = None,
    group: protocol.Group | None = None,
) -> Execution:
    keys = keys or StepKeys()
    run.step_count += 1
    number = run.step_count
    step_id = ids.step_id(run.id, number)
    parent_id = parent.id if parent is not None else None
    effects.append(
        StepCreated(
            step_id, run.id, number, parent_id, call_index, repository, target, type_,
            arguments, options, now, keys.cache, keys.memo, group,
        )
    )  # fmt: skip
    execution = Execution(
        id=ids.execution_id(step_id, 1),
        step_id=step_id,
        run_id=run.id,
        step_number=number,
        attempt=1,
        # Calls run where their caller runs: a step re-run in a child environment
        # makes its new calls there too.
        environment_id=parent.environment_id if parent is not None else run.environment_id,
        repository=repository,
        target=target,
        type=type_,
        arguments=arguments,
        options=options,
        parent_id=parent_id,
        state=S.QUEUED,
        created_at=now,
        due_at=now + options.delay,
        cache_key=keys.cache,
    )
    add_execution(state, run, execution, effects)
    if parent is not None and call_index is not None:
        parent.children[call_index] = execution.id
    if keys.memo is not None:
        run.memo.setdefault(keys.memo, execution.id)
    return execution


def schedule_step(
    state: ProjectState, event: ScheduleStep, now: float, effects: list[Effect]
) -> None:
    """A call from a running execution: reuse a memoised step, link to a cached
    execution, replace a deferred one, spawn a run, or create a plain new step.

    Raises:
        LookupRequired: memory cannot answer a cache or memo look-up (nothing changed).
    """
    submit = event.submit
    parent = running_in(state, event.session_id, submit.parent_execution_id)
    existing = parent.children.get(submit.call_index)
    if existing is not None:
        # A resent submission (after a reconnect): answer with what exists.
        _answer(state, event, existing, effects)
        return
    environments.check_target_name(submit.repository, submit.target)
    if submit.type == "sensor":
        raise BadRequest("unsupported_call", "sensors are started, not called")
    if submit.type == "workflow" and event.new_run_id is None:
        raise BadRequest("missing_run_id", "a workflow call needs the id of the run it starts")
    run = state.runs[parent.run_id]
    options = run_options(submit.options, submit.type, parent.options)
    keys = step_keys(submit.repository, submit.target, submit.arguments, options)
    memo_hit, cache_hit = _look_up(state, event, parent, keys, now)
    if memo_hit is not None:
        # Memo: an equal call in this run already has an execution; no new step.
        parent.children[submit.call_index] = memo_hit
        _answer(state, event, memo_hit, effects)
        return
    child = create_step(
        state, run, parent, submit.call_index, submit.repository, submit.target, submit.type,
        submit.arguments, options, now, effects, keys, submit.group,
    )  # fmt: skip
    if cache_hit is not None:
        _use_cached(state, child, cache_hit, now, effects)
    elif submit.type == "workflow" and event.new_run_id is not None:
        _spawn(state, child, event.new_run_id, now, effects)
    elif keys.defer is not None:
        _replace_deferred(state, child, keys.defer, now, effects)
    _answer(state, event, child.id, effects)


def run_options(
    options: protocol.TargetOptions,
    type_: protocol.TargetType,
    caller: protocol.TargetOptions,
) -> protocol.TargetOptions:
    """A call's options as its run applies them: where the run memoises calls (its
    workflow has ``memo=True``), a call that does not set ``memo`` is memoised on
    all its arguments, and a task passes the run's choice on to its own calls (a
    workflow call starts a run of its own, which follows its own workflow)."""
    changes: dict[str, object] = {}
    if options.memo is None and caller.memo_calls:
        changes["memo"] = ()
    if type_ == "task" and options.memo_calls != caller.memo_calls:
        changes["memo_calls"] = caller.memo_calls
    return msgspec.structs.replace(options, **changes) if changes else options


def _answer(
    state: ProjectState, event: ScheduleStep, execution_id: str, effects: list[Effect]
) -> None:
    """Reply with the step's execution, then its outcome once it has one.

    The outcome comes unasked, as a ``ResultReady`` with the submission's request
    id, so a caller waiting for it costs no request (``GetResult`` is for
    executions the caller did not submit, and for asking again after a reconnect).
    """
    request_id = event.submit.request_id
    effects.append(Send(event.session_id, protocol.Submitted(request_id, execution_id)))
    waiter = SessionWaiter(event.session_id, request_id)
    outcomes.add_waiter(state, execution_id, waiter, effects)


def _look_up(
    state: ProjectState, event: ScheduleStep, parent: Execution, keys: StepKeys, now: float
) -> tuple[str | None, CacheHit | None]:
    """The memo and cache hits for a call: from memory, else from ``event.lookups``."""
    run = state.runs[parent.run_id]
    memo_hit = _usable(state, run.memo.get(keys.memo)) if keys.memo is not None else None
    cache = event.submit.options.cache
    cache_hit = None
    if keys.cache is not None and cache is not None:
        ancestry = tuple(environments.ancestry(state, parent.environment_id))
        since = now - cache.max_age if cache.max_age is not None else 0.0
        cache_hit = _cached_in_memory(state, keys.cache, ancestry, since)
        if cache_hit is None and memo_hit is None and event.lookups is None:
            memo_query = (run.id, keys.memo) if keys.memo is not None else None
            raise LookupRequired(cache=(keys.cache, ancestry, since), memo=memo_query)
    elif keys.memo is not None and memo_hit is None and event.lookups is None:
        raise LookupRequired(cache=None, memo=(run.id, keys.memo))
    if event.lookups is not None:
        memo_hit = memo_hit or event.lookups.memo
        cache_hit = cache_hit or event.lookups.cache
    return memo_hit, cache_hit


def _usable(state: ProjectState, execution_id: str | None) -> str | None:
    """A memoised execution can be reused unless it failed or was cancelled."""
    if execution_id is None or execution_id not in state.executions:
        return execution_id
    outcome = latest(state, state.executions[execution_id]).outcome
    return execution_id if outcome is None or isinstance(outcome, protocol.Succeeded) else None


def _cached_in_memory(
    state: ProjectState, key: str, ancestry: tuple[str, ...], since: float
) -> CacheHit | None:
    """The newest execution in memory with ``key`` that a call may reuse.

    Pending and running executions count (equal concurrent calls share one
    execution); failed ones never do; finished ones only if recent enough.
    """
    for execution_id in reversed(state.cache_index.get(key, ())):
        candidate = state.executions[execution_id]
        if candidate.environment_id not in ancestry or candidate.state in STANDING_IN:
            continue
        outcome = candidate.outcome
        if outcome is None or (
            isinstance(outcome, protocol.Succeeded) and (candidate.completed_at or 0.0) >= since
        ):
            return CacheHit(candidate.id, outcome)
    return None


def _use_cached(
    state: ProjectState, child: Execution, hit: CacheHit, now: float, effects: list[Effect]
) -> None:
    """The new step reuses a cached execution: it is *cached* and takes its outcome."""
    set_state(state, child, S.CACHED, now, effects)
    leader = state.executions.get(hit.execution_id)
    if leader is not None and leader.outcome is None:
        link(state, child, leader, now, effects)
        return
    outcome = leader.outcome if leader is not None else hit.outcome
    if outcome is None:
        raise ValueError(f"cache hit {hit.execution_id} has no outcome")  # pragma: no cover
    child.successor = hit.execution_id
    child.outcome = outcome
    effects.append(ExecutionLinked(child.id, child.run_id, hit.execution_id, now))
    effects.append(OutcomeRecorded(child.id, child.run_id, outcome, now))
    state.runs[child.run_id].unfinished.discard(child.id)


def _replace_deferred(
    state: ProjectState, child: Execution, key: str, now: float, effects: list[Effect]
) -> None:
    """Defer: a queued equal call is replaced by this newer one, whose waiters it gets."""
    child.defer_key = key
    index = (child.environment_id, key)
    previous_id = state.deferrable.get(index)
    state.deferrable[index] = child.id
    previous = state.executions.get(previous_id) if previous_id is not None else None
    if previous is not None and previous.state is S.QUEUED:
        set_state(state, previous, S.DEFERRED, now, effects)
        link(state, previous, child, now, effects)


def _spawn(
    state: ProjectState, caller_step: Execution, run_id: str, now: float, effects: list[Effect]
) -> None:
    """Start the separate run of a workflow called from a task."""
    set_state(state, caller_step, S.SPAWNED, now, effects)
    root = start_run(
        state, run_id, caller_step.environment_id, caller_step.repository, caller_step.target,
        caller_step.arguments, caller_step.options, None, now, effects,
    )  # fmt: skip
    link(state, caller_step, root, now, effects)


def rerun_step(state: ProjectState, event: RerunStep, now: float, effects: list[Effect]) -> None:
    record = event.record
    if record is None:
        raise NotFound("unknown_step", f"step {event.step_id} does not exist")
    current = state.executions.get(record.latest_execution_id)
    if current is not None and not current.state.terminal:
        raise Conflict("step_running", f"step {record.step_id} has an unfinished execution")
    if current is not None and current.state is S.SPAWNED and current.outcome is None:
        raise Conflict("step_running", f"step {record.step_id} has an unfinished spawned run")
    run = state.runs.get(record.run_id)
    run_environment = run.environment_id if run is not None else record.run_environment_id
    environment = _rerun_environment(state, event.environment, run_environment)
    if run is None:
        # The run finished and left memory: bring back what the new execution needs.
        run = Run(record.run_id, run_environment, record.root_execution_id, record.run_step_count)
        state.runs[run.id] = run
    execution = Execution(
        id=ids.execution_id(record.step_id, record.latest_attempt + 1),
        step_id=record.step_id,
        run_id=record.run_id,
        step_number=record.number,
        attempt=record.latest_attempt + 1,
        environment_id=environment,
        repository=record.repository,
        target=record.target,
        type=record.type,
        arguments=record.arguments,
        options=record.options,
        parent_id=record.parent_execution_id,
        state=S.QUEUED,
        created_at=now,
        due_at=now,
    )
    add_execution(state, run, execution, effects)
    if current is not None:
        current.successor = execution.id
    if record.number == 1:
        run.root_execution_id = execution.id


def record_checkpoint(
    state: ProjectState, event: RecordCheckpoint, now: float, effects: list[Effect]
) -> None:
    execution = running_in(state, event.session_id, event.execution_id)
    if execution.type != "sensor":
        raise BadRequest("not_a_sensor", f"execution {execution.id} is not a sensor")
    execution.checkpoint = event.arguments
    effects.append(CheckpointRecorded(execution.id, execution.run_id, event.arguments, now))


def _rerun_environment(state: ProjectState, name: str | None, run_environment: str) -> str:
    """The environment to re-run in: the run's own, or one derived from it."""
    if name is None:
        environment = state.environments[run_environment]
    else:
        environment = environments.named(state, name)
        if run_environment not in environments.ancestry(state, environment.id):
            raise BadRequest(
                "unrelated_environment",
                f"a step can only be re-run in the run's environment or one based on it; "
                f"'{name}' is neither",
            )
    if environment.status is not EnvironmentStatus.ACTIVE:
        raise Conflict(
            f"environment_{environment.status.value}",
            f"environment '{environment.name}' is {environment.status.value}",
        )
    return environment.id
