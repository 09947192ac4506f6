"""Metrics of running executions, as the core keeps them: bounded and in order.

An agent's session sends its executions' metric definitions and points
(``protocol.ExecutionMetrics``). The SDK stays within the bounds of docs/metrics.md,
but the server does not rely on it: each execution's batch is cut here to

* definitions of keys it has not defined yet, up to ``MAX_METRIC_KEYS`` keys per
  execution (a key defined again keeps its first definition);
* points of keys it has defined, whose x (``at``) comes after the key's latest
  one, up to ``MAX_METRIC_POINTS`` points per execution;

and what is left is one ``MetricsRecorded`` fact. So a metric's points are in
strictly increasing x, which lets a client merge the API's pages with the live
feed: a point at or before the last it holds is one it has. Points resent after
a reconnect are dropped the same way.

Like log entries, batches of executions that are not in memory or do not run in
the sending session are dropped, not refused: nothing a session sends about
metrics can fail its other messages. The first time bounds cut an execution's
batch, a warning entry in its log says so (the SDK never sends past them: that
is another executor's doing).
"""

from __future__ import annotations

from coflux import protocol
from coflux.orchestration.effects import Effect, LogsRecorded, MetricsRecorded
from coflux.orchestration.events import RecordMetrics
from coflux.orchestration.model import Execution, MetricsState, ProjectState

DROPPED = (
    "coflux: metrics past this execution's bounds were dropped (at most"
    f" {protocol.MAX_METRIC_KEYS} metrics and {protocol.MAX_METRIC_POINTS} points)"
)


def record_metrics(
    state: ProjectState, event: RecordMetrics, now: float, effects: list[Effect]
) -> None:
    """Record what each execution in memory that runs in the session may keep."""
    for batch in event.executions:
        execution = state.executions.get(batch.execution_id)
        if execution is None or execution.session_id != event.session_id:
            continue
        kept = execution.metrics
        if kept is None:
            kept = execution.metrics = MetricsState()
        definitions, series, dropped = _within_bounds(kept, batch)
        if definitions or series:
            effects.append(
                MetricsRecorded(execution.id, execution.run_id, definitions, series, now)
            )
        if dropped and not kept.warned:
            kept.warned = True
            effects.append(_warning(execution, now))


def _within_bounds(
    kept: MetricsState, batch: protocol.ExecutionMetrics
) -> tuple[tuple[protocol.MetricDefinition, ...], tuple[protocol.MetricSeries, ...], bool]:
    """What of ``batch`` the execution may keep (``kept`` updated with it), and
    whether a bound cut something."""
    last_at = kept.last_at
    dropped = False
    definitions: list[protocol.MetricDefinition] = []
    for definition in batch.definitions:
        if definition.key in last_at:
            continue
        if len(last_at) >= protocol.MAX_METRIC_KEYS:
            dropped = True
            continue
        last_at[definition.key] = None
        definitions.append(definition)
    series: list[protocol.MetricSeries] = []
    for points in batch.series:
        if points.key not in last_at:
            dropped = dropped or bool(points.points)  # points of a metric never defined
            continue
        room = protocol.MAX_METRIC_POINTS - kept.points
        cut, latest, full = _in_order(points, last_at[points.key], room)
        dropped = dropped or full
        if cut.points:
            series.append(cut)
            last_at[points.key] = latest
            kept.points += len(cut.points)
    return tuple(definitions), tuple(series), dropped


def _in_order(
    points: protocol.MetricSeries, latest: float | None, room: int
) -> tuple[protocol.MetricSeries, float | None, bool]:
    """The points after ``latest`` in strictly increasing x, at most ``room`` of them;
    the new latest x, and whether ``room`` cut some."""
    kept: list[tuple[float, float]] = []
    full = False
    for point in points.points:
        at = point[1]
        if latest is not None and at <= latest:
            continue  # out of order, or sent again after a reconnect
        if len(kept) >= room:
            full = True
            break
        kept.append(point)
        latest = at
    if len(kept) == len(points.points):
        return points, latest, full  # all of it (the usual case): the record as it came
    return protocol.MetricSeries(points.key, tuple(kept)), latest, full


def _warning(execution: Execution, now: float) -> LogsRecorded:
    entry = protocol.LogEntry(
        execution_id=execution.id, timestamp=now, level="warning", template=DROPPED
    )
    return LogsRecorded((entry,), (execution.run_id,))
