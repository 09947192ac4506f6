"""Run semantics in the pure core: retries, spawned runs, waiting on arguments, re-runs."""

from __future__ import annotations

import pytest

from coflux import protocol as P
from coflux.errors import BadRequest, Conflict, NotFound
from coflux.orchestration import events as ev
from coflux.orchestration.effects import (
    ExecutionCreated,
    OutcomeRecorded,
    ReadOutcome,
    Resolve,
    RunCreated,
    Send,
)
from coflux.orchestration.model import SessionWaiter
from coflux.orchestration.retries import retry_delay
from coflux.orchestration.states import EnvironmentStatus, ExecutionState
from tests.unit.test_core import Harness, messages, results, states, submission, value

S = ExecutionState
FAILED = P.Failed(P.ErrorInfo(type="builtins.ValueError", message="flaky"))


def call(h: Harness, session: str, parent: str, index: int, **options: object) -> list:  # type: ignore[type-arg]
    submit = submission(parent, index, **options)
    return h.apply(ev.ScheduleStep(session, submit))


def fail(h: Harness, session: str, execution_id: str) -> list:  # type: ignore[type-arg]
    return h.apply(ev.CompleteExecution(session, execution_id, FAILED))


# --- retries -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "attempt", "expected"),
    [
        (None, 1, None),
        (P.RetryOptions(limit=0), 1, None),
        (P.RetryOptions(limit=1, delay_min=2, delay_max=9), 1, 2),
        (P.RetryOptions(limit=1), 2, None),
        (P.RetryOptions(limit=3, delay_min=1, delay_max=5), 1, 1),
        (P.RetryOptions(limit=3, delay_min=1, delay_max=5), 2, 3),
        (P.RetryOptions(limit=3, delay_min=1, delay_max=5), 3, 5),
        (P.RetryOptions(limit=3, delay_min=1, delay_max=5), 4, None),
    ],
)
def test_retry_delay_rises_linearly_from_min_to_max(
    policy: P.RetryOptions | None, attempt: int, expected: float | None
) -> None:
    assert retry_delay(policy, attempt) == expected


def test_a_failed_execution_is_retried_after_its_delay_and_waiters_follow() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    call(h, session, "r1:1:1", 0, retries=P.RetryOptions(limit=2, delay_min=5, delay_max=10))
    h.apply(
        ev.RequestResult(
            session, P.GetResult(request_id=7, execution_id="r1:2:1", from_execution_id="r1:1:1")
        )
    )
    effects = fail(h, session, "r1:2:1")
    assert ("r1:2:1", S.FAILED) in states(effects)
    assert ("r1:2:2", S.QUEUED) in states(effects)
    assert messages(effects, P.ResultReady) == []  # the waiter waits for the final outcome
    assert h.state.executions["r1:2:2"].due_at == h.now + 5
    h.now += 5
    assert ("r1:2:2", S.ASSIGNED) in states(h.apply(ev.Tick()))
    effects = fail(h, session, "r1:2:2")
    assert h.state.executions["r1:2:3"].due_at == h.now + 10
    h.now += 10
    h.apply(ev.Tick())
    effects = h.complete(session, "r1:2:3", "finally")
    outcome = P.Succeeded(value("finally"))
    # The caller's submission (100) and its request (7) both hear the final outcome.
    assert results(effects) == [
        P.ResultReady(7, "r1:2:3", outcome),
        P.ResultReady(100, "r1:2:3", outcome),
    ]


def test_retries_run_out_and_the_last_failure_is_delivered() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    call(h, session, "r1:1:1", 0, retries=P.RetryOptions(limit=1))
    h.apply(ev.AwaitOutcome(3, "r1:2:1"))
    fail(h, session, "r1:2:1")
    effects = fail(h, session, "r1:2:2")
    assert Resolve(3, "r1:2:2", FAILED) in effects
    assert not [e for e in effects if isinstance(e, ExecutionCreated)]


def test_an_abandoned_execution_is_retried_when_allowed() -> None:
    h = Harness(session_timeout=1)
    h.setup()
    first, _ = h.connect()
    h.submit("r1")
    call(h, first, "r1:1:1", 0, retries=P.RetryOptions(limit=1))
    h.apply(ev.DisconnectSession(first, 1))
    h.now += 2
    effects = h.apply(ev.Tick())
    assert ("r1:2:1", S.ABANDONED) in states(effects)
    assert ("r1:1:1", S.ABANDONED) in states(effects)  # the workflow had no retries
    assert ("r1:2:2", S.QUEUED) in states(effects)
    _, effects = h.connect()
    assert ("r1:2:2", S.ASSIGNED) in states(effects)


def test_a_retried_root_becomes_the_runs_root() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    h.state.executions["r1:1:1"].options = P.TargetOptions(retries=P.RetryOptions(limit=1))
    h.apply(ev.AwaitOutcome(1, "r1:1:1"))
    fail(h, session, "r1:1:1")
    assert h.state.runs["r1"].root_execution_id == "r1:1:2"
    effects = h.complete(session, "r1:1:2", "ok")
    assert Resolve(1, "r1:1:2", P.Succeeded(value("ok"))) in effects


def test_cancelled_executions_are_not_retried() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    call(h, session, "r1:1:1", 0, retries=P.RetryOptions(limit=3))
    effects = h.apply(ev.CancelRun("r1"))
    assert not [e for e in effects if isinstance(e, ExecutionCreated)]
    assert h.state.runs == {}


# --- workflows called from tasks ----------------------------------------------------


def spawn(h: Harness, session: str, parent: str, index: int, run_id: str) -> list:  # type: ignore[type-arg]
    submit = submission(parent, index, request_id=1, target="greet", type="workflow")
    return h.apply(ev.ScheduleStep(session, submit, run_id))


def test_calling_a_workflow_spawns_a_separate_run_that_the_caller_can_wait_on() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    effects = spawn(h, session, "r1:1:1", 0, "r2")
    assert ("r1:2:1", S.SPAWNED) in states(effects)
    assert any(isinstance(e, RunCreated) and e.run_id == "r2" for e in effects)
    assert ("r2:1:1", S.ASSIGNED) in states(effects)
    assert messages(effects, P.Submitted) == [P.Submitted(1, "r1:2:1")]
    h.apply(
        ev.RequestResult(
            session, P.GetResult(request_id=9, execution_id="r1:2:1", from_execution_id="r1:1:1")
        )
    )
    effects = h.complete(session, "r2:1:1", "spawned result")
    outcome = P.Succeeded(value("spawned result"))
    assert results(effects) == [
        P.ResultReady(1, "r2:1:1", outcome),
        P.ResultReady(9, "r2:1:1", outcome),
    ]
    assert OutcomeRecorded("r1:2:1", "r1", outcome, h.now) in effects
    assert "r2" not in h.state.runs


def test_a_caller_run_stays_in_memory_until_its_spawned_run_ends() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    spawn(h, session, "r1:1:1", 0, "r2")
    h.complete(session, "r1:1:1")
    assert "r1" in h.state.runs
    h.complete(session, "r2:1:1")
    assert h.state.runs == {} and h.state.executions == {}


def test_a_workflow_call_without_a_run_id_is_refused() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    submit = submission("r1:1:1", 0, request_id=1, target="greet", type="workflow", arguments=())
    h.refused(ev.ScheduleStep(session, submit), BadRequest)


def test_cancelling_the_caller_cancels_the_spawned_run() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    spawn(h, session, "r1:1:1", 0, "r2")
    effects = h.apply(ev.CancelRun("r1"))
    assert ("r2:1:1", S.CANCELLED) in states(effects)
    assert h.state.runs == {}


# --- wait ---------------------------------------------------------------------------


def test_an_execution_waits_for_the_executions_in_its_waited_arguments() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect(concurrency=10)
    h.submit("r1")
    call(h, session, "r1:1:1", 0)
    handle = P.Value(format="json", data={"$": "execution", "v": "r1:2:1"}, executions=("r1:2:1",))
    submit = submission("r1:1:1", 1, request_id=1, arguments=(handle,), wait=(0,))
    effects = h.apply(ev.ScheduleStep(session, submit))
    assert ("r1:3:1", S.QUEUED) in states(effects) and ("r1:3:1", S.ASSIGNED) not in states(effects)
    effects = h.complete(session, "r1:2:1")
    assert ("r1:3:1", S.ASSIGNED) in states(effects)


# --- manual re-runs -----------------------------------------------------------------


def record(h: Harness, step: str, latest: str, attempt: int, **extra: object) -> ev.StepRecord:
    fields: dict[str, object] = dict(
        run_id="r1",
        run_environment_id="id-production",
        run_step_count=2,
        root_execution_id="r1:1:1",
        step_id=step,
        number=int(step.split(":")[1]),
        repository="hello",
        target="shout",
        type="task",
        arguments=(value("x"),),
        options=P.TargetOptions(),
        parent_execution_id="r1:1:1",
        latest_execution_id=latest,
        latest_attempt=attempt,
    )
    fields.update(extra)
    return ev.StepRecord(**fields)  # type: ignore[arg-type]


def finished_run(h: Harness) -> str:
    session, _ = h.connect()
    h.submit("r1")
    call(h, session, "r1:1:1", 0)
    h.complete(session, "r1:2:1")
    h.complete(session, "r1:1:1")
    assert h.state.runs == {}
    return session


def test_rerun_of_a_finished_run_brings_it_back_with_a_new_attempt() -> None:
    h = Harness()
    h.setup()
    session = finished_run(h)
    effects = h.apply(ev.RerunStep("r1:2", None, record(h, "r1:2", "r1:2:1", 1)))
    assert ("r1:2:2", S.ASSIGNED) in states(effects)
    assert h.state.executions["r1:2:2"].environment_id == "id-production"
    h.complete(session, "r1:2:2")
    assert h.state.runs == {}


def test_rerun_in_a_child_environment_runs_there_and_its_calls_too() -> None:
    h = Harness()
    h.setup(("production", None), ("dev", "production"))
    finished_run(h)
    dev, _ = h.connect("dev")
    effects = h.apply(
        ev.RerunStep(
            "r1:1",
            "dev",
            record(h, "r1:1", "r1:1:1", 1, number=1, target="greet", parent_execution_id=None),
        )
    )
    assert h.state.executions["r1:1:2"].session_id == dev
    assert h.state.runs["r1"].root_execution_id == "r1:1:2"
    effects = call(h, dev, "r1:1:2", 0)
    assert h.state.executions["r1:3:1"].environment_id == "id-dev"
    assert ("r1:3:1", S.ASSIGNED) in states(effects)


def test_cancelling_a_run_whose_step_was_rerun_in_a_child_environment_cancels_the_rerun() -> None:
    h = Harness()
    h.setup(("production", None), ("dev", "production"))
    finished_run(h)
    dev, _ = h.connect("dev")
    h.apply(ev.RerunStep("r1:2", "dev", record(h, "r1:2", "r1:2:1", 1)))
    assert h.state.executions["r1:2:2"].session_id == dev
    # The run's first step finished long ago and is not in memory.
    effects = h.apply(ev.CancelRun("r1"))
    assert ("r1:2:2", S.CANCELLED) in states(effects)
    assert P.Abort("r1:2:2") in messages(effects, P.Abort)
    assert h.state.runs == {}


@pytest.mark.parametrize(
    ("setup", "environment", "error"),
    [
        ((("production", None), ("other", None)), "other", BadRequest),
        ((("production", None), ("dev", "production")), "nope", NotFound),
    ],
)
def test_rerun_outside_the_run_environment_ancestry_is_refused(
    setup: tuple[tuple[str, str | None], ...], environment: str, error: type
) -> None:
    h = Harness()
    h.setup(*setup)
    finished_run(h)
    h.refused(ev.RerunStep("r1:2", environment, record(h, "r1:2", "r1:2:1", 1)), error)


def test_rerun_of_a_running_step_or_in_a_paused_environment_is_refused() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    call(h, session, "r1:1:1", 0)
    h.refused(ev.RerunStep("r1:2", None, record(h, "r1:2", "r1:2:1", 1)), Conflict)
    h.refused(ev.RerunStep("r1:9", None, None), NotFound)
    h.complete(session, "r1:2:1")
    h.apply(ev.SetEnvironmentStatus("production", EnvironmentStatus.PAUSED))
    h.refused(ev.RerunStep("r1:2", None, record(h, "r1:2", "r1:2:1", 1)), Conflict)


# --- caching ------------------------------------------------------------------------

CACHE = P.CacheOptions()


def cached_call(
    h: Harness, session: str, parent: str, index: int, arg: object = "x", **extra: object
) -> list:  # type: ignore[type-arg]
    submit = submission(
        parent, index, arguments=(value(arg),), cache=extra.pop("cache", CACHE), **extra
    )
    return h.apply(ev.ScheduleStep(session, submit))


def test_a_cache_miss_asks_the_store_and_changes_nothing() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    submit = submission("r1:1:1", 0, request_id=1, cache=CACHE)
    error = h.refused(ev.ScheduleStep(session, submit), ev.LookupRequired)
    assert isinstance(error, ev.LookupRequired) and error.memo is None
    assert error.cache is not None and error.cache[1] == ("id-production",)
    effects = h.apply(ev.ScheduleStep(session, submit, lookups=ev.Lookups()))
    assert ("r1:2:1", S.ASSIGNED) in states(effects)


def test_concurrent_equal_calls_share_one_execution() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    h.apply(
        ev.ScheduleStep(
            session, submission("r1:1:1", 0, request_id=1, cache=CACHE), lookups=ev.Lookups()
        )
    )
    effects = cached_call(h, session, "r1:1:1", 1)  # found in memory: no look-up needed
    assert states(effects) == [("r1:3:1", S.QUEUED), ("r1:3:1", S.CACHED)]
    h.apply(
        ev.RequestResult(
            session, P.GetResult(request_id=5, execution_id="r1:3:1", from_execution_id="r1:1:1")
        )
    )
    effects = h.complete(session, "r1:2:1", "LOUD")
    outcome = P.Succeeded(value("LOUD"))
    # Both submissions (1 and 101) hear the shared execution's outcome, and the request (5).
    assert results(effects) == [
        P.ResultReady(1, "r1:2:1", outcome),
        P.ResultReady(5, "r1:2:1", outcome),
        P.ResultReady(101, "r1:2:1", outcome),
    ]
    assert OutcomeRecorded("r1:3:1", "r1", outcome, h.now) in effects


def test_a_cache_hit_from_the_store_is_cached_at_once() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    outcome = P.Succeeded(value("old"))
    submit = submission("r1:1:1", 0, request_id=1, cache=CACHE)
    lookups = ev.Lookups(cache=ev.CacheHit("r0:2:1", outcome))
    effects = h.apply(ev.ScheduleStep(session, submit, lookups=lookups))
    assert states(effects) == [("r1:2:1", S.QUEUED), ("r1:2:1", S.CACHED)]
    effects = h.apply(
        ev.RequestResult(
            session, P.GetResult(request_id=5, execution_id="r1:2:1", from_execution_id="r1:1:1")
        )
    )
    assert messages(effects, P.ResultReady)[0].outcome == outcome


def test_a_failed_execution_is_not_a_cache_hit() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect(concurrency=10)
    h.submit("r1")
    h.apply(
        ev.ScheduleStep(
            session, submission("r1:1:1", 0, request_id=1, cache=CACHE), lookups=ev.Lookups()
        )
    )
    fail(h, session, "r1:2:1")
    h.refused(
        ev.ScheduleStep(session, submission("r1:1:1", 1, request_id=2, cache=CACHE)),
        ev.LookupRequired,
    )


# --- memo ---------------------------------------------------------------------------


def test_an_equal_memoised_call_reuses_the_execution_without_a_new_step() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    first = submission("r1:1:1", 0, request_id=1, memo=(0,))
    h.apply(ev.ScheduleStep(session, first, lookups=ev.Lookups()))
    second = submission("r1:1:1", 1, request_id=2, memo=(0,))
    effects = h.apply(ev.ScheduleStep(session, second))
    assert messages(effects, P.Submitted) == [P.Submitted(2, "r1:2:1")]
    assert not [e for e in effects if isinstance(e, ExecutionCreated)]
    assert h.state.runs["r1"].step_count == 2


def test_a_memo_hit_found_in_the_store_is_reused() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    submit = submission("r1:1:1", 0, request_id=1, memo=(0,))
    error = h.refused(ev.ScheduleStep(session, submit), ev.LookupRequired)
    assert isinstance(error, ev.LookupRequired) and error.memo is not None and error.memo[0] == "r1"
    effects = h.apply(ev.ScheduleStep(session, submit, lookups=ev.Lookups(memo="r1:7:1")))
    assert messages(effects, P.Submitted) == [P.Submitted(1, "r1:7:1")]
    # It left memory, so it has finished: its outcome is read from the store for the caller.
    assert ReadOutcome(SessionWaiter(session, 1), "r1:7:1") in effects


def memoising_run(h: Harness) -> str:
    """A run of a workflow with ``memo=True``; returns the connected session."""
    workflow = P.TargetDefinition(
        name="memoised", type="workflow", options=P.TargetOptions(memo_calls=True)
    )
    h.apply(ev.RegisterManifests("production", (P.Manifest(repository="m", targets=(workflow,)),)))
    session, _ = h.connect(targets={"m": ("memoised",), "hello": ("shout",)})
    h.apply(ev.SubmitRun("r1", "production", "m", "memoised", ()))
    return session


def test_a_memoising_run_memoises_calls_that_do_not_set_memo() -> None:
    h = Harness()
    h.setup()
    session = memoising_run(h)
    first = submission("r1:1:1", 0, request_id=1)
    h.apply(ev.ScheduleStep(session, first, lookups=ev.Lookups()))
    effects = h.apply(ev.ScheduleStep(session, submission("r1:1:1", 1, request_id=2)))
    assert messages(effects, P.Submitted) == [P.Submitted(2, "r1:2:1")]
    assert h.state.runs["r1"].step_count == 2
    # What the step recorded carries the run's choice, so a restart keys it the same.
    options = h.state.executions["r1:2:1"].options
    assert (options.memo, options.memo_calls) == ((), True)


def test_memo_false_opts_a_call_out_of_its_runs_memo() -> None:
    h = Harness()
    h.setup()
    session = memoising_run(h)
    for index in range(2):
        submit = submission("r1:1:1", index, memo=False)
        h.apply(ev.ScheduleStep(session, submit, lookups=ev.Lookups()))
    assert h.state.runs["r1"].step_count == 3


def test_a_memoising_run_passes_its_memo_down_through_tasks_but_not_to_other_runs() -> None:
    h = Harness()
    h.setup()
    session = memoising_run(h)
    h.apply(ev.ScheduleStep(session, submission("r1:1:1", 0), lookups=ev.Lookups()))
    nested = submission("r1:2:1", 0, request_id=5, arguments=(value("y"),))
    h.apply(ev.ScheduleStep(session, nested, lookups=ev.Lookups()))
    assert h.state.executions["r1:3:1"].options.memo_calls is True
    spawn = submission("r1:1:1", 1, target="greet", type="workflow")
    h.apply(ev.ScheduleStep(session, spawn, new_run_id="r2", lookups=ev.Lookups()))
    # The call itself is memoised in r1; the run it starts follows its own workflow.
    assert h.state.executions["r1:4:1"].options.memo == ()
    assert h.state.executions[h.state.runs["r2"].root_execution_id].options.memo_calls is False


def test_a_plain_run_memoises_only_calls_that_ask() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    for index in range(2):
        h.apply(ev.ScheduleStep(session, submission("r1:1:1", index), lookups=ev.Lookups()))
    assert h.state.runs["r1"].step_count == 3
    assert h.state.executions["r1:2:1"].options.memo is None


# --- defer --------------------------------------------------------------------------


def test_a_newer_deferrable_call_replaces_a_queued_one_and_takes_its_waiters() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect(concurrency=1)  # the workflow takes the only slot
    h.submit("r1")
    ids = []
    for index in range(3):
        call(h, session, "r1:1:1", index, defer=P.DeferOptions(), delay=10)
        ids.append(f"r1:{index + 2}:1")
        h.apply(ev.AwaitOutcome(index, ids[-1]))
    assert [h.state.executions[i].state for i in ids] == [S.DEFERRED, S.DEFERRED, S.QUEUED]
    h.complete(session, "r1:1:1")
    h.now += 10
    effects = h.apply(ev.Tick())
    assert ("r1:4:1", S.ASSIGNED) in states(effects)
    effects = h.complete(session, "r1:4:1", "once")
    outcome = P.Succeeded(value("once"))
    assert sorted(e.token for e in effects if isinstance(e, Resolve)) == [0, 1, 2]
    recorded = {e.execution_id for e in effects if isinstance(e, OutcomeRecorded)}
    assert recorded == set(ids)
    assert all(e.outcome == outcome for e in effects if isinstance(e, Resolve))
    assert h.state.runs == {}


# --- suspension ---------------------------------------------------------------------


def test_a_suspended_execution_is_run_again_when_due_and_keeps_its_waiters() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    h.apply(ev.AwaitOutcome(1, "r1:1:1"))
    effects = h.apply(ev.CompleteExecution(session, "r1:1:1", P.Suspended(due_at=h.now + 30)))
    assert states(effects) == [("r1:1:1", S.SUSPENDED), ("r1:1:2", S.QUEUED)]
    assert messages(effects, P.Ack) == [P.Ack(("r1:1:1",))]
    h.now += 30
    assert ("r1:1:2", S.ASSIGNED) in states(h.apply(ev.Tick()))
    effects = h.complete(session, "r1:1:2", "resumed")
    assert Resolve(1, "r1:1:2", P.Succeeded(value("resumed"))) in effects


def test_suspense_resumes_once_the_awaited_result_exists() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    call(h, session, "r1:1:1", 0)
    effects = h.apply(ev.CompleteExecution(session, "r1:1:1", P.Suspended(waiting_for=("r1:2:1",))))
    assert ("r1:1:2", S.QUEUED) in states(effects) and ("r1:1:2", S.ASSIGNED) not in states(effects)
    effects = h.complete(session, "r1:2:1")
    assert ("r1:1:2", S.ASSIGNED) in states(effects)


# --- sensors ------------------------------------------------------------------------


def start_sensor(h: Harness) -> str:
    sensor = P.Manifest(
        repository="watch",
        targets=(
            P.TargetDefinition(
                name="poll", type="sensor", parameters=(P.Parameter(name="cursor"),)
            ),
        ),
    )
    h.apply(ev.RegisterManifests("production", (sensor,)))
    session, _ = h.connect(targets={"watch": ("poll",)})
    h.apply(ev.SubmitRun("s1", "production", "watch", "poll", (value(0),), None, "sensor"))
    return session


def test_a_sensor_restarts_with_its_last_checkpoint_when_it_ends() -> None:
    h = Harness()
    h.setup()
    session = start_sensor(h)
    h.apply(ev.RecordCheckpoint(session, "s1:1:1", (value(5),)))
    effects = h.complete(session, "s1:1:1")
    assert states(effects)[-1] == ("s1:1:2", S.ASSIGNED)
    (execute,) = messages(effects, P.Execute)
    assert execute.arguments == (value(5),)
    created = next(e for e in effects if isinstance(e, ExecutionCreated))
    assert created.arguments == (value(5),)


def test_a_failed_or_abandoned_sensor_restarts_after_a_pause() -> None:
    h = Harness(session_timeout=1)
    h.setup()
    session = start_sensor(h)
    fail(h, session, "s1:1:1")
    assert h.state.executions["s1:1:2"].due_at == h.now + 1.0
    h.now += 1.0
    assert ("s1:1:2", S.ASSIGNED) in states(h.apply(ev.Tick()))
    h.apply(ev.DisconnectSession(session, h.connections))
    h.now += 1.5
    effects = h.apply(ev.Tick())
    assert ("s1:1:2", S.ABANDONED) in states(effects)
    assert ("s1:1:3", S.QUEUED) in states(effects)
    assert "s1" in h.state.runs  # a sensor never ends by itself


def test_stopping_a_sensor_cancels_it_for_good() -> None:
    h = Harness()
    h.setup()
    start_sensor(h)
    effects = h.apply(ev.CancelRun("s1"))
    assert states(effects) == [("s1:1:1", S.CANCELLED)]
    assert h.state.runs == {}


def test_checkpoints_only_come_from_a_running_sensor() -> None:
    h = Harness()
    h.setup()
    session = start_sensor(h)
    h.refused(ev.RecordCheckpoint("other", "s1:1:1", ()), Conflict)
    h.submit("r1")
    h.refused(ev.RecordCheckpoint(session, "r1:1:1", ()), Conflict)


def test_a_result_older_than_the_max_age_is_not_a_cache_hit() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect(concurrency=10)
    h.submit("r1")
    aged = P.CacheOptions(max_age=60)
    first = submission("r1:1:1", 0, cache=aged)
    h.apply(ev.ScheduleStep(session, first, lookups=ev.Lookups()))
    h.complete(session, "r1:2:1")
    h.now += 30
    effects = h.apply(ev.ScheduleStep(session, submission("r1:1:1", 1, cache=aged)))
    assert ("r1:3:1", S.CACHED) in states(effects)  # 30 s old: a hit
    h.now += 31
    error = h.refused(
        ev.ScheduleStep(session, submission("r1:1:1", 2, cache=aged)), ev.LookupRequired
    )
    assert isinstance(error, ev.LookupRequired) and error.cache is not None
    assert error.cache[2] == h.now - 60  # the store is asked for results since then


# --- results of calls ------------------------------------------------------------------


def test_a_caller_hears_the_outcome_of_each_call_unasked() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    call(h, session, "r1:1:1", 0)
    call(h, session, "r1:1:1", 1)
    effects = h.complete(session, "r1:3:1", "second")
    # The submission's request id (101) carries the outcome; nobody asked for it.
    assert results(effects) == [P.ResultReady(101, "r1:3:1", P.Succeeded(value("second")))]
    effects = h.complete(session, "r1:2:1", "first")
    assert results(effects) == [P.ResultReady(100, "r1:2:1", P.Succeeded(value("first")))]


def test_a_call_that_reuses_a_finished_execution_gets_its_outcome_with_the_reply() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    h.apply(ev.ScheduleStep(session, submission("r1:1:1", 0, memo=(0,)), lookups=ev.Lookups()))
    h.complete(session, "r1:2:1", "done")
    effects = h.apply(ev.ScheduleStep(session, submission("r1:1:1", 1, memo=(0,))))
    replies = [e.message for e in effects if isinstance(e, Send)]
    assert replies == [
        P.Submitted(101, "r1:2:1"),  # first the id, then the outcome
        P.ResultReady(101, "r1:2:1", P.Succeeded(value("done"))),
    ]
