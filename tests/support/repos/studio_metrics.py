"""Metrics for Studio's browser tests (tests/e2e/test_studio_metrics.py).

``experiment`` trains (a group of two metrics on two scales, per epoch) while three
``process`` steps show progress. Each stops halfway, or at its share of the items,
until the file ``gate`` exists: a test sees a chart and bars part-drawn, opens the
gate, and watches them fill in live.
"""

from __future__ import annotations

import os
import time

import coflux as cf

training = cf.MetricGroup("training", units="epoch", lower=0, upper=10)
loss = cf.Metric("loss", group=training, scale=cf.MetricScale("error"), throttle=None)
accuracy = cf.Metric(
    "accuracy",
    group=training,
    scale=cf.MetricScale(units="%", lower=0, upper=100),
    throttle=None,
)


def wait_for(gate: str) -> None:
    while not os.path.exists(gate):
        time.sleep(0.02)


@cf.task()
def train(epochs: int, gate: str) -> float:
    """One point of each metric per epoch; the second half of them once ``gate`` exists."""
    for epoch in range(epochs):
        if epoch == epochs // 2:
            wait_for(gate)
        loss.record(1.0 / (epoch + 1), at=epoch)
        accuracy.record(100.0 * epoch / epochs, at=epoch)
    return 1.0 / epochs


@cf.task()
def process(items: int, pause_at: int, gate: str) -> int:
    """A progress bar toward ``items`` that stops at ``pause_at`` until ``gate`` exists."""
    done = 0
    for item in cf.progress(range(items)):
        if item == pause_at:
            wait_for(gate)
        done += 1
    return done


@cf.workflow()
def experiment(epochs: int, items: int, gate: str) -> list[float]:
    batches = [process.submit(items, items * share // 4, gate) for share in (1, 2, 3)]
    trained = train(epochs, gate)
    return [trained, *(float(batch.result()) for batch in batches)]
