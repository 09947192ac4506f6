"""Functions user code calls while it runs: logging, suspension, checkpoints, assets.

Logging works everywhere: inside an execution an entry goes to the agent (the
template and the serialised values, so UIs can render and filter them); outside
one it goes to the standard ``logging`` module, so plain runs and tests still
show it. Suspension, checkpoints and assets are not built yet: they exist with
their final signatures and raise ``NotImplementedError`` naming the feature,
rather than silently doing nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import string
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NoReturn

from coflux import protocol
from coflux.sdk import context
from coflux.sdk.handles import Asset

__all__ = [
    "checkpoint",
    "log_debug",
    "log_error",
    "log_info",
    "log_warning",
    "persist_asset",
    "restore_asset",
    "suspend",
    "suspense",
]

_logger = logging.getLogger("coflux.sdk")
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _render(template: str, values: Mapping[str, Any]) -> str:
    try:
        return string.Formatter().vformat(template, (), _Missing(values))
    except (ValueError, IndexError, AttributeError, KeyError):  # a malformed template
        return f"{template} {dict(values)!r}"


def _log(level: protocol.LogLevel, template: str, values: Mapping[str, Any]) -> None:
    ctx = context.current()
    if ctx is None:
        _logger.log(_LEVELS[level], "%s", _render(template, values))
    else:
        ctx.log(level, template, values)


def log_debug(template: str, **values: Any) -> None:
    """Log a structured debug message; ``{name}`` placeholders are filled from ``values``.

    Args:
        template: the message, with ``{name}`` placeholders.
        **values: the placeholders' values (any serialisable value).
    """
    _log("debug", template, values)


def log_info(template: str, **values: Any) -> None:
    """Log a structured info message (see ``log_debug``)."""
    _log("info", template, values)


def log_warning(template: str, **values: Any) -> None:
    """Log a structured warning (see ``log_debug``)."""
    _log("warning", template, values)


def log_error(template: str, **values: Any) -> None:
    """Log a structured error message (see ``log_debug``)."""
    _log("error", template, values)


def suspense(timeout: float | dt.timedelta | None = None) -> AbstractContextManager[None]:
    """Suspend the execution if a ``.result()`` inside the block waits too long.

    Inside the block, waiting longer than ``timeout`` for a result suspends this
    execution; it is re-run from the start once the awaited result exists.

    Args:
        timeout: seconds (or a ``timedelta``) to wait before suspending; ``None``
            suspends at once when a result is not ready.

    Returns:
        A context manager.

    Raises:
        NotImplementedError: always, until suspension arrives.
    """
    raise NotImplementedError("cf.suspense arrives with suspension")


def suspend(delay_or_datetime: float | dt.timedelta | dt.datetime | None = None) -> NoReturn:
    """End this execution now and re-run it later.

    Args:
        delay_or_datetime: when to re-run: a delay in seconds, a ``timedelta``
            or a ``datetime``; ``None`` re-runs as soon as possible.

    Raises:
        NotImplementedError: always, until suspension arrives.
    """
    raise NotImplementedError("cf.suspend arrives with suspension")


def checkpoint(*args: Any) -> None:
    """Record a sensor's progress: on restart it receives these arguments.

    Args:
        *args: the arguments the sensor restarts with.

    Raises:
        NotImplementedError: always, until sensors arrive.
    """
    raise NotImplementedError("cf.checkpoint arrives with sensors")


def persist_asset(path: str | os.PathLike[str] | None = None, *, match: str | None = None) -> Asset:
    """Persist a file or a directory so that other executions can restore it.

    Args:
        path: the file or directory (default: the execution's working directory).
        match: a glob filtering the files of a directory.

    Returns:
        A handle to the asset, which can be passed to other executions.

    Raises:
        NotImplementedError: always, until assets arrive.
    """
    raise NotImplementedError("cf.persist_asset arrives with assets")


def restore_asset(asset: Asset, to: str | os.PathLike[str] | None = None) -> Path:
    """Restore an asset's files (same as ``asset.restore(to)``).

    Args:
        asset: the asset handle.
        to: the directory to restore into (default: the working directory).

    Returns:
        The path of the restored files.

    Raises:
        NotImplementedError: always, until assets arrive.
    """
    raise NotImplementedError("cf.restore_asset arrives with assets")
