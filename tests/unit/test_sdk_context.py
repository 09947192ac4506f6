"""Calls inside an execution, through the execution context and a fake channel."""

from __future__ import annotations

import contextvars
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import coflux as cf
from coflux import protocol
from coflux.sdk import context
from coflux.serialization import deserialize, serialize

Reply = protocol.Submitted | protocol.ResultReady


class FakeReply:
    def __init__(self, message: Reply | None) -> None:
        self.message = message

    def wait(self, timeout: float | None) -> Reply | None:
        return self.message


class FakeChannel:
    """Answers each request with ``respond(message)`` (``None``: not yet)."""

    def __init__(self, respond: Callable[[Any], Reply | None]) -> None:
        self.respond = respond
        self.sent: list[Any] = []
        self.replies: list[FakeReply] = []

    def send(self, message: protocol.ExecutorMessage) -> None:
        self.sent.append(message)

    def request(self, make: Callable[[int], protocol.Submit | protocol.GetResult]) -> FakeReply:
        message = make(len(self.sent) + 1)
        self.sent.append(message)
        reply = FakeReply(self.respond(message))
        self.replies.append(reply)
        return reply

    def submit(self, make: Callable[[int], protocol.Submit]) -> tuple[FakeReply, FakeReply]:
        """Like the server: ``Submitted``, then the outcome unasked (if ``respond`` has one)."""
        message = make(len(self.sent) + 1)
        self.sent.append(message)
        submitted = self.respond(message)
        outcome = None
        if isinstance(submitted, protocol.Submitted) and submitted.execution_id is not None:
            ask = protocol.GetResult(message.request_id, submitted.execution_id, "E0")
            outcome = self.respond(ask)
        reply = FakeReply(outcome)
        self.replies.append(reply)
        return FakeReply(submitted), reply

    def of(self, kind: type[Any]) -> list[Any]:
        return [m for m in self.sent if isinstance(m, kind)]


def server(outcomes: dict[str, protocol.Outcome]) -> Callable[[Any], Reply | None]:
    """Submissions get ids C0, C1, ...; results come from ``outcomes``."""

    def respond(message: Any) -> Reply | None:
        if isinstance(message, protocol.Submit):
            return protocol.Submitted(
                request_id=message.request_id, execution_id=f"C{message.call_index}"
            )
        outcome = outcomes.get(message.execution_id)
        if outcome is None:
            return None
        return protocol.ResultReady(
            request_id=message.request_id, execution_id=message.execution_id, outcome=outcome
        )

    return respond


def succeeded(value: Any) -> protocol.Succeeded:
    return protocol.Succeeded(serialize(value))


@pytest.fixture
def run_in() -> Iterator[Callable[[FakeChannel], context.ExecutionContext]]:
    tokens: list[Any] = []

    def activate(channel: FakeChannel) -> context.ExecutionContext:
        ctx = context.ExecutionContext("E0", channel)
        tokens.append(context.activate(ctx))
        return ctx

    yield activate
    for token in reversed(tokens):
        context.reset(token)


@cf.task(retries=2)
def double(x: int, factor: int = 2) -> int:
    return x * factor


@cf.workflow
def pipeline(x: int) -> list[int]:
    first = double.submit(x)
    second = double.submit(x, factor=3)
    return [first.result(), second.result()]


@cf.sensor
def sensing() -> None: ...


def test_calls_become_submissions_and_results(run_in: Callable[[FakeChannel], Any]) -> None:
    channel = FakeChannel(server({"C0": succeeded(10), "C1": succeeded(15)}))
    run_in(channel)
    assert pipeline.fn(5) == [10, 15]

    submits = channel.of(protocol.Submit)
    assert [(s.call_index, s.target, s.type, s.parent_execution_id) for s in submits] == [
        (0, "double", "task", "E0"),
        (1, "double", "task", "E0"),
    ]
    assert submits[0].repository == __name__
    assert [[deserialize(v) for v in s.arguments] for s in submits] == [[5, 2], [5, 3]]
    assert submits[0].options.retries == protocol.RetryOptions(limit=2)
    # The outcomes of submitted calls come unasked: no GetResult.
    assert channel.of(protocol.GetResult) == []


def test_a_submission_refused_by_the_server_raises(run_in: Callable[[FakeChannel], Any]) -> None:
    error = protocol.ErrorInfo(type="builtins.LookupError", message="unknown target")
    channel = FakeChannel(lambda m: protocol.Submitted(request_id=m.request_id, error=error))
    run_in(channel)
    with pytest.raises(LookupError, match="unknown target"):
        double(1)


@pytest.mark.parametrize(
    ("outcome", "error", "match"),
    [
        (
            protocol.Failed(protocol.ErrorInfo("builtins.ValueError", "bad", "tb")),
            ValueError,
            "bad",
        ),
        (
            protocol.Failed(protocol.ErrorInfo("nowhere.Custom", "odd")),
            cf.RemoteError,
            "nowhere.Custom: odd",
        ),
        (protocol.Cancelled(), cf.ExecutionCancelled, "C0 was cancelled"),
        (protocol.Abandoned(), cf.ExecutionAbandoned, "C0 was abandoned"),
    ],
)
def test_unsuccessful_outcomes_raise(
    run_in: Callable[[FakeChannel], Any],
    outcome: protocol.Outcome,
    error: type[Exception],
    match: str,
) -> None:
    run_in(FakeChannel(server({"C0": outcome})))
    with pytest.raises(error, match=match) as raised:
        double(1)
    assert isinstance(raised.value, cf.ExecutionError) or hasattr(raised.value, "remote_traceback")


def test_poll_times_out_then_resumes_waiting_for_the_same_reply(
    run_in: Callable[[FakeChannel], Any],
) -> None:
    channel = FakeChannel(server({}))
    run_in(channel)
    handle = double.submit(1)
    assert handle.poll(0.01) is None  # not finished: the default
    assert handle.poll(default="pending") == "pending"
    channel.replies[-1].message = protocol.ResultReady(
        request_id=2, execution_id="C0", outcome=succeeded(2)
    )
    assert handle.poll(0.01) == 2
    assert handle.result() == 2
    assert channel.of(protocol.GetResult) == []


def test_cancel_asks_the_server(run_in: Callable[[FakeChannel], Any]) -> None:
    channel = FakeChannel(server({}))
    run_in(channel)
    double.submit(1).cancel()
    assert channel.of(protocol.CancelExecution) == [
        protocol.CancelExecution(execution_id="C0", from_execution_id="E0")
    ]


def test_handles_in_results_resolve_lazily_in_this_context(
    run_in: Callable[[FakeChannel], Any],
) -> None:
    inner = cf.Execution("X9")
    channel = FakeChannel(server({"C0": succeeded({"later": inner}), "X9": succeeded("done")}))
    run_in(channel)
    result = double(1)
    assert result["later"].id == "X9"
    assert channel.of(protocol.GetResult) == []
    # Not submitted here, so its result is asked for.
    assert result["later"].result() == "done"
    assert [(g.execution_id, g.from_execution_id) for g in channel.of(protocol.GetResult)] == [
        ("X9", "E0")
    ]


def test_handles_pass_as_arguments_and_unpickle_unbound(
    run_in: Callable[[FakeChannel], Any],
) -> None:
    channel = FakeChannel(server({"C0": succeeded(4)}))
    run_in(channel)
    handle = double.submit(2)
    double.submit(handle)
    assert channel.of(protocol.Submit)[1].arguments[0].executions == ("C0",)
    unpickled = pickle.loads(pickle.dumps(handle))
    assert unpickled == handle and unpickled.result() == 4


def test_unbound_handles_need_an_execution() -> None:
    with pytest.raises(RuntimeError, match="only possible inside a Coflux execution"):
        cf.Execution("X1").result()


def test_stubs_submit_to_their_repository(run_in: Callable[[FakeChannel], Any]) -> None:
    @cf.stub("elsewhere", name="remote_double", type="workflow")
    def remote(x: int) -> int: ...

    channel = FakeChannel(server({"C0": succeeded(8)}))
    run_in(channel)
    assert remote(4) == 8
    [submit] = channel.of(protocol.Submit)
    assert (submit.repository, submit.target, submit.type) == (
        "elsewhere",
        "remote_double",
        "workflow",
    )


def test_sensors_cannot_be_called_inside_an_execution(run_in: Callable[[FakeChannel], Any]) -> None:
    run_in(FakeChannel(server({})))
    with pytest.raises(TypeError, match="sensors start"):
        sensing()


def test_logs_carry_the_template_and_serialised_values(
    run_in: Callable[[FakeChannel], Any],
) -> None:
    channel = FakeChannel(server({}))
    run_in(channel)
    cf.log_warning("{n} items for {who}", n=3, who=("a", "b"))
    [message] = channel.of(protocol.LogMessage)
    entry = message.entry
    assert (entry.execution_id, entry.level, entry.template) == (
        "E0",
        "warning",
        "{n} items for {who}",
    )
    assert {k: deserialize(v) for k, v in entry.values.items()} == {"n": 3, "who": ("a", "b")}


def test_suspend_raises_a_suspension_due_later(run_in: Callable[[FakeChannel], Any]) -> None:
    run_in(FakeChannel(server({})))
    before = time.time()
    with pytest.raises(context.Suspension) as raised:
        cf.suspend(10)
    assert (
        raised.value.due_at is not None and before + 10 <= raised.value.due_at <= time.time() + 10
    )
    with pytest.raises(context.Suspension) as raised:
        cf.suspend()
    assert raised.value.due_at is None and raised.value.waiting_for == ()


def test_the_context_is_per_thread_unless_copied(run_in: Callable[[FakeChannel], Any]) -> None:
    ctx = run_in(FakeChannel(server({})))
    seen: dict[str, Any] = {}
    plain = threading.Thread(target=lambda: seen.update(plain=context.current()))
    copied_context = contextvars.copy_context()
    copied = threading.Thread(
        target=lambda: copied_context.run(lambda: seen.update(copied=context.current()))
    )
    for thread in (plain, copied):
        thread.start()
        thread.join()
    assert seen == {"plain": None, "copied": ctx}
