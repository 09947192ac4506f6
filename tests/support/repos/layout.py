"""Workflows for Studio's layout test (tests/e2e/test_layout.py): a run with a few
steps and long values, so the run page has a graph, a step panel and a table to fit
into a narrow screen, and a sensor to stop."""

import time

import coflux as cf


@cf.task
def inspect_sample(sample_name: str) -> dict[str, str]:
    """Returns a long value, so the step panel has something wide to wrap."""
    return {"sample": sample_name, "verdict": "accepted after a long inspection " * 4}


@cf.workflow
def inspect_batch(batch_name: str, count: int = 3) -> list[dict[str, str]]:
    """Inspects ``count`` samples of the batch, one step each."""
    return [inspect_sample(f"{batch_name}-sample-{n:04d}") for n in range(count)]


@cf.sensor
def watch_door(every: float = 0.2) -> None:
    """Watches until stopped."""
    while True:
        time.sleep(every)
