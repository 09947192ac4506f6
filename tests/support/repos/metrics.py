"""Workflows recording metrics and progress, for tests/integration/test_metrics.py."""

from __future__ import annotations

import coflux as cf

training = cf.MetricGroup("training", units="epoch", lower=0, upper=5)
loss = cf.Metric("loss", group=training, scale=cf.MetricScale("error"), throttle=None)
accuracy = cf.Metric(
    "accuracy", group=training, scale=cf.MetricScale(units="%", lower=0, upper=100), throttle=None
)
every = cf.Metric("every", throttle=None)


@cf.task()
def train(epochs: int) -> float:
    for epoch in range(epochs):
        loss.record(1.0 / (epoch + 1), at=epoch)
        accuracy.record(20.0 * epoch, at=epoch)
    return 1.0 / epochs


@cf.task()
def process(count: int) -> int:
    done = 0
    for _ in cf.progress(range(count)):
        done += 1
    return done


@cf.workflow()
def pipeline(epochs: int, items: int) -> list[float]:
    return [train(epochs), float(process(items))]


@cf.task()
def many_points(count: int) -> int:
    """Records ``count`` points unthrottled, one past the bound if ``count`` is past it."""
    for index in range(count):
        every.record(float(index), at=index)
    return count


@cf.workflow()
def flood(count: int) -> int:
    return many_points(count)


@cf.workflow()
def too_many_metrics() -> int:
    for index in range(101):
        cf.Metric(f"m{index}").record(1.0)
    return 101


@cf.task()
def slow_progress(count: int) -> int:
    """Progress that a person could watch: the items are handed out by another task."""
    done = 0
    for _ in cf.progress(range(count)):
        done += tick()
    return done


@cf.task()
def tick() -> int:
    return 1


@cf.workflow()
def watched(count: int) -> int:
    return slow_progress(count)
