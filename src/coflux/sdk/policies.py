"""The option objects: ``cf.Cache``, ``cf.Retries`` and ``cf.Defer``.

They are upstream Coflux's (0.11) way of spelling the options that the 0.4
keyword forms spell flat (``cache_params=``, ``retries=(n, min, max)``,
``defer_params=``); both are accepted wherever a decorator takes ``cache=``,
``retries=`` or ``defer=``, and both resolve to the same wire options in
``coflux.sdk.options``. ``Retries.when`` is the one part that never travels: it
is evaluated in the executor that ran the failing code (``retryable``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from typing import TypeAlias

__all__ = ["DEFAULT_BACKOFF", "Cache", "Defer", "Retries", "RetryFilter", "retryable"]

RetryFilter: TypeAlias = (
    type[BaseException] | tuple[type[BaseException], ...] | Callable[[BaseException], bool]
)

DEFAULT_BACKOFF: tuple[float, float] = (1.0, 60.0)
"""Seconds before a retry (min, max) when ``Retries`` names none (upstream's default)."""


@dataclasses.dataclass(frozen=True)
class Cache:
    """Reuse an earlier equal call's result.

    Args:
        max_age: seconds or a ``timedelta`` a result stays usable (``None``: no limit).
        params: parameter names forming the key (``None``: all of them).
        namespace: where keys are compared (default ``"repository:target"``).
        version: changing it invalidates earlier results.
    """

    max_age: float | dt.timedelta | None = None
    _: dataclasses.KW_ONLY
    params: Iterable[str] | str | None = None
    namespace: str | None = None
    version: str | int | None = None


@dataclasses.dataclass(frozen=True)
class Defer:
    """While a call is still queued, a newer equal call replaces it.

    Args:
        params: parameter names compared (``None``: all of them).
    """

    _: dataclasses.KW_ONLY
    params: Iterable[str] | str | None = None


@dataclasses.dataclass(frozen=True)
class Retries:
    """Try a failed (or abandoned, or timed out) execution again.

    Args:
        limit: retries after the first attempt (``None``: until one succeeds).
        backoff: seconds (or ``timedelta``) before a retry, ``(min, max)``: rising
            from min to max over a limited policy's retries; doubling from min up
            to max for an unlimited one.
        when: which failures are retried: an exception class, a tuple of them,
            or a function of the exception returning whether to retry. Any other
            failure is final at once. Evaluated where the exception was raised.
    """

    limit: int | None = None
    _: dataclasses.KW_ONLY
    backoff: tuple[float | dt.timedelta, float | dt.timedelta] = DEFAULT_BACKOFF
    when: RetryFilter | None = None


def check_filter(when: object) -> RetryFilter | None:
    """``when`` if it is a valid retry filter.

    Raises:
        TypeError: it is neither exception classes nor a callable.
    """
    if when is None or _exception_classes(when) or callable(when):
        return when  # type: ignore[return-value]
    raise TypeError(
        f"Retries(when=...) takes an exception class, a tuple of them or a function, not {when!r}"
    )


def _exception_classes(when: object) -> bool:
    def is_class(value: object) -> bool:
        return isinstance(value, type) and issubclass(value, BaseException)

    return is_class(when) or (
        isinstance(when, tuple) and bool(when) and all(is_class(c) for c in when)
    )


def retryable(when: RetryFilter | None, error: BaseException) -> bool:
    """Whether a retry policy's filter lets ``error`` be retried.

    A filter that itself raises counts as "no": retrying on a broken filter
    could repeat a side effect the filter was written to protect.
    """
    if when is None:
        return True
    if _exception_classes(when):
        return isinstance(error, when)  # type: ignore[arg-type]
    try:
        return bool(when(error))  # type: ignore[operator]
    except Exception:
        return False
