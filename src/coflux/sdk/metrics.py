"""Metrics and progress, recorded from inside executions (``cf.Metric``, ``cf.progress``).

Upstream Coflux 0.11's names and signatures, so code written for it runs
unchanged::

    loss = cf.Metric("loss", group=cf.MetricGroup("training", units="epoch"))

    @cf.task()
    def train(epochs: int) -> None:
        for epoch in range(epochs):
            loss.record(run_epoch(epoch), at=epoch)

A ``Metric`` is a plain description, made anywhere (often at module level) and
used by any execution: its definition is sent once per execution, on its first
point, and its points are throttled, ordered, bounded and batched by the
execution's ``coflux.sdk.recorder``. Arguments are checked where they are given:
a metric that cannot be described, or a value that is not a finite number, raises
at once (``TypeError``, ``ValueError``). Outside an execution ``record`` only
checks its value (upstream raises), so a target called as a plain function, in a
test say, runs as it would inside one. docs/metrics.md has the rules.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Iterator
from math import isfinite
from typing import Any, TypeVar

from coflux import protocol
from coflux.sdk import context

__all__ = ["Metric", "MetricGroup", "MetricScale", "progress"]

T = TypeVar("T")

DEFAULT_THROTTLE = 10.0
"""Points per second a metric sends at most, unless it says otherwise."""


class MetricGroup:
    """A group of metrics, drawn together on one chart; it describes the x-axis.

    Args:
        name: the group's name: metrics naming the same group share its chart.
        units: the x-axis's unit label (``"epoch"``).
        lower: the x-axis's lower bound.
        upper: the x-axis's upper bound.

    Raises:
        TypeError, ValueError: a name, label or bound that cannot be recorded.
    """

    def __init__(
        self,
        name: str,
        *,
        units: str | None = None,
        lower: float | None = None,
        upper: float | None = None,
    ) -> None:
        self.name = _name(name, "a metric group's name")
        self.units = _label(units, "units")
        self.lower = _bound(lower, "lower")
        self.upper = _bound(upper, "upper")

    def _info(self) -> protocol.MetricGroupInfo:
        return protocol.MetricGroupInfo(self.name, self.units, self.lower, self.upper)

    def __repr__(self) -> str:
        return f"MetricGroup({self.name!r}, units={self.units!r})"


class MetricScale:
    """A metric's y-axis: metrics naming the same scale within a group share it.

    Args:
        name: the scale's name (None: the metric's own axis).
        units: the y-axis's unit label (``"%"``, ``"ms"``).
        progress: draw the metric as progress toward ``upper``.
        lower: the y-axis's lower bound.
        upper: the y-axis's upper bound (a progress metric's total).

    Raises:
        TypeError, ValueError: a name, label or bound that cannot be recorded.
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        units: str | None = None,
        progress: bool = False,
        lower: float | None = None,
        upper: float | None = None,
    ) -> None:
        self.name = None if name is None else _name(name, "a metric scale's name")
        self.units = _label(units, "units")
        if not isinstance(progress, bool):
            raise TypeError(f"progress must be True or False, not {progress!r}")
        self.progress = progress
        self.lower = _bound(lower, "lower")
        self.upper = _bound(upper, "upper")

    def _info(self) -> protocol.MetricScaleInfo:
        return protocol.MetricScaleInfo(
            self.name, self.units, self.lower, self.upper, self.progress
        )

    def __repr__(self) -> str:
        return f"MetricScale({self.name!r}, units={self.units!r}, progress={self.progress})"


class Metric:
    """A metric that executions record points of.

    Args:
        key: the metric's name within an execution (``"loss"``).
        group: its chart: a ``MetricGroup``, or a group's name.
        scale: its y-axis: a ``MetricScale``, or a scale's name.
        throttle: the most points per second it sends (10 by default); a point
            recorded sooner waits for the end of the window, replaced by any later
            one, so the latest is always sent. None: every point.

    Raises:
        TypeError, ValueError: a key, group, scale or throttle that cannot be recorded.
    """

    def __init__(
        self,
        key: str,
        *,
        group: str | MetricGroup | None = None,
        scale: str | MetricScale | None = None,
        throttle: float | None = DEFAULT_THROTTLE,
    ) -> None:
        self._key = _name(key, "a metric's key")
        self._group = MetricGroup(group) if isinstance(group, str) else group
        self._scale = MetricScale(scale) if isinstance(scale, str) else scale
        if self._group is not None and not isinstance(self._group, MetricGroup):
            raise TypeError(f"group must be a name or a cf.MetricGroup, not {group!r}")
        if self._scale is not None and not isinstance(self._scale, MetricScale):
            raise TypeError(f"scale must be a name or a cf.MetricScale, not {scale!r}")
        if throttle is not None:
            throttle = _number(throttle, "throttle")
            if not 0 < throttle <= protocol.MAX_SECONDS:
                raise ValueError(f"throttle must be a positive rate (points/s), not {throttle:g}")
        self._throttle = throttle
        # Built once: each point names it, and the recorder compares it by identity.
        self._definition = protocol.MetricDefinition(
            key=self._key,
            group=None if self._group is None else self._group._info(),
            scale=None if self._scale is None else self._scale._info(),
            throttle=throttle,
        )

    @property
    def key(self) -> str:
        return self._key

    @property
    def group(self) -> MetricGroup | None:
        return self._group

    @property
    def scale(self) -> MetricScale | None:
        return self._scale

    @property
    def throttle(self) -> float | None:
        return self._throttle

    def record(self, value: float, *, at: float | None = None) -> None:
        """Record a point of this metric for the running execution.

        Args:
            value: the point's value (y).
            at: its x (an epoch, a step, ...); by default, seconds since the
                execution started. A metric's x must grow from point to point.

        Raises:
            TypeError, ValueError: ``value`` or ``at`` is not a finite number; the
                metric conflicts with another of the same key (or group, or scale)
                in this execution, or is one more than an execution may define.
        """
        # The usual case, a finite float, without a call: a task may record in a tight loop.
        if type(value) is not float or not isfinite(value):
            value = _number(value, "value")
        if at is not None and (type(at) is not float or not isfinite(at)):
            at = _number(at, "at")
        ctx = context.current()
        if ctx is not None:
            ctx.metrics.record(self._definition, value, at)

    def __repr__(self) -> str:
        return f"Metric({self._key!r}, group={self._group!r}, scale={self._scale!r})"


def progress(
    iterable: Iterable[T], key: str = "progress", *, group: str | MetricGroup | None = None
) -> Iterator[T]:
    """Yield the items of ``iterable``, recording how many were consumed.

    The metric (``key``, in ``group``) is a progress metric toward the number of
    items, so Studio draws a bar and ``coflux runs inspect`` a percentage. An
    iterable without a length is read into a list first, to know it.

    Args:
        iterable: the items.
        key: the progress metric's key.
        group: its group (a ``MetricGroup`` or a name).

    Yields:
        The items, in order.
    """
    items: Any = iterable if hasattr(iterable, "__len__") else list(iterable)
    metric = Metric(key, group=group, scale=MetricScale(progress=True, upper=len(items)))
    for done, item in enumerate(items, 1):
        yield item
        metric.record(float(done))


def _number(value: Any, what: str) -> float:
    kind = type(value)
    if kind is float:
        number: float = value
    elif kind is int or (isinstance(value, numbers.Real) and kind is not bool):
        try:
            number = float(value)
        except OverflowError:
            raise ValueError(f"a metric's {what} must be finite, not {value}") from None
    else:
        raise TypeError(f"a metric's {what} must be a number, not {kind.__name__}")
    if not math.isfinite(number):
        raise ValueError(f"a metric's {what} must be finite, not {number}")
    return number


def _bound(value: float | None, what: str) -> float | None:
    return None if value is None else _number(value, what)


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, not {type(value).__name__}")
    if not value or len(value) > protocol.MAX_METRIC_NAME or "\x00" in value:
        raise ValueError(
            f"{what} must be 1 to {protocol.MAX_METRIC_NAME} characters, without NUL"
            f" (got {len(value)})"
        )
    return value


def _label(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, not {type(value).__name__}")
    if len(value) > protocol.MAX_METRIC_NAME or "\x00" in value:
        raise ValueError(
            f"{what} must be at most {protocol.MAX_METRIC_NAME} characters, without NUL"
        )
    return value
