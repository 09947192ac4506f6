"""Workflows for the several-servers tests: a fan-out slow enough to kill its
project's server in the middle of it."""

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
