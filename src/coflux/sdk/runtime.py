"""Functions user code calls while it runs: logging, suspension, checkpoints, assets.

Logging works everywhere: inside an execution an entry goes to the agent (the
template and the serialised values, so UIs can render and filter them); outside
one it goes to the standard ``logging`` module, so plain runs and tests still
show it. Assets are persisted and restored by ``coflux.sdk.assets`` (and
made by ``cf.asset`` in ``coflux.sdk.asset_sources``). Suspension
ends the execution with a ``context.Suspension`` the executor reports; a checkpoint
records the arguments a sensor restarts with.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import string
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

from coflux import protocol
from coflux.sdk import context
from coflux.sdk.handles import Asset

if TYPE_CHECKING:
    from coflux.sdk.asset_sources import Sources

__all__ = [
    "asset",
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


def _log(level: protocol.LogLevel, template: str | None, values: Mapping[str, Any]) -> None:
    if not template:
        # Values only (upstream Coflux allows a call without a template): each shown
        # as name=value, through placeholders, so every log view renders it alike.
        template = " ".join(f"{name}={{{name}}}" for name in values)
    ctx = context.current()
    if ctx is None:
        _logger.log(_LEVELS[level], "%s", _render(template, values))
    else:
        ctx.log(level, template, values)


def log_debug(template: str | None = None, **values: Any) -> None:
    """Log a structured debug message; ``{name}`` placeholders are filled from ``values``.

    Args:
        template: the message, with ``{name}`` placeholders; without one, the
            entry is its values alone (``cf.log_info(event="login", user=42)``).
        **values: the placeholders' values (any serialisable value); values
            without a placeholder are shown beside the message.
    """
    _log("debug", template, values)


def log_info(template: str | None = None, **values: Any) -> None:
    """Log a structured info message (see ``log_debug``)."""
    _log("info", template, values)


def log_warning(template: str | None = None, **values: Any) -> None:
    """Log a structured warning (see ``log_debug``)."""
    _log("warning", template, values)


def log_error(template: str | None = None, **values: Any) -> None:
    """Log a structured error message (see ``log_debug``)."""
    _log("error", template, values)


def suspense(timeout: float | dt.timedelta | None = None) -> AbstractContextManager[None]:
    """Suspend the execution if a ``.result()`` inside the block waits too long.

    Inside the block, waiting longer than ``timeout`` for a result ends this
    execution as *suspended*; it is run again from the start once the awaited
    result exists (memoised calls made before are not executed again).

    Args:
        timeout: seconds (or a ``timedelta``) to wait before suspending; ``None``
            suspends at once when a result is not ready.

    Returns:
        A context manager.

    Raises:
        RuntimeError: outside an execution.
    """
    context.require("cf.suspense")
    seconds = timeout.total_seconds() if isinstance(timeout, dt.timedelta) else timeout
    return context.suspense(max(0.0, seconds or 0.0))


def suspend(delay_or_datetime: float | dt.timedelta | dt.datetime | None = None) -> NoReturn:
    """End this execution now and run it again later, from the start.

    Args:
        delay_or_datetime: when to run again: a delay in seconds, a ``timedelta``
            or a ``datetime`` (naive ones are local time); ``None`` runs it again
            as soon as possible.

    Raises:
        RuntimeError: outside an execution.
    """
    context.require("cf.suspend")
    match delay_or_datetime:
        case None:
            due_at = None
        case dt.datetime():
            due_at = delay_or_datetime.timestamp()
        case dt.timedelta():
            due_at = time.time() + delay_or_datetime.total_seconds()
        case _:
            due_at = time.time() + float(delay_or_datetime)
    raise context.Suspension(due_at=due_at)


def checkpoint(*args: Any) -> None:
    """Record a sensor's progress: when it restarts, it receives these arguments.

    Args:
        *args: the arguments the sensor restarts with (its parameters, in order).

    Raises:
        RuntimeError: outside an execution.
    """
    context.require("cf.checkpoint").checkpoint(args)


def persist_asset(path: str | os.PathLike[str] | None = None, *, match: str | None = None) -> Asset:
    """Persist a file or a directory so that other executions can restore it.

    Each file is uploaded to the blob store; the asset is recorded against this
    execution. Paths inside the working directory are kept relative to it, so
    restoring puts files back at the same relative paths.

    Args:
        path: the file or directory, relative to the working directory
            (default: the whole working directory).
        match: a glob filtering the files of a directory, relative to it
            (``"*.csv"``; ``"**/*.csv"`` for every level).

    Returns:
        A handle to the asset (id, kind, path, size, file count, metadata),
        which can be passed to other executions.

    Raises:
        RuntimeError: not inside a Coflux execution.
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``match`` was given for a single file.
    """
    from coflux.sdk import assets

    return assets.persist(context.require("persisting an asset"), path, match)


def restore_asset(asset: Asset, to: str | os.PathLike[str] | None = None) -> Path:
    """Restore an asset's files (same as ``asset.restore(to)``).

    Args:
        asset: the asset handle.
        to: the directory to restore into, relative to the working directory
            (default: the working directory).

    Returns:
        The restored file or directory.

    Raises:
        RuntimeError: not inside a Coflux execution.
        coflux.sdk.assets.UnsafeAssetPath: an entry would land outside the
            restore directory; nothing is written.
    """
    return cast(Path, asset.restore() if to is None else asset.restore(to))


def asset(
    entries: Sources = None,
    *,
    at: str | os.PathLike[str] | None = None,
    match: str | None = None,
    name: str | None = None,
) -> Asset:
    """Create an asset (upstream Coflux 0.11's API): a named collection of files.

    Each file is uploaded to the blob store (equal contents once); entries taken
    from other assets reuse their content without uploading it again. The asset
    is recorded against this execution; ``asset.restore()`` returns a dict of
    entry path to restored file.

    Args:
        entries: what to include: nothing (every file under the working directory,
            or under ``at``); a file or directory path, or a list of them; an
            ``Asset`` (its entries); or a dict of path in the asset to a file, a
            directory, an ``Asset`` (its entries under that folder) or an
            ``AssetEntry``.
        at: the base directory that paths and the whole-directory default are
            relative to (relative to the working directory; not with a dict).
        match: a glob keeping only the entries whose path it matches
            (``"**/*.csv"``, ``"*.{jpg,png}"``; ``*`` also matches ``/``).
        name: a name for the asset, shown in Studio and the CLI.

    Returns:
        A handle to the asset, which can be passed to other executions.

    Raises:
        RuntimeError: not inside a Coflux execution.
        FileNotFoundError: a named file or directory does not exist.
        coflux.sdk.assets.UnsafeAssetPath: a path in the asset is absolute or
            leads out of it (``..``).
        ValueError: no files were found, a path is given twice, or ``at`` was
            given with a dict.
    """
    from coflux.sdk import asset_sources

    ctx = context.require("creating an asset")
    return asset_sources.create(ctx, entries, at=at, match=match, name=name)


class ExecutionLogHandler(logging.Handler):
    """Sends standard ``logging`` records made inside an execution as its log entries.

    Installed on the root logger by the executor process. A record keeps its
    level and its logger's name (``values["logger"]``); its message, already
    formatted by ``logging``, travels as a value, so braces in it are not taken
    for placeholders. Records made outside an execution are left to other handlers.
    """

    def emit(self, record: logging.LogRecord) -> None:
        ctx = context.current()
        if ctx is None or record.name.startswith("coflux."):
            return  # the engine's own records are the agent's business, not the user's
        try:
            message = record.getMessage()
            if record.exc_info:
                message = f"{message}\n{logging.Formatter().formatException(record.exc_info)}"
            ctx.log(
                _level_name(record.levelno),
                "{message}",
                {"message": message, "logger": record.name},
            )
        except Exception:
            self.handleError(record)


def _level_name(levelno: int) -> protocol.LogLevel:
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warning"
    if levelno >= logging.INFO:
        return "info"
    return "debug"


def capture_standard_logging() -> None:
    """Make standard ``logging`` records inside executions this process's log entries.

    The root logger's level is lowered to INFO (from WARNING) so that an
    execution's ``logger.info(...)`` is not lost; DEBUG stays off unless user
    code asks for it.
    """
    root = logging.getLogger()
    if not any(isinstance(handler, ExecutionLogHandler) for handler in root.handlers):
        root.addHandler(ExecutionLogHandler())
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
