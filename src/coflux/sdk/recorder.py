"""What one execution records of its metrics, and how the points leave its process.

The execution's context makes one ``MetricRecorder`` when a metric is first
recorded; the executor closes it when the execution ends. ``record`` touches
memory only, so a task can record in a tight loop (1 to 2 µs a point,
``bench/metrics.py``): a background thread sends what accumulated
every ``FLUSH_INTERVAL`` seconds as one ``protocol.Metrics``, and ``close`` sends
the rest before the execution's completion, so its points reach the server first.

Per metric, in this order (docs/metrics.md):

* its x: ``at`` as given, or seconds since the execution started. A metric keeps
  the kind its first point had; a point of the other kind takes the time instead
  (and the metric from then on), with one warning, as upstream Coflux does;
* its order: a point whose x is not after the metric's previous one is dropped,
  with one warning per metric;
* its rate (``throttle`` points per second, 10 by default; None: every point): a
  point is sent at once if the metric sent none in the last window, else it waits
  for the window's end, replaced by any later one. The latest point of a window is
  always sent, however the execution ends, so a metric's final value is never lost;
* the execution's bounds: defining more than ``MAX_METRIC_KEYS`` metrics raises
  ``ValueError`` in the task; points past ``MAX_METRIC_POINTS`` are dropped, with
  one warning, since a metric should not fail the work it observes.

Warnings are the execution's log entries. The clock is passed in, so the rules
are tested without time passing.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

from coflux import protocol

__all__ = ["FLUSH_INTERVAL", "MetricRecorder"]

FLUSH_INTERVAL = 0.1
"""Seconds between the batches a recording execution sends."""

_NEVER = float("-inf")


class _Series:
    """One metric of the execution: its rules' state and its points not sent yet."""

    __slots__ = (
        "auto",
        "definition",
        "last_at",
        "points",
        "sent_at",
        "trailing",
        "warned",
        "window",
    )

    def __init__(self, definition: protocol.MetricDefinition) -> None:
        self.definition = definition
        self.window = 1.0 / definition.throttle if definition.throttle else 0.0
        self.auto: bool | None = None  # its x is the time (None: no point yet)
        self.last_at: float | None = None
        self.sent_at = _NEVER  # when its last point was sent (by its window's rule)
        self.trailing: tuple[float, float] | None = None  # (value, x) waiting for its window
        self.points: list[tuple[float, float]] = []  # (value, x), not sent yet
        self.warned = False


class MetricRecorder:
    """One execution's metrics (see the module docstring).

    Args:
        execution_id: the execution.
        send: sends a message to the agent (the execution's channel).
        warn: writes a warning to the execution's log.
        clock: seconds, monotonic; the execution started at ``started``.
        background: send batches from a thread of its own (False: only when
            ``flush`` is called, for tests).
    """

    def __init__(
        self,
        execution_id: str,
        send: Callable[[protocol.Metrics], None],
        warn: Callable[[str], None],
        *,
        started: float,
        clock: Callable[[], float] = time.perf_counter,
        background: bool = True,
    ) -> None:
        self._execution_id = execution_id
        self._send = send
        self._warn = warn
        self._clock = clock
        self._started = started
        self._lock = threading.Lock()  # the state below; user threads record too
        self._sending = threading.Lock()  # one batch at a time, so they leave in order
        self._series: dict[str, _Series] = {}
        self._groups: dict[str, protocol.MetricGroupInfo] = {}
        self._scales: dict[str, protocol.MetricScaleInfo] = {}
        self._definitions: list[protocol.MetricDefinition] = []  # not sent yet
        self._points = 0  # accepted (sent or to be sent), against MAX_METRIC_POINTS
        self._full = False
        self._warnings: list[str] = []  # said after the lock is released
        self._closed = False
        self._due = False  # something waits to be sent (the thread is woken)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name="coflux-metrics", daemon=True)
            self._thread.start()

    def record(self, definition: protocol.MetricDefinition, value: float, at: float | None) -> None:
        """Record a point of the metric ``definition`` describes (``value`` and ``at``
        already checked finite); ``at`` None: the time since the execution started.

        Raises:
            ValueError: the metric's key is defined with another group, scale or
                throttle in this execution (or its group or scale is, by name), or
                it would be one metric more than an execution may define.
        """
        # One function for the rules (with ``_emit``), not one each: it runs for every
        # point a task records, and calls are most of what a point costs.
        now = self._clock()
        with self._lock:
            if self._closed:
                return
            series = self._series.get(definition.key)
            if series is None or series.definition is not definition:
                series = self._define(definition)
            # The point's x: its ``at``, or the time (for good once a metric mixes them).
            if at is None:
                if series.auto is not True:
                    if series.auto is False:
                        self._mixed(series)
                    series.auto = True
                x = now - self._started
            elif series.auto is None:
                series.auto = False
                x = at
            elif series.auto:
                self._mixed(series)
                x = now - self._started
            else:
                x = at
            last = series.last_at
            if last is not None and x <= last:
                self._once(series, f"metric {definition.key!r}: a point at {x:g} is not after"
                           f" the previous one ({last:g}); dropped")  # fmt: skip
            else:
                series.last_at = x
                window = series.window
                if not window:
                    self._emit(series, value, x)
                elif now - series.sent_at >= window:
                    if series.trailing is not None:
                        # The point the last window kept is due (the thread is late): it
                        # goes first, and this one waits for the window starting now.
                        self._emit(series, *series.trailing)
                        series.trailing = (value, x)
                    else:
                        self._emit(series, value, x)
                    series.sent_at = now
                else:
                    series.trailing = (value, x)
                    if not self._due:
                        self._schedule()
        if self._warnings:
            self._say()

    def _mixed(self, series: _Series) -> None:
        key = series.definition.key
        self._once(series, f"metric {key!r} mixes points with and without at=; it uses the"
                   " time since the execution started from now on")  # fmt: skip

    def _define(self, definition: protocol.MetricDefinition) -> _Series:
        key = definition.key
        existing = self._series.get(key)
        if existing is not None:
            if existing.definition != definition:
                raise ValueError(
                    f"metric {key!r} is already defined in this execution with another"
                    " group, scale or throttle"
                )
            return existing
        group, scale = definition.group, definition.scale
        if group is not None and self._groups.get(group.name, group) != group:
            raise ValueError(
                f"metric group {group.name!r} is already defined in this execution"
                " with other units or bounds"
            )
        scale_name = scale.name if scale is not None else None
        if scale_name is not None and self._scales.get(scale_name, scale) != scale:
            raise ValueError(
                f"metric scale {scale_name!r} is already defined in this execution"
                " with other units, bounds or progress"
            )
        if len(self._series) >= protocol.MAX_METRIC_KEYS:
            raise ValueError(
                f"metric {key!r}: an execution may define at most {protocol.MAX_METRIC_KEYS}"
                " metrics (docs/metrics.md)"
            )
        if group is not None:
            self._groups[group.name] = group
        if scale is not None and scale_name is not None:
            self._scales[scale_name] = scale
        series = self._series[key] = _Series(definition)
        self._definitions.append(definition)
        self._schedule()
        return series

    def _emit(self, series: _Series, value: float, x: float) -> None:
        if self._points < protocol.MAX_METRIC_POINTS:
            self._points += 1
            series.points.append((value, x))
            if not self._due:
                self._schedule()
        elif not self._full:
            self._full = True
            self._warnings.append(
                f"an execution may record at most {protocol.MAX_METRIC_POINTS} metric"
                " points (docs/metrics.md); later ones are dropped"
            )

    def _once(self, series: _Series, warning: str) -> None:
        if not series.warned:
            series.warned = True
            self._warnings.append(warning)

    def _schedule(self) -> None:
        if not self._due:
            self._due = True
            self._wake.set()

    def _say(self) -> None:
        with self._lock:
            warnings, self._warnings = self._warnings, []
        for warning in warnings:
            self._warn(warning)

    # --- sending -----------------------------------------------------------------

    def flush(self, *, final: bool = False) -> None:
        """Send what is due: new definitions, points, and the points windows kept
        whose window has ended (``final``: all of them)."""
        with self._sending:
            with self._lock:
                batch = self._take(final)
            if batch is not None:
                with contextlib.suppress(OSError):  # the agent is gone: nobody to tell
                    self._send(protocol.Metrics(executions=(batch,)))
        if self._warnings:
            self._say()

    def _take(self, final: bool) -> protocol.ExecutionMetrics | None:
        now = self._clock()
        waiting = False
        series: list[protocol.MetricSeries] = []
        for one in self._series.values():
            if one.trailing is not None:
                if final or now - one.sent_at >= one.window:
                    self._emit(one, *one.trailing)
                    one.trailing = None
                    one.sent_at = now
                else:
                    waiting = True
            if one.points:
                series.append(protocol.MetricSeries(one.definition.key, tuple(one.points)))
                one.points = []
        definitions, self._definitions = tuple(self._definitions), []
        if not waiting:
            self._due = False
            self._wake.clear()
        if not definitions and not series:
            return None
        return protocol.ExecutionMetrics(self._execution_id, definitions, tuple(series))

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stop.wait(FLUSH_INTERVAL):
                return  # closed: ``close`` sends the rest itself
            self.flush()

    def close(self) -> None:
        """The execution ended: send everything left, then record nothing more."""
        with self._lock:
            self._closed = True
        self._stop.set()
        self._wake.set()
        self.flush(final=True)
