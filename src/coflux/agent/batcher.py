"""What the agent sends the server in batches: log entries and metrics.

The pool (``coflux.agent.pool``) adds the log entries and output lines of its
executions and the metrics their executors send; a batch goes out at the latest
``interval`` seconds after its first item (sooner once it is large), and whenever
the pool flushes it: before an execution's completion is sent, so that what the
execution logged and recorded reaches the server before its end. Metrics go as
messages of at most ``METRIC_BATCH`` points.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from coflux import protocol

__all__ = ["METRIC_BATCH", "Batcher", "metric_messages"]

METRIC_BATCH = 250
"""Metric points per ``Metrics`` message to the server: a frame of as many messages
as the connection packs (``protocol.MAX_FRAME_MESSAGES``) stays below the frame limit."""


class Batcher:
    """Collects log entries and metrics, and sends them as one ``Logs`` and a few
    ``Metrics`` per batch."""

    def __init__(self, send: Callable[[protocol.AgentMessage], None]) -> None:
        self._send = send
        self._entries: list[protocol.LogEntry] = []
        self._metrics: list[protocol.ExecutionMetrics] = []
        self._points = 0
        self._timer: asyncio.TimerHandle | None = None
        self.interval = 0.05
        self.limit = 100

    def add(self, entry: protocol.LogEntry) -> None:
        self._entries.append(entry)
        self._added(len(self._entries) >= self.limit)

    def add_metrics(self, batch: protocol.ExecutionMetrics) -> None:
        self._metrics.append(batch)
        self._points += sum(len(series.points) for series in batch.series)
        self._added(self._points >= 4 * METRIC_BATCH)

    def _added(self, full: bool) -> None:
        if full:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.interval, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._entries:
            # Output (read from pipes) and structured logs (sent on the socket) reach
            # the agent by two ways; a batch goes out in the order they were made.
            entries = tuple(sorted(self._entries, key=lambda e: e.timestamp))
            self._entries = []
            self._send(protocol.Logs(entries=entries))
        if self._metrics:
            batches, self._metrics, self._points = self._metrics, [], 0
            for message in metric_messages(batches, METRIC_BATCH):
                self._send(message)


def metric_messages(batches: list[protocol.ExecutionMetrics], limit: int) -> list[protocol.Metrics]:
    """``batches`` as ``Metrics`` messages of at most ``limit`` points each, in order.

    A series longer than a message's room is split across messages; a batch's
    definitions go with its first points (or alone, if it has none).
    """
    messages: list[protocol.Metrics] = []
    executions: list[protocol.ExecutionMetrics] = []  # of the message being filled
    room = limit
    for batch in batches:
        points = sum(len(whole.points) for whole in batch.series)
        if points <= room:  # the usual case: it fits as it is
            executions.append(batch)
            room -= points
            continue
        definitions = batch.definitions
        series: list[protocol.MetricSeries] = []
        for whole in batch.series:
            start, count = 0, len(whole.points)
            while start < count:
                if room == 0:
                    if definitions or series:
                        executions.append(
                            protocol.ExecutionMetrics(
                                batch.execution_id, definitions, tuple(series)
                            )
                        )
                    messages.append(protocol.Metrics(tuple(executions)))
                    executions, definitions, series, room = [], (), [], limit
                end = min(count, start + room)
                if start == 0 and end == count:
                    series.append(whole)
                else:
                    series.append(protocol.MetricSeries(whole.key, whole.points[start:end]))
                room -= end - start
                start = end
        if definitions or series:
            executions.append(
                protocol.ExecutionMetrics(batch.execution_id, definitions, tuple(series))
            )
    if executions:
        messages.append(protocol.Metrics(tuple(executions)))
    return messages
