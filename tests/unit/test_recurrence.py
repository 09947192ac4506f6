"""Recurrence in the pure core: a ``recurrent`` step that returns ``None`` runs again
(after its ``delay``) as its next attempt; a value, a final failure or a cancellation
ends it."""

from __future__ import annotations

from coflux import protocol as P
from coflux.orchestration import events as ev
from coflux.orchestration.effects import Effect, EnvironmentRecorded, ExecutionCreated, Resolve
from coflux.orchestration.recovery import restore
from coflux.orchestration.sessions import secret_digest
from coflux.orchestration.states import EnvironmentStatus, ExecutionState
from coflux.store.base import ActiveExecution, ActiveRun, Snapshot
from tests.unit.test_core import Harness, messages, results, states, submission, value

S = ExecutionState
FAILED = P.Failed(P.ErrorInfo(type="builtins.ValueError", message="flaky"))


def loops(**options: object) -> P.Manifest:
    """Repository ``loops``: a workflow ``poll`` with ``options``, and a task ``step``."""
    return P.Manifest(
        repository="loops",
        targets=(
            P.TargetDefinition(
                name="poll",
                type="workflow",
                options=P.TargetOptions(**options),  # type: ignore[arg-type]
            ),
            P.TargetDefinition(name="step", type="task"),
        ),
    )


def polling(**options: object) -> tuple[Harness, str]:
    """Run r1 of ``loops.poll`` (with ``options``), its first attempt running (after its
    ``delay``, which the first run waits too), awaited with token 1."""
    h = Harness()
    h.setup()
    h.apply(ev.RegisterManifests("production", (loops(recurrent=True, **options),)))
    session, _ = h.connect(targets={"hello": ("greet", "shout"), "loops": ("poll", "step")})
    h.apply(ev.SubmitRun("r1", "production", "loops", "poll", ()))
    h.apply(ev.AwaitOutcome(1, "r1:1:1"))
    h.now += float(options.get("delay", 0))  # type: ignore[arg-type]
    h.apply(ev.Tick())
    assert h.state.executions["r1:1:1"].state is S.ASSIGNED
    return h, session


def created(effects: list[Effect]) -> list[str]:
    return [e.execution_id for e in effects if isinstance(e, ExecutionCreated)]


def test_returning_none_runs_the_step_again_after_its_delay() -> None:
    h, session = polling(delay=30)
    effects = h.complete(session, "r1:1:1", None)
    assert ("r1:1:1", S.SUCCEEDED) in states(effects)
    assert created(effects) == ["r1:1:2"]
    assert [e for e in effects if isinstance(e, Resolve)] == []  # the waiter waits on
    assert h.state.executions["r1:1:2"].due_at == h.now + 30
    assert h.state.runs["r1"].root_execution_id == "r1:1:2"
    h.now += 29
    assert messages(h.apply(ev.Tick()), P.Execute) == []
    h.now += 1
    assert [m.execution_id for m in messages(h.apply(ev.Tick()), P.Execute)] == ["r1:1:2"]


def test_without_a_delay_the_next_run_is_due_at_once() -> None:
    h, session = polling()
    effects = h.complete(session, "r1:1:1", None)
    assert [m.execution_id for m in messages(effects, P.Execute)] == ["r1:1:2"]


def test_a_value_other_than_none_ends_the_recurrence_and_is_the_result() -> None:
    h, session = polling()
    h.complete(session, "r1:1:1", None)
    h.complete(session, "r1:1:2", None)
    effects = h.complete(session, "r1:1:3", {"found": 3})
    assert created(effects) == []
    assert Resolve(1, "r1:1:3", P.Succeeded(value({"found": 3}))) in effects
    assert h.state.runs == {}


def test_falsy_values_are_values() -> None:
    falsy: tuple[object, ...] = (0, "", [], False)
    for result in falsy:
        h, session = polling()
        effects = h.complete(session, "r1:1:1", result)
        assert created(effects) == []
        assert Resolve(1, "r1:1:1", P.Succeeded(value(result))) in effects


def test_a_step_that_is_not_recurrent_ends_with_none() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    h.call(session, "r1:1:1", 0)
    effects = h.complete(session, "r1:2:1", None)
    assert created(effects) == []
    assert results(effects) == [P.ResultReady(100, "r1:2:1", P.Succeeded(value(None)))]


def test_a_failure_without_retries_ends_the_recurrence() -> None:
    h, session = polling()
    h.complete(session, "r1:1:1", None)
    effects = h.apply(ev.CompleteExecution(session, "r1:1:2", FAILED))
    assert created(effects) == []
    assert Resolve(1, "r1:1:2", FAILED) in effects


def test_a_failure_is_retried_first_however_many_times_the_step_recurred() -> None:
    h, session = polling(retries=P.RetryOptions(limit=1, delay_min=5, delay_max=5), delay=60)
    for attempt in (1, 2, 3):  # recurrences use attempt numbers, not the retry budget
        h.complete(session, f"r1:1:{attempt}", None)
        h.now += 60
        h.apply(ev.Tick())
    effects = h.apply(ev.CompleteExecution(session, "r1:1:4", FAILED))
    assert created(effects) == ["r1:1:5"]
    assert h.state.executions["r1:1:5"].due_at == h.now + 5  # the retry's delay
    h.now += 5
    h.apply(ev.Tick())
    effects = h.complete(session, "r1:1:5", None)  # the retry succeeded: recur again
    assert created(effects) == ["r1:1:6"]
    assert h.state.executions["r1:1:6"].due_at == h.now + 60
    h.now += 60
    h.apply(ev.Tick())
    h.apply(ev.CompleteExecution(session, "r1:1:6", FAILED))  # its own retry budget
    h.now += 5
    h.apply(ev.Tick())
    effects = h.apply(ev.CompleteExecution(session, "r1:1:7", FAILED))  # budget spent
    assert created(effects) == []
    assert Resolve(1, "r1:1:7", FAILED) in effects


def test_a_timeout_ends_the_recurrence_like_a_failure() -> None:
    h, session = polling(timeout=5)
    h.complete(session, "r1:1:1", None)
    effects = h.apply(ev.CompleteExecution(session, "r1:1:2", P.TimedOut(timeout=5)))
    assert created(effects) == []
    assert Resolve(1, "r1:1:2", P.TimedOut(timeout=5)) in effects


def test_cancelling_the_run_between_two_runs_ends_the_recurrence() -> None:
    h, session = polling(delay=30)
    h.complete(session, "r1:1:1", None)
    effects = h.apply(ev.CancelRun("r1"))
    assert states(effects) == [("r1:1:2", S.CANCELLED)]
    assert Resolve(1, "r1:1:2", P.Cancelled()) in effects
    assert h.state.runs == {}


def test_cancelling_a_running_recurrence_aborts_it_and_nothing_follows() -> None:
    h, session = polling()
    h.complete(session, "r1:1:1", None)
    effects = h.apply(ev.CancelRun("r1"))
    assert messages(effects, P.Abort) == [P.Abort("r1:1:2")]
    assert created(effects) == []


def test_a_recurrent_task_is_cancelled_through_the_handle_its_caller_holds() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    h.apply(ev.ScheduleStep(session, submission("r1:1:1", 0, recurrent=True, delay=10)))
    h.now += 10
    h.apply(ev.Tick())
    effects = h.complete(session, "r1:2:1", None)
    assert results(effects) == []  # the caller hears only the final value
    # The caller's handle names the first attempt: cancelling it stops the recurrence.
    effects = h.apply(ev.CancelExecution("r1:2:1", session, "r1:1:1"))
    assert states(effects) == [("r1:2:2", S.CANCELLED)]
    assert results(effects) == [P.ResultReady(100, "r1:2:2", P.Cancelled())]
    assert h.state.executions["r1:1:1"].state is S.ASSIGNED


def test_a_resumed_suspension_is_not_a_failure_either() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    h.apply(ev.ScheduleStep(session, submission("r1:1:1", 0, retries=P.RetryOptions(limit=1))))
    h.apply(ev.CompleteExecution(session, "r1:2:1", P.Suspended()))
    h.apply(ev.CompleteExecution(session, "r1:2:2", FAILED))
    effects = h.apply(ev.CompleteExecution(session, "r1:2:3", FAILED))  # the one retry
    assert created(effects) == []
    assert results(effects) == [P.ResultReady(100, "r1:2:3", FAILED)]


def test_after_a_restart_a_recurrent_steps_failure_is_still_retried() -> None:
    """Only the unfinished attempt is restored: the three runs before it are not in
    memory, and must not count as failures."""
    options = P.TargetOptions(recurrent=True, retries=P.RetryOptions(limit=1))
    running = ActiveExecution(
        execution_id="r1:1:4", step_id="r1:1", run_id="r1", step_number=1, attempt=4,
        environment_id="id-production", state=S.ASSIGNED, session_id="s-old", created_at=0.0,
        due_at=0.0, repository="loops", target="poll", type="workflow", arguments=(),
        options=options, parent_execution_id=None, call_index=None,
    )  # fmt: skip
    snapshot = Snapshot(
        environments=[EnvironmentRecorded("id-production", "production", None, EnvironmentStatus.ACTIVE, 0.0)],
        manifests=[("id-production", loops(recurrent=True))],
        runs=[ActiveRun("r1", "id-production", "r1:1:4", 1)],
        executions=[running],
        calls=[],
        session_secrets={"s-old": secret_digest("secret-s-old")},
    )  # fmt: skip
    h = Harness()
    h.state = restore(snapshot, session_timeout=10.0, now=h.now)
    h.secrets["s-old"] = "secret-s-old"
    session, _ = h.connect(session_id="s-old", executing=("r1:1:4",), targets={"loops": ("poll",)})
    effects = h.apply(ev.CompleteExecution(session, "r1:1:4", FAILED))
    assert created(effects) == ["r1:1:5"]
