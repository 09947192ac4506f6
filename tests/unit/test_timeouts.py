"""Timeouts in the pure core: the agent reports ``TimedOut``, the core records a
``timed_out`` execution, cancels what it left unfinished, and retries it like a failure."""

from __future__ import annotations

from typing import Any

import msgspec

from coflux import protocol as P
from coflux.errors import Conflict
from coflux.orchestration import events as ev
from coflux.orchestration.effects import (
    Effect,
    EnvironmentRecorded,
    ExecutionCreated,
    OutcomeRecorded,
    Resolve,
)
from coflux.orchestration.recovery import restore
from coflux.orchestration.sessions import secret_digest
from coflux.orchestration.states import EnvironmentStatus, ExecutionState
from coflux.store.base import ActiveExecution, ActiveRun, Snapshot
from tests.unit.test_core import HELLO, Harness, messages, results, states, submission, value

S = ExecutionState
TIMED_OUT = P.TimedOut(timeout=2.0)


def call(h: Harness, session: str, parent: str, index: int, **options: Any) -> list[Effect]:
    return h.apply(ev.ScheduleStep(session, submission(parent, index, **options)))


def time_out(h: Harness, session: str, execution_id: str) -> list[Effect]:
    return h.apply(ev.CompleteExecution(session, execution_id, TIMED_OUT))


def ask(h: Harness, session: str, execution_id: str, request_id: int = 7) -> None:
    request = P.GetResult(request_id, execution_id, from_execution_id="r1:1:1")
    h.apply(ev.RequestResult(session, request))


def started() -> tuple[Harness, str]:
    """Run r1's workflow is running in the returned session."""
    h = Harness()
    h.setup()
    session, _ = h.connect(concurrency=3)
    h.submit("r1")
    return h, session


def test_the_agent_is_told_each_executions_timeout() -> None:
    h, session = started()
    effects = call(h, session, "r1:1:1", 0, timeout=2.5)
    (execute,) = messages(effects, P.Execute)
    assert (execute.execution_id, execute.timeout) == ("r1:2:1", 2.5)
    (execute,) = messages(call(h, session, "r1:1:1", 1), P.Execute)
    assert execute.timeout == 0  # no timeout: none sent


def test_a_timed_out_execution_ends_timed_out_and_its_waiters_get_the_timeout() -> None:
    h, session = started()
    call(h, session, "r1:1:1", 0, timeout=2)
    ask(h, session, "r1:2:1")
    effects = time_out(h, session, "r1:2:1")
    assert states(effects) == [("r1:2:1", S.TIMED_OUT)]
    assert OutcomeRecorded("r1:2:1", "r1", TIMED_OUT, h.now) in effects
    # The caller's submission (100) and its request (7) both hear it.
    assert results(effects) == [
        P.ResultReady(7, "r1:2:1", TIMED_OUT),
        P.ResultReady(100, "r1:2:1", TIMED_OUT),
    ]
    assert P.Ack(("r1:2:1",)) in messages(effects, P.Ack)
    # Its process is already stopped by the agent: nothing to abort.
    assert messages(effects, P.Abort) == []
    assert not [e for e in effects if isinstance(e, ExecutionCreated)]
    assert "r1:2:1" not in h.state.sessions[session].executions  # its slot is free


def test_a_timed_out_root_ends_its_run_with_the_timeout() -> None:
    h, session = started()
    h.apply(ev.AwaitOutcome(3, "r1:1:1"))
    effects = time_out(h, session, "r1:1:1")
    assert Resolve(3, "r1:1:1", TIMED_OUT) in effects
    assert h.state.runs == {}


def test_a_timed_out_executions_unfinished_children_are_cancelled() -> None:
    h, session = started()
    call(h, session, "r1:1:1", 0, timeout=2)  # r1:2:1, assigned
    call(h, session, "r1:2:1", 0)  # r1:3:1, assigned
    call(h, session, "r1:2:1", 1)  # r1:4:1, queued: the session is full
    call(h, session, "r1:3:1", 0)  # r1:5:1, a grandchild, queued
    h.complete(session, "r1:3:1", "done")  # finished before the timeout: it stays so
    assert h.state.executions["r1:4:1"].state is S.ASSIGNED
    h.apply(ev.AwaitOutcome(4, "r1:5:1"))
    effects = time_out(h, session, "r1:2:1")
    assert sorted(states(effects)) == [
        ("r1:2:1", S.TIMED_OUT),
        ("r1:4:1", S.CANCELLED),
        ("r1:5:1", S.CANCELLED),
    ]
    assert [m.execution_id for m in messages(effects, P.Abort)] == ["r1:4:1"]
    assert Resolve(4, "r1:5:1", P.Cancelled()) in effects
    assert h.state.executions["r1:3:1"].state is S.SUCCEEDED
    assert h.state.executions["r1:1:1"].state is S.ASSIGNED  # the caller carries on


def test_a_retry_waiting_for_its_turn_is_cancelled_with_its_timed_out_caller() -> None:
    h, session = started()
    call(h, session, "r1:1:1", 0, timeout=2)  # r1:2:1
    call(h, session, "r1:2:1", 0, retries=P.RetryOptions(limit=3, delay_min=60, delay_max=60))
    failed = P.Failed(P.ErrorInfo(type="builtins.ValueError", message="flaky"))
    h.apply(ev.CompleteExecution(session, "r1:3:1", failed))
    assert h.state.executions["r1:3:2"].state is S.QUEUED  # due in a minute
    effects = time_out(h, session, "r1:2:1")
    assert ("r1:3:2", S.CANCELLED) in states(effects)
    h.now += 60
    assert messages(h.apply(ev.Tick()), P.Execute) == []


def test_a_retry_policy_retries_a_timed_out_execution_each_with_its_own_window() -> None:
    h, session = started()
    retries = P.RetryOptions(limit=2, delay_min=1, delay_max=3)
    call(h, session, "r1:1:1", 0, timeout=2, retries=retries)
    effects = time_out(h, session, "r1:2:1")
    assert ("r1:2:1", S.TIMED_OUT) in states(effects)
    assert ("r1:2:2", S.QUEUED) in states(effects)
    assert results(effects) == []  # the caller waits for the final outcome
    assert h.state.executions["r1:2:2"].due_at == h.now + 1
    h.now += 1
    (execute,) = messages(h.apply(ev.Tick()), P.Execute)
    assert (execute.execution_id, execute.timeout) == ("r1:2:2", 2)
    time_out(h, session, "r1:2:2")
    h.now += 3
    (execute,) = messages(h.apply(ev.Tick()), P.Execute)
    assert (execute.execution_id, execute.timeout) == ("r1:2:3", 2)
    effects = time_out(h, session, "r1:2:3")
    assert not [e for e in effects if isinstance(e, ExecutionCreated)]
    assert results(effects) == [P.ResultReady(100, "r1:2:3", TIMED_OUT)]


def test_a_retried_timed_out_execution_can_still_succeed() -> None:
    h, session = started()
    call(h, session, "r1:1:1", 0, timeout=2, retries=P.RetryOptions(limit=1))
    time_out(h, session, "r1:2:1")
    effects = h.complete(session, "r1:2:2", "in time")
    assert results(effects) == [P.ResultReady(100, "r1:2:2", P.Succeeded(value("in time")))]


def test_a_timeout_reported_after_the_execution_ended_changes_nothing() -> None:
    h, session = started()
    call(h, session, "r1:1:1", 0, timeout=2)
    h.apply(ev.CancelExecution("r1:2:1"))
    effects = time_out(h, session, "r1:2:1")  # the deadline fired as the abort went out
    assert states(effects) == []
    assert messages(effects, P.Ack) == [P.Ack(("r1:2:1",))]
    assert h.state.executions["r1:2:1"].state is S.CANCELLED
    # And a completion after a timeout is only acknowledged too.
    call(h, session, "r1:1:1", 1, timeout=2)
    time_out(h, session, "r1:3:1")
    effects = h.complete(session, "r1:3:1", "late")
    assert messages(effects, P.Ack) == [P.Ack(("r1:3:1",))]
    assert states(effects) == []
    assert h.state.executions["r1:3:1"].outcome == TIMED_OUT


def test_only_the_session_running_an_execution_can_report_its_timeout() -> None:
    h, session = started()
    other, _ = h.connect(targets={"hello": ("greet",)})  # hosts no shout
    call(h, session, "r1:1:1", 0, timeout=2)
    assert h.state.executions["r1:2:1"].session_id == session
    h.refused(ev.CompleteExecution(other, "r1:2:1", TIMED_OUT), Conflict)


def test_after_a_restart_a_resumed_session_reports_a_timeout_that_is_retried() -> None:
    options = P.TargetOptions(timeout=2, retries=P.RetryOptions(limit=1))
    running = ActiveExecution(
        execution_id="r1:2:1", step_id="r1:2", run_id="r1", step_number=2, attempt=1,
        environment_id="id-production", state=S.ASSIGNED, session_id="s-old", created_at=0.0,
        due_at=0.0, repository="hello", target="shout", type="task", arguments=(value("x"),),
        options=options, parent_execution_id="r1:1:1", call_index=0,
    )  # fmt: skip
    root = msgspec.structs.replace(
        running, execution_id="r1:1:1", step_id="r1:1", step_number=1, target="greet",
        type="workflow", options=P.TargetOptions(), parent_execution_id=None, call_index=None,
    )  # fmt: skip
    snapshot = Snapshot(
        environments=[EnvironmentRecorded("id-production", "production", None, EnvironmentStatus.ACTIVE, 0.0)],
        manifests=[("id-production", HELLO)],
        runs=[ActiveRun("r1", "id-production", "r1:1:1", 2)],
        executions=[root, running],
        calls=[("r1:1:1", 0, "r1:2:1")],
        session_secrets={"s-old": secret_digest("secret-s-old")},
    )  # fmt: skip
    h = Harness()
    h.state = restore(snapshot, session_timeout=10.0, now=h.now)
    h.secrets["s-old"] = "secret-s-old"
    session, _ = h.connect(session_id="s-old", executing=("r1:1:1", "r1:2:1"))
    effects = time_out(h, session, "r1:2:1")
    assert ("r1:2:1", S.TIMED_OUT) in states(effects)
    (execute,) = messages(effects, P.Execute)
    assert (execute.execution_id, execute.timeout) == ("r1:2:2", 2)
