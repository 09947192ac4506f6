"""Targets that take any value, for the pickle trust tests (tests/integration/test_pickle_trust.py).

None of them unpickles anything itself: if a pickle runs code, the executor did it
while loading the arguments.
"""

import time

import coflux as cf


@cf.workflow
def accept(value: object) -> str:
    """Say what arrived."""
    return type(value).__name__


@cf.sensor
def watch(value: object) -> None:
    """Hold on to the value until stopped."""
    time.sleep(60)
