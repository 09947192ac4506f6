"""Workflows for the several-servers tests: a fan-out and a chain slow enough to
kill their project's server in the middle of them."""

import time

import coflux as cf


@cf.task
def square(n: int, seconds: float) -> int:
    time.sleep(seconds)
    return n * n


@cf.workflow
def squares(count: int, seconds: float) -> int:
    """The sum of n * n for n below ``count``, each step taking ``seconds``."""
    handles = [square.submit(n, seconds) for n in range(count)]
    return sum(handle.result() for handle in handles)


@cf.workflow
def chain(count: int, seconds: float) -> int:
    """The same sum, one step after another."""
    total = 0
    for n in range(count):
        total += square(n, seconds)
    return total
