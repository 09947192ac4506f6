"""The task of the metrics benchmark: record points in a tight loop, timed from inside."""

from __future__ import annotations

import time

import coflux as cf

throttled = cf.Metric("throttled")  # the default: 10 points/s
unthrottled = cf.Metric("unthrottled", throttle=None)


@cf.task
def record(kind: str, count: int) -> float:
    """Seconds of task time ``count`` recordings of ``kind`` cost (``"none"``: the
    same loop recording nothing, the baseline)."""
    started = time.perf_counter()
    if kind == "throttled":
        for step in range(count):
            throttled.record(step)
    elif kind == "unthrottled":
        for step in range(count):
            unthrottled.record(step, at=step)
    elif kind == "progress":
        for _ in cf.progress(range(count)):
            pass
    else:
        for step in range(count):
            float(step)
    return time.perf_counter() - started


@cf.workflow
def measure(kind: str, count: int) -> float:
    return record(kind, count)
