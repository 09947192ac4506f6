"""``cf.select`` and ``cf.cancel``: the first of several executions to finish wins, the
others can be cancelled with it; in the core, each cancel ends one call and its own."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import coflux as cf
from coflux import protocol as P
from coflux.orchestration import events as ev
from coflux.orchestration.states import ExecutionState
from coflux.sdk import context
from coflux.serialization import serialize
from tests.unit.test_core import Harness, messages, results, states, submission

S = ExecutionState
Reply = P.Submitted | P.ResultReady


class SettlingReply:
    """A reply that arrives when the test says so (``settle``), as the executor's do."""

    def __init__(self, message: Reply | None = None) -> None:
        self._arrived = threading.Event()
        self._lock = threading.Lock()
        self._watchers: list[Callable[[], None]] = []
        self.message: Reply | None = None
        if message is not None:
            self.settle(message)

    def settle(self, message: Reply) -> None:
        with self._lock:
            self.message = message
            self._arrived.set()
            watchers, self._watchers = self._watchers, []
        for callback in watchers:
            callback()

    def wait(self, timeout: float | None) -> Reply | None:
        self._arrived.wait(timeout)
        return self.message

    def when_settled(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if self.message is None:
                self._watchers.append(callback)
                return
        callback()


class RacingChannel:
    """Submissions get ids C0, C1, ...; their outcomes arrive when ``finish`` says."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.outcomes: dict[str, SettlingReply] = {}
        self.blocked_waits = 0

    def send(self, message: P.ExecutorMessage) -> None:
        self.sent.append(message)

    def request(self, make: Callable[[int], Any]) -> SettlingReply:
        raise AssertionError(f"unexpected request {make(0)!r}")  # outcomes come unasked

    def submit(self, make: Callable[[int], P.Submit]) -> tuple[SettlingReply, SettlingReply]:
        message = make(len(self.sent) + 1)
        self.sent.append(message)
        execution_id = f"C{message.call_index}"
        self.outcomes[execution_id] = SettlingReply()
        return SettlingReply(P.Submitted(message.request_id, execution_id)), self.outcomes[
            execution_id
        ]

    def blocked_while(self, wait: Callable[[], bool]) -> bool:
        self.blocked_waits += 1
        return wait()

    def finish(self, execution_id: str, outcome: P.Outcome) -> None:
        self.outcomes[execution_id].settle(P.ResultReady(0, execution_id, outcome))

    def cancelled(self) -> list[str]:
        return [m.execution_id for m in self.sent if isinstance(m, P.CancelExecution)]


@pytest.fixture
def channel() -> Iterator[RacingChannel]:
    racing = RacingChannel()
    token = context.activate(context.ExecutionContext("E0", racing))
    yield racing
    context.reset(token)


@cf.task()
def source(name: str) -> str:
    return name


def succeeded(value: Any) -> P.Succeeded:
    return P.Succeeded(serialize(value))


def test_the_first_to_finish_wins_and_the_others_remain_in_order(channel: RacingChannel) -> None:
    handles = [source.submit(n) for n in ("a", "b", "c")]
    channel.finish("C1", succeeded("b"))
    winner, remaining = cf.select(handles)
    assert winner is handles[1]
    assert remaining == [handles[0], handles[2]]
    assert winner.result() == "b"  # no other round trip: its reply is kept
    assert channel.cancelled() == []  # the others keep running


def test_a_select_waits_for_an_outcome_that_arrives_later(channel: RacingChannel) -> None:
    handles = [source.submit(n) for n in ("a", "b")]
    chosen: list[cf.Execution[str]] = []
    copied = contextvars.copy_context()  # the thread runs in this execution's context
    waiting = threading.Thread(
        target=copied.run, args=(lambda: chosen.append(cf.select(handles)[0]),)
    )
    waiting.start()
    channel.finish("C1", succeeded("b"))
    waiting.join(10)
    assert chosen == [handles[1]]


def test_several_finished_the_earliest_given_wins(channel: RacingChannel) -> None:
    handles = [source.submit(n) for n in ("a", "b", "c")]
    channel.finish("C2", succeeded("c"))
    channel.finish("C1", succeeded("b"))
    assert cf.select(handles)[0] is handles[1]


def test_a_failure_wins_too_and_raises_from_result(channel: RacingChannel) -> None:
    handles = [source.submit(n) for n in ("a", "b")]
    channel.finish("C0", P.TimedOut(timeout=1))
    winner, _ = cf.select(handles)
    with pytest.raises(cf.ExecutionTimeout):
        winner.result()


def test_cancel_remaining_cancels_the_losers_only(channel: RacingChannel) -> None:
    handles = [source.submit(n) for n in ("slow", "fast", "slower")]
    channel.finish("C1", succeeded("fast"))
    winner, remaining = cf.select(handles, cancel_remaining=True)
    assert winner.result() == "fast"
    assert channel.cancelled() == ["C0", "C2"]
    assert remaining == [handles[0], handles[2]]


def test_nothing_finished_within_the_timeout_raises_timeout_error(channel: RacingChannel) -> None:
    handles = [source.submit(n) for n in ("a", "b")]
    with pytest.raises(TimeoutError) as raised:
        cf.select(handles, timeout=0.01, cancel_remaining=True)
    assert type(raised.value) is TimeoutError  # a wait that ran out, not an ExecutionTimeout
    assert channel.cancelled() == []


def test_inside_suspense_select_takes_its_limit_and_raises_rather_than_suspends(
    channel: RacingChannel,
) -> None:
    handles = [source.submit(n) for n in ("a", "b")]
    with pytest.raises(TimeoutError), cf.suspense(timeout=0.01):
        cf.select(handles)


def test_a_long_select_reports_the_execution_blocked(channel: RacingChannel) -> None:
    handles = [source.submit(n) for n in ("a", "b")]
    with pytest.raises(TimeoutError):
        cf.select(handles, timeout=0.01)
    assert channel.blocked_waits == 1


def test_select_needs_an_execution(channel: RacingChannel) -> None:
    with pytest.raises(ValueError, match="at least one"):
        cf.select([])


def test_outside_an_execution_select_takes_the_first_resolved_handle() -> None:
    handles = [source.submit("a"), source.submit("b")]
    winner, remaining = cf.select(handles)
    assert (winner.result(), [h.result() for h in remaining]) == ("a", ["b"])


def test_cancel_asks_for_each_execution(channel: RacingChannel) -> None:
    handles = [source.submit(n) for n in ("a", "b", "c")]
    cf.cancel(handles[1:])
    assert channel.cancelled() == ["C1", "C2"]
    cf.cancel([])
    assert channel.cancelled() == ["C1", "C2"]


# --- in the core: cancellation of several calls ---------------------------------------


def test_an_execution_cancels_several_of_its_calls_and_carries_on() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect(concurrency=2)
    h.submit("r1")
    for index in range(3):
        h.call(session, "r1:1:1", index)  # r1:2:1 runs; r1:3:1 and r1:4:1 are queued
    h.complete(session, "r1:2:1", "winner")  # r1:3:1 takes its place
    effects = [
        effect
        for execution_id in ("r1:3:1", "r1:4:1")
        for effect in h.apply(ev.CancelExecution(execution_id, session, "r1:1:1"))
    ]
    cancelled = [(e, state) for e, state in states(effects) if state is S.CANCELLED]
    assert cancelled == [("r1:3:1", S.CANCELLED), ("r1:4:1", S.CANCELLED)]
    assert P.Abort("r1:3:1") in messages(effects, P.Abort)  # it was running
    assert results(effects) == [
        P.ResultReady(101, "r1:3:1", P.Cancelled()),
        P.ResultReady(102, "r1:4:1", P.Cancelled()),
    ]
    assert h.state.executions["r1:2:1"].state is S.SUCCEEDED
    assert h.state.executions["r1:1:1"].state is S.ASSIGNED
    # Cancelling one that already finished changes nothing.
    assert states(h.apply(ev.CancelExecution("r1:2:1", session, "r1:1:1"))) == []


def test_cancelling_a_caller_of_the_same_memoised_call_twice_cancels_it_once() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    first = submission("r1:1:1", 0, request_id=1, memo=(0,))
    h.apply(ev.ScheduleStep(session, first, lookups=ev.Lookups()))
    h.apply(ev.ScheduleStep(session, submission("r1:1:1", 1, request_id=2, memo=(0,))))
    effects = h.apply(ev.CancelRun("r1"))  # r1:2:1 is both of its calls
    assert sorted(states(effects)) == [("r1:1:1", S.CANCELLED), ("r1:2:1", S.CANCELLED)]
