"""Metrics through the agent: batched with log entries, split into messages of a
bounded size, and kept (bounded) while the connection is down."""

from __future__ import annotations

import asyncio

import pytest

from coflux import protocol
from coflux.agent import connection as connection_module
from coflux.agent.batcher import Batcher, metric_messages
from coflux.agent.connection import Connection
from tests.support.eventually import eventually_async
from tests.unit.test_connection import FakePool, FakeServer, server, settings

__all__ = ["server"]  # the fixture, used by name below

P = protocol
LOSS = P.MetricDefinition(key="loss")


def batch(
    execution_id: str, *series: tuple[str, int], definitions: tuple[P.MetricDefinition, ...] = ()
) -> P.ExecutionMetrics:
    """A batch with ``count`` points (x 0, 1, ...) of each ``(key, count)``."""
    return P.ExecutionMetrics(
        execution_id,
        definitions,
        tuple(
            P.MetricSeries(key, tuple((float(i), float(i)) for i in range(count)))
            for key, count in series
        ),
    )


def flattened(messages: list[P.Metrics]) -> list[tuple[str, str, tuple[float, float]]]:
    return [
        (b.execution_id, s.key, point)
        for m in messages
        for b in m.executions
        for s in b.series
        for point in s.points
    ]


def test_metrics_are_split_into_messages_of_at_most_the_limit_in_order() -> None:
    batches = [
        batch("a:1:1", ("loss", 7), ("acc", 2), definitions=(LOSS,)),
        batch("b:1:1", definitions=(LOSS,)),
        batch("c:1:1", ("loss", 4)),
    ]
    messages = metric_messages(batches, 3)
    counts = [sum(len(s.points) for b in m.executions for s in b.series) for m in messages]
    assert counts == [3, 3, 3, 3, 1]
    assert flattened(messages) == flattened([P.Metrics(tuple(batches))])
    # Definitions travel with their batch's first points, or before them.
    assert messages[0].executions[0].definitions == (LOSS,)
    defined = [
        (b.execution_id, d.key) for m in messages for b in m.executions for d in b.definitions
    ]
    assert defined == [("a:1:1", "loss"), ("b:1:1", "loss")]
    # Every message decodes on the server as it was sent.
    for message in messages:
        assert P.decode_agent_frame(P.encode_frame([message])) == [message]


def test_a_batch_within_the_limit_is_sent_as_it_is() -> None:
    one = batch("a:1:1", ("loss", 2), definitions=(LOSS,))
    (message,) = metric_messages([one, batch("b:1:1", ("loss", 1))], 250)
    assert message.executions[0] is one
    assert metric_messages([], 250) == []


async def test_metrics_go_with_the_logs_when_the_batch_is_flushed() -> None:
    sent: list[P.AgentMessage] = []
    batcher = Batcher(sent.append)
    entry = P.LogEntry(execution_id="a:1:1", timestamp=1.0, level="info", template="hi")
    batcher.add(entry)
    batcher.add_metrics(batch("a:1:1", ("loss", 1), definitions=(LOSS,)))
    assert sent == []  # within the interval: nothing yet
    batcher.flush()
    assert sent == [
        P.Logs((entry,)),
        P.Metrics((batch("a:1:1", ("loss", 1), definitions=(LOSS,)),)),
    ]
    batcher.add_metrics(batch("a:1:1", ("loss", 1)))
    await eventually_async(lambda: len(sent) == 3)  # the interval's timer sends it too


async def test_metrics_sent_while_disconnected_are_kept_with_their_definitions(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection_module, "METRIC_BUFFER_LIMIT", 5)
    connection = Connection(settings(server.port))
    first = P.Metrics((batch("a:1:1", ("loss", 4), definitions=(LOSS,)),))
    second = P.Metrics((batch("a:1:1", ("loss", 3)),))
    connection.send(first)
    connection.send(second)  # 7 points: the oldest message's points go, its definition stays
    task = asyncio.create_task(connection.run(FakePool()))
    try:
        await eventually_async(server.connected(1))
        session = server.sessions[0]
        kept = P.Metrics((P.ExecutionMetrics("a:1:1", (LOSS,)),))
        await eventually_async(lambda: session.received == [kept, second])
    finally:
        await connection.close()
        await asyncio.wait_for(task, 5)
