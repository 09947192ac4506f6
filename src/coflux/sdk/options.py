"""Decorator options -> ``protocol.TargetOptions``, checked at decoration time.

Users name parameters (``cache_params=["user_id"]``); the wire carries positions,
because arguments travel positionally. Everything is validated when the
decorator runs, so a typo fails at import time with a message naming the option,
not later on the server.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

from coflux import protocol
from coflux.sdk.policies import Cache, Defer, Retries, check_filter

__all__ = [
    "CacheOption",
    "DeferOption",
    "DelayOption",
    "ParamsOption",
    "RequiresOption",
    "RetriesOption",
    "resolve_options",
]

ParamsOption: TypeAlias = bool | str | Iterable[str] | None
CacheOption: TypeAlias = bool | float | dt.timedelta | Cache | None
RetriesOption: TypeAlias = (
    bool | int | tuple[int, float] | tuple[int, float, float] | Retries | None
)
DeferOption: TypeAlias = bool | Defer
DelayOption: TypeAlias = float | dt.timedelta
RequiresOption: TypeAlias = Mapping[str, str | bool | Iterable[str]] | None

_Kind = inspect.Parameter


def _seconds(value: Any, option: str) -> float:
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise TypeError(f"{option} must be a number of seconds or a timedelta, not {value!r}")
    if seconds < 0:
        raise ValueError(f"{option} must not be negative (got {value!r})")
    return seconds


def _names(value: str | Iterable[str], option: str) -> list[str]:
    if isinstance(value, str):
        return [name.strip() for name in value.split(",") if name.strip()]
    names = list(value)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{option} must name parameters as strings, not {name!r}")
    return names


def _positions(
    signature: inspect.Signature, value: str | Iterable[str], option: str
) -> tuple[int, ...]:
    """Positions on the wire of the named parameters."""
    parameters = list(signature.parameters.values())
    fixed = _fixed_parameters(parameters)
    positions: list[int] = []
    for name in _names(value, option):
        if name not in signature.parameters:
            known = ", ".join(p.name for p in parameters) or "none"
            raise ValueError(f"{option} names unknown parameter {name!r} (parameters: {known})")
        if name not in fixed:
            raise ValueError(
                f"{option} cannot name {name!r}: only parameters before *args have a fixed position"
            )
        if fixed[name] not in positions:
            positions.append(fixed[name])
    return tuple(sorted(positions))


def _fixed_parameters(parameters: list[inspect.Parameter]) -> dict[str, int]:
    fixed: dict[str, int] = {}
    for index, parameter in enumerate(parameters):
        if parameter.kind is _Kind.VAR_POSITIONAL:
            break
        fixed[parameter.name] = index
    return fixed


def _all_positions(signature: inspect.Signature, option: str) -> tuple[int, ...]:
    parameters = list(signature.parameters.values())
    if any(p.kind is _Kind.VAR_POSITIONAL for p in parameters):
        raise ValueError(f"{option}=True is ambiguous with *args: name the parameters instead")
    return tuple(range(len(parameters)))


def _params(
    signature: inspect.Signature, value: ParamsOption, option: str
) -> tuple[int, ...] | None:
    """``None`` when off, else the positions (all of them for ``True``)."""
    if value is None or value is False:
        return None
    if value is True:
        return _all_positions(signature, option)
    return _positions(signature, value, option)


def _cache(
    signature: inspect.Signature,
    cache: CacheOption,
    params: str | Iterable[str] | None,
    namespace: str | None,
    version: str | int | None,
) -> protocol.CacheOptions | None:
    if isinstance(cache, Cache):
        if (params, namespace, version) != (None, None, None):
            raise ValueError("cache=cf.Cache(...) carries its own params, namespace and version")
        spec = cache
        cache = True if spec.max_age is None else spec.max_age
        params, namespace, version = spec.params, spec.namespace, spec.version
    if cache is None or cache is False:
        extras = {"cache_params": params, "cache_namespace": namespace, "cache_version": version}
        given = [name for name, value in extras.items() if value is not None]
        if given:
            raise ValueError(f"{', '.join(given)} given without cache=...")
        return None
    max_age = None if cache is True else _seconds(cache, "cache")
    if max_age == 0:
        raise ValueError("cache max age must be positive (use cache=True for no limit)")
    if namespace is not None and (not isinstance(namespace, str) or not namespace):
        raise TypeError(f"cache_namespace must be a non-empty string, not {namespace!r}")
    if version is not None and not isinstance(version, str | int):
        raise TypeError(f"cache_version must be a string or an int, not {version!r}")
    return protocol.CacheOptions(
        max_age=max_age,
        params=None if params is None else _positions(signature, params, "cache_params"),
        namespace=namespace,
        version=None if version is None else str(version),
    )


def _retries(retries: RetriesOption) -> protocol.RetryOptions | None:
    if retries is None or retries is False:
        return None
    if retries is True:
        retries = Retries()
    if isinstance(retries, Retries):
        return _retry_object(retries)
    if isinstance(retries, bool) or not isinstance(retries, int | tuple):
        raise TypeError(
            f"retries must be n, (n, delay) or (n, min_delay, max_delay), not {retries!r}"
        )
    limit, *delays = retries if isinstance(retries, tuple) else (retries,)
    if isinstance(limit, bool) or not isinstance(limit, int) or len(delays) > 2:
        raise TypeError(
            f"retries must be n, (n, delay) or (n, min_delay, max_delay), not {retries!r}"
        )
    if limit < 0:
        raise ValueError(f"retries must not be negative (got {limit})")
    seconds = [_seconds(delay, "retry delay") for delay in delays]
    delay_min, delay_max = (seconds + seconds)[:2] if seconds else (0.0, 0.0)
    if delay_min > delay_max:
        raise ValueError(f"retry min delay {delay_min} s is above max delay {delay_max} s")
    if limit == 0:
        return None
    return protocol.RetryOptions(limit=limit, delay_min=delay_min, delay_max=delay_max)


def _retry_object(retries: Retries) -> protocol.RetryOptions | None:
    limit = retries.limit
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"Retries limit must be None or a count >= 0, not {limit!r}")
    if not isinstance(retries.backoff, tuple) or len(retries.backoff) != 2:
        raise TypeError(f"Retries backoff must be (min, max), not {retries.backoff!r}")
    delay_min, delay_max = (_seconds(delay, "retry backoff") for delay in retries.backoff)
    if delay_min > delay_max:
        raise ValueError(f"retry min backoff {delay_min} s is above max backoff {delay_max} s")
    check_filter(retries.when)
    if limit == 0:
        return None
    return protocol.RetryOptions(limit=limit, delay_min=delay_min, delay_max=delay_max)


def _defer(
    signature: inspect.Signature, defer: DeferOption, params: str | Iterable[str] | None
) -> protocol.DeferOptions | None:
    if isinstance(defer, Defer):
        if params is not None:
            raise ValueError("defer=cf.Defer(...) carries its own params")
        params, defer = defer.params, True
    if not isinstance(defer, bool):
        raise TypeError(f"defer must be True, False or cf.Defer(...), not {defer!r}")
    if params is not None and not defer:
        raise ValueError("defer_params given without defer=True")
    if not defer:
        return None
    positions = None if params is None else _positions(signature, params, "defer_params")
    return protocol.DeferOptions(params=positions)


def _requires(requires: RequiresOption) -> dict[str, tuple[str, ...]]:
    if requires is None:
        return {}
    if not isinstance(requires, Mapping):
        raise TypeError(f"requires must be a mapping of tag -> value(s), not {requires!r}")
    normalised: dict[str, tuple[str, ...]] = {}
    for key, value in requires.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"requires keys must be non-empty strings, not {key!r}")
        if isinstance(value, bool):
            values: tuple[Any, ...] = ("true" if value else "false",)
        elif isinstance(value, str):
            values = (value,)
        elif isinstance(value, Iterable):
            values = tuple(value)
        else:
            raise TypeError(f"requires[{key!r}] must be a string, a bool or strings, not {value!r}")
        if not values or not all(isinstance(v, str) for v in values):
            raise TypeError(f"requires[{key!r}] must hold at least one string, not {value!r}")
        normalised[key] = values
    return normalised


def resolve_options(
    signature: inspect.Signature,
    *,
    wait: ParamsOption = False,
    cache: CacheOption = False,
    cache_params: str | Iterable[str] | None = None,
    cache_namespace: str | None = None,
    cache_version: str | int | None = None,
    retries: RetriesOption = 0,
    defer: DeferOption = False,
    defer_params: str | Iterable[str] | None = None,
    delay: DelayOption = 0,
    memo: ParamsOption = None,
    memo_calls: bool = False,
    requires: RequiresOption = None,
    timeout: DelayOption = 0,
    recurrent: bool = False,
) -> protocol.TargetOptions:
    """Check the decorator options and resolve them to ``protocol.TargetOptions``.

    Args:
        signature: the decorated function's signature (names -> positions).
        wait, cache, cache_params, cache_namespace, cache_version, retries,
        defer, defer_params, delay, memo, requires, timeout, recurrent: as
        documented on ``cf.task``.
        memo_calls: a workflow's ``memo=True`` (its run memoises its calls).

    Returns:
        The options as the wire carries them.

    Raises:
        TypeError: an option has the wrong type.
        ValueError: an option has a bad value (unknown parameter name, negative
            retries or delay, a sub-option without its main option, ...).
    """
    if not isinstance(recurrent, bool):
        raise TypeError(f"recurrent must be True or False, not {recurrent!r}")
    if not isinstance(memo_calls, bool):
        raise TypeError(f"a workflow's memo must be True or False, not {memo_calls!r}")
    return protocol.TargetOptions(
        wait=_params(signature, wait, "wait") or (),
        cache=_cache(signature, cache, cache_params, cache_namespace, cache_version),
        retries=_retries(retries),
        defer=_defer(signature, defer, defer_params),
        delay=_seconds(delay, "delay"),
        memo=memo_options(signature, memo),
        memo_calls=memo_calls,
        requires=_requires(requires),
        timeout=_seconds(timeout, "timeout"),
        recurrent=recurrent,
    )


# --- one option at a time (``Target.with_*``) ---------------------------------------


def cache_options(signature: inspect.Signature, cache: CacheOption) -> protocol.CacheOptions | None:
    """``cache=`` alone, resolved as the decorator does."""
    return _cache(signature, cache, None, None, None)


def retry_options(retries: RetriesOption) -> protocol.RetryOptions | None:
    """``retries=`` alone, resolved as the decorator does."""
    return _retries(retries)


def defer_options(signature: inspect.Signature, defer: DeferOption) -> protocol.DeferOptions | None:
    """``defer=`` alone, resolved as the decorator does."""
    return _defer(signature, defer, None)


def memo_options(signature: inspect.Signature, memo: ParamsOption) -> tuple[int, ...] | bool | None:
    """``memo=`` alone: the positions, ``False`` when turned off (even where the
    run memoises its calls), ``None`` when not set."""
    if memo is False:
        return False
    return _params(signature, memo, "memo")


def delay_seconds(delay: DelayOption) -> float:
    """``delay=`` alone, in seconds."""
    return _seconds(delay, "delay")


def timeout_seconds(timeout: DelayOption) -> float:
    """``timeout=`` alone, in seconds."""
    return _seconds(timeout, "timeout")


def requires_tags(requires: RequiresOption) -> dict[str, tuple[str, ...]]:
    """``requires=`` alone, resolved as the decorator does."""
    return _requires(requires)
