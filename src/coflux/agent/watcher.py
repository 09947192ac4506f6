"""Watches the source files of the agent's repositories (``coflux agent --watch``).

Only Python files count; watchfiles debounces bursts of changes (an editor's
save, a ``git checkout``) into one batch, so each batch causes one reload.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path

from watchfiles import PythonFilter, awatch

logger = logging.getLogger(__name__)


def _is_file_spec(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or "\\" in spec


def _module_path(module: str, search: Iterable[Path]) -> Path | None:
    """Where a module's source lives, found without importing it (no user code runs).

    A module inside a package is watched through its top-level package, since
    it may import its siblings.
    """
    top = module.split(".", 1)[0]
    for entry in search:
        if (entry / top).is_dir():
            return entry / top
        if (entry / f"{top}.py").is_file():
            return entry / f"{top}.py"
    return None


def source_paths(repositories: Sequence[str], cwd: Path | None = None) -> list[Path]:
    """The files and directories to watch for the given repository specs.

    A script (``flows/hello.py``) is watched through its directory, because it
    may import modules next to it.
    """
    base = cwd or Path.cwd()
    search = [base, *(Path(p) for p in sys.path if p)]
    paths: dict[Path, None] = {}
    for spec in repositories:
        if _is_file_spec(spec):
            path: Path | None = (base / spec).resolve().parent
        else:
            path = _module_path(spec, search)
        if path is None:
            logger.warning("cannot find the source of %s; changes to it are not watched", spec)
        else:
            paths[path.resolve()] = None
    return list(paths)


async def watch(
    repositories: Sequence[str],
    on_change: Callable[[list[str]], Awaitable[None]],
    stop: asyncio.Event,
) -> None:
    """Call ``on_change`` with the changed paths after each batch of changes, until ``stop``."""
    paths = source_paths(repositories)
    if not paths:
        return
    logger.info("watching %s for changes", ", ".join(str(p) for p in paths))
    async for changes in awatch(*paths, watch_filter=PythonFilter(), stop_event=stop):
        changed = sorted({path for _, path in changes})
        logger.info("changed: %s; reloading", ", ".join(changed))
        await on_change(changed)
