"""Wait for a condition by polling it with a deadline (never with a fixed sleep).

``fn`` is "not yet" while it returns a falsy value or raises ``AssertionError``;
the first truthy value is returned. At the deadline the last ``AssertionError``
is re-raised, or a new one says what was awaited.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def _check(fn: Callable[[], T | None]) -> tuple[T | None, AssertionError | None]:
    try:
        return fn(), None
    except AssertionError as e:
        return None, e


def _timed_out(timeout: float, message: str, error: AssertionError | None) -> AssertionError:
    if error is not None:
        return error
    return AssertionError(
        f"condition not met within {timeout} s{': ' + message if message else ''}"
    )


def eventually(
    fn: Callable[[], T | None], timeout: float = 10.0, *, interval: float = 0.02, message: str = ""
) -> T:
    """Poll ``fn`` until it returns a truthy value; return that value.

    Raises:
        AssertionError: ``fn`` did not succeed within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value, error = _check(fn)
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _timed_out(timeout, message, error)
        time.sleep(interval)


async def eventually_async(
    fn: Callable[[], T | None], timeout: float = 10.0, *, interval: float = 0.02, message: str = ""
) -> T:
    """``eventually`` for async tests: polls without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while True:
        value, error = _check(fn)
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _timed_out(timeout, message, error)
        await asyncio.sleep(interval)
