"""The decorators: ``task``, ``workflow``, ``stub`` and ``sensor``.

Each resolves its keyword-only options into ``protocol.TargetOptions`` at
decoration time (see ``coflux.sdk.options``) and returns a ``Target``. ``task``,
``workflow`` and ``sensor`` work both bare (``@cf.task``) and with options
(``@cf.task(retries=2)``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any, Literal, ParamSpec, TypeVar, overload

from coflux import protocol
from coflux.sdk.options import (
    CacheOption,
    DeferOption,
    DelayOption,
    ParamsOption,
    RequiresOption,
    RetriesOption,
    resolve_options,
)
from coflux.sdk.policies import Retries
from coflux.sdk.target import Target

__all__ = ["sensor", "stub", "task", "workflow"]

P = ParamSpec("P")
T = TypeVar("T")


def _build(
    fn: Callable[P, T],
    type: protocol.TargetType,
    name: str | None,
    options: dict[str, Any],
    stub_repository: str | None = None,
) -> Target[P, T]:
    if not callable(fn) or isinstance(fn, Target):
        raise TypeError(f"@{type} decorates a function, not {fn!r}")
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError(f"target name must be a non-empty string, not {name!r}")
    signature = inspect.signature(fn)
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            # Arguments travel positionally, so there is nowhere to put **kwargs.
            raise TypeError(f"{fn.__qualname__}: **{parameter.name} is not supported by targets")
    retries = options.get("retries")
    try:
        resolved = resolve_options(signature, **options)
    except (TypeError, ValueError) as e:
        raise _same_kind(e)(f"@{type} {fn.__qualname__}: {e}") from None
    return Target(
        fn,
        name=name or fn.__name__,
        type=type,
        options=resolved,
        stub_repository=stub_repository,
        retry_when=retries.when if isinstance(retries, Retries) else None,
    )


def _same_kind(error: Exception) -> type[Exception]:
    """The class to re-raise a validation error as (keeps TypeError vs ValueError)."""
    return TypeError if isinstance(error, TypeError) else ValueError


@overload
def task(fn: Callable[P, T], /) -> Target[P, T]: ...


@overload
def task(
    *,
    name: str | None = None,
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
    requires: RequiresOption = None,
    timeout: DelayOption = 0,
    recurrent: bool = False,
) -> Callable[[Callable[P, T]], Target[P, T]]: ...


def task(
    fn: Callable[P, T] | None = None,
    /,
    *,
    name: str | None = None,
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
    requires: RequiresOption = None,
    timeout: DelayOption = 0,
    recurrent: bool = False,
) -> Target[P, T] | Callable[[Callable[P, T]], Target[P, T]]:
    """Define a task: a step called from workflows or other tasks.

    Args:
        fn: the function (when used bare, as ``@cf.task``).
        name: the target name (default: the function's name).
        wait: ``True``, parameter names, or ``"a,b"``: don't start until those
            ``Execution`` arguments have resolved.
        cache: ``True``, a max age in seconds, or a ``timedelta``: reuse an
            earlier equal call's result.
        cache_params: parameter names forming the cache key (default: all).
        cache_namespace: default ``"repository:target"``.
        cache_version: changing it invalidates earlier cached results.
        retries: ``n``, ``(n, delay_s)`` or ``(n, min_delay_s, max_delay_s)``.
        defer: a newer equal call replaces a pending one.
        defer_params: parameter names compared for ``defer`` (default: all).
        delay: seconds or a ``timedelta`` before the execution is due.
        memo: ``True`` or parameter names: reuse an equal call within the run;
            ``False``: never, even in a run whose workflow has ``memo=True``.
        requires: tags an agent must provide, e.g. ``{"gpu": "A100"}``.
        timeout: seconds or a ``timedelta`` an execution may run (0: no limit);
            past it its process is stopped, it ends *timed out* and its waiters
            get ``cf.ExecutionTimeout`` (retried if ``retries`` allows).
        recurrent: run again (after ``delay``) each time it returns ``None``;
            a value other than ``None`` ends the recurrence.

    Returns:
        A ``Target`` (or a decorator making one, when options are given).

    Raises:
        TypeError: an option has the wrong type.
        ValueError: an option has a bad value (e.g. an unknown parameter name).
    """
    options = {
        "wait": wait,
        "cache": cache,
        "cache_params": cache_params,
        "cache_namespace": cache_namespace,
        "cache_version": cache_version,
        "retries": retries,
        "defer": defer,
        "defer_params": defer_params,
        "delay": delay,
        "memo": memo,
        "requires": requires,
        "timeout": timeout,
        "recurrent": recurrent,
    }

    def decorate(fn: Callable[P, T]) -> Target[P, T]:
        return _build(fn, "task", name, options)

    return decorate if fn is None else decorate(fn)


@overload
def workflow(fn: Callable[P, T], /) -> Target[P, T]: ...


@overload
def workflow(
    *,
    name: str | None = None,
    wait: ParamsOption = False,
    cache: CacheOption = False,
    cache_params: str | Iterable[str] | None = None,
    cache_namespace: str | None = None,
    cache_version: str | int | None = None,
    retries: RetriesOption = 0,
    defer: DeferOption = False,
    defer_params: str | Iterable[str] | None = None,
    delay: DelayOption = 0,
    memo: bool = False,
    requires: RequiresOption = None,
    timeout: DelayOption = 0,
    recurrent: bool = False,
) -> Callable[[Callable[P, T]], Target[P, T]]: ...


def workflow(
    fn: Callable[P, T] | None = None,
    /,
    *,
    name: str | None = None,
    wait: ParamsOption = False,
    cache: CacheOption = False,
    cache_params: str | Iterable[str] | None = None,
    cache_namespace: str | None = None,
    cache_version: str | int | None = None,
    retries: RetriesOption = 0,
    defer: DeferOption = False,
    defer_params: str | Iterable[str] | None = None,
    delay: DelayOption = 0,
    memo: bool = False,
    requires: RequiresOption = None,
    timeout: DelayOption = 0,
    recurrent: bool = False,
) -> Target[P, T] | Callable[[Callable[P, T]], Target[P, T]]:
    """Define a workflow: an entry point that starts a run.

    Takes the same options as ``task``, except that ``memo`` is ``True`` or
    ``False``: ``True`` memoises every call made in the workflow's runs (by the
    workflow and the tasks under it) that does not set ``memo`` itself.

    Returns:
        A ``Target`` (or a decorator making one, when options are given).

    Raises:
        TypeError, ValueError: as ``task``.
    """
    options = {
        "wait": wait,
        "cache": cache,
        "cache_params": cache_params,
        "cache_namespace": cache_namespace,
        "cache_version": cache_version,
        "retries": retries,
        "defer": defer,
        "defer_params": defer_params,
        "delay": delay,
        "memo_calls": memo,
        "requires": requires,
        "timeout": timeout,
        "recurrent": recurrent,
    }

    def decorate(fn: Callable[P, T]) -> Target[P, T]:
        return _build(fn, "workflow", name, options)

    return decorate if fn is None else decorate(fn)


def stub(
    repository: str,
    /,
    *,
    name: str | None = None,
    type: Literal["workflow", "task"] = "task",
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
    requires: RequiresOption = None,
    timeout: DelayOption = 0,
    recurrent: bool = False,
) -> Callable[[Callable[P, T]], Target[P, T]]:
    """Declare a target hosted in another repository, from its signature.

    Calling the stub inside an execution submits to ``repository``; outside one
    (tests, scripts) the decorated function's body runs instead, as a stand-in.

    Args:
        repository: the repository hosting the target.
        name: the target name there (default: the function's name).
        type: ``"task"`` or ``"workflow"``.
        wait, cache, ...: as ``task``.

    Returns:
        A decorator making the stub's ``Target``.

    Raises:
        TypeError, ValueError: as ``task`` (and ``workflow``, for ``type="workflow"``).
    """
    if not isinstance(repository, str) or not repository:
        raise ValueError(f"stub repository must be a non-empty string, not {repository!r}")
    if type not in ("workflow", "task"):
        raise ValueError(f"stub type must be 'task' or 'workflow', not {type!r}")
    if type == "workflow" and memo is not None and not isinstance(memo, bool):
        raise TypeError(f"a workflow's memo must be True or False, not {memo!r}")
    options = {
        "wait": wait,
        "cache": cache,
        "cache_params": cache_params,
        "cache_namespace": cache_namespace,
        "cache_version": cache_version,
        "retries": retries,
        "defer": defer,
        "defer_params": defer_params,
        "delay": delay,
        **({"memo_calls": bool(memo)} if type == "workflow" else {"memo": memo}),
        "requires": requires,
        "timeout": timeout,
        "recurrent": recurrent,
    }

    def decorate(fn: Callable[P, T]) -> Target[P, T]:
        return _build(fn, type, name, options, stub_repository=repository)

    return decorate


@overload
def sensor(fn: Callable[P, T], /) -> Target[P, T]: ...


@overload
def sensor(
    *, name: str | None = None, requires: RequiresOption = None
) -> Callable[[Callable[P, T]], Target[P, T]]: ...


def sensor(
    fn: Callable[P, T] | None = None,
    /,
    *,
    name: str | None = None,
    requires: RequiresOption = None,
) -> Target[P, T] | Callable[[Callable[P, T]], Target[P, T]]:
    """Define a sensor: a long-running target, restarted when it ends.

    Sensors appear in manifests now; running them arrives with sensors.

    Args:
        fn: the function (when used bare).
        name: the target name (default: the function's name).
        requires: tags an agent must provide.

    Returns:
        A ``Target`` (or a decorator making one).

    Raises:
        TypeError, ValueError: bad options.
    """

    def decorate(fn: Callable[P, T]) -> Target[P, T]:
        return _build(fn, "sensor", name, {"requires": requires})

    return decorate if fn is None else decorate(fn)
