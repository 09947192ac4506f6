"""A fan-out of tasks that say when they ran, to check an agent's concurrency."""

import time

import coflux as cf


@cf.task
def timed(seconds: float) -> list[float]:
    started = time.time()
    time.sleep(seconds)
    return [started, time.time()]


@cf.workflow
def spread(count: int, seconds: float) -> list[list[float]]:
    calls = [timed.submit(seconds) for _ in range(count)]
    return [call.result() for call in calls]
