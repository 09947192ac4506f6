"""Workloads of the engine benchmark (``bench/engine.py``), hosted by one agent.

Every task is trivial on purpose: what is measured is the engine's overhead per
step (scheduling, recording, dispatch, results), not the work.
"""

from __future__ import annotations

import time

import coflux as cf


@cf.task
def echo(value: int) -> int:
    """Return the argument: the unit of work of the fan-out and chain workloads."""
    return value


@cf.task
def stamp(called_at: float) -> float:
    """The wall-clock time at which this function started in its executor.

    The dispatch benchmark subtracts the step's recorded ``created_at`` (when it
    became ready) and the caller's ``called_at`` (its argument, recorded with the
    step) from this, so no guess is made about where the step spent its time.
    """
    return time.time()


@cf.workflow
def fanout(n: int) -> int:
    """Submit ``n`` echo steps at once, then wait for every result."""
    handles = [echo.submit(i) for i in range(n)]
    return sum(handle.result() for handle in handles)


@cf.workflow
def chain(n: int) -> int:
    """Call ``n`` echo steps one after another, each waiting for the previous one."""
    value = 0
    for _ in range(n):
        value = echo(value + 1)
    return value


@cf.workflow
def probe(n: int) -> int:
    """Run ``n`` stamp steps one at a time (the dispatch-latency samples)."""
    for _ in range(n):
        stamp(time.time())
    return n


@cf.workflow
def load(rate: float, seconds: float) -> int:
    """Submit echo steps at ``rate`` per second for ``seconds``: background load.

    Submissions follow a fixed schedule (not sleep-after-submit) so the rate holds
    even when a submission is slow. Results are collected as they come, so the
    load is steps that start *and* finish, like real traffic.
    """
    started = time.monotonic()
    pending: list[cf.Execution[int]] = []
    count = int(rate * seconds)
    for index in range(count):
        delay = started + index / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        pending.append(echo.submit(index))
    return sum(handle.result() for handle in pending)
