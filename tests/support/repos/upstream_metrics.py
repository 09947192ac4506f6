"""The upstream Coflux 0.11 metrics docs' samples (docs/docs/metrics.md), written as
that page writes them: run unchanged by tests/integration/test_metrics.py. Each
sample's metrics are recorded by a task of its own, as the page's samples are
separate programs (two of them name a metric "loss")."""

from __future__ import annotations

import coflux as cf

# "Recording metrics"
loss = cf.Metric("loss", group="training")
accuracy = cf.Metric("accuracy", group="training")


def run_epoch(epoch: int) -> tuple[float, float]:
    return 1.0 / (epoch + 1), 10.0 * epoch


@cf.task()
def train(epochs):
    for epoch in range(epochs):
        loss_val, acc_val = run_epoch(epoch)
        loss.record(loss_val, at=epoch)
        accuracy.record(acc_val, at=epoch)


# "Groups and scales"
group = cf.MetricGroup("training", units="epoch")

scaled_loss = cf.Metric("loss", group=group, scale=cf.MetricScale(units=""))
scaled_accuracy = cf.Metric(
    "accuracy", group=group, scale=cf.MetricScale(units="%", lower=0, upper=100)
)


@cf.task()
def train_scaled(epochs):
    for epoch in range(epochs):
        loss_val, acc_val = run_epoch(epoch)
        scaled_loss.record(loss_val, at=epoch)
        scaled_accuracy.record(acc_val, at=epoch)


# "Progress"
handled: list[object] = []


def handle(item):
    handled.append(item)


@cf.task()
def process_batch(items):
    for item in cf.progress(items):
        handle(item)


@cf.task()
def process_named(items):
    for item in cf.progress(items, key="items_processed", group="processing"):
        handle(item)


# "Throttling"
metric = cf.Metric("fast_metric", throttle=100)  # 100 values/sec
exact = cf.Metric("exact_metric", throttle=None)  # No throttling


@cf.task()
def tight_loop(count):
    for step in range(count):
        metric.record(step)
        exact.record(step)


@cf.workflow()
def samples(epochs, items):
    train(epochs)
    train_scaled(epochs)
    process_batch(items)
    process_named(items)
    tight_loop(len(items))
    return "done"
