"""Workflows for Studio's run view test: a fan-out of tasks of which a few fail, so
the graph's "failed" chip has failures to find inside a collapsed node of hundreds,
and a run that fails with an error for the run header to show, once a gate opens."""

import time
from pathlib import Path

import coflux as cf


@cf.task
def measure(n: int, failing: list[int]) -> int:
    """Sample ``n``: fails when ``n`` is one of ``failing``."""
    if n in failing:
        raise ValueError(f"sample {n} is corrupt")
    return n * n


@cf.task
def wait_for(gate: str) -> None:
    """Returns once the file ``gate`` exists, so a test sees the run before it ends."""
    while not Path(gate).exists():
        time.sleep(0.05)


@cf.workflow
def survey(region: str, count: int, failing: list[int], gate: str = "") -> int:
    """Measures ``count`` samples at once and fails if any of them failed."""
    if gate:
        wait_for(gate)
    handles = [measure.submit(n, failing) for n in range(count)]
    total = 0
    failed = 0
    for handle in handles:
        try:
            total += handle.result()
        except ValueError:
            failed += 1
    if failed:
        raise RuntimeError(f"{failed} of {count} samples in {region} failed")
    return total
