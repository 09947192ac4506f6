"""Assets inside an execution: persisting files, and restoring them safely.

``persist`` uploads each file to the blob store (straight from the executor,
over HTTP) and then records the asset with the server (``PersistAsset``, through
the agent), which answers with the asset as recorded. ``restore`` asks the
server for the asset's entries (``RestoreAsset``, which also records that this
execution restored it) and writes each file from the agent's blob cache.

Paths: an asset's entries are relative paths (POSIX separators) from a *base*
directory: the persisting execution's working directory when the asset lies
inside it, else the asset's parent directory. Restoring writes them under the
restore directory at the same relative paths. An entry that is empty,
absolute, or has ``..`` (or empty or ``.``) parts is refused, as is one that
would be written through a symlink pointing outside the restore directory;
every entry is checked before anything is written, so a bad asset changes
nothing. The server refuses such entries when an asset is recorded, and the
CLI (``coflux assets restore``) applies the same checks.
"""

from __future__ import annotations

import os
import re
import secrets
import string
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from coflux import protocol
from coflux.sdk.context import ExecutionContext
from coflux.sdk.handles import Asset

__all__ = ["UnsafeAssetPath", "path_problem", "persist", "restore", "safe_destination"]

T = TypeVar("T")
R = TypeVar("R")

_ID_ALPHABET = string.ascii_lowercase + string.digits
_DRIVE = re.compile(r"^[A-Za-z]:")
_PARALLEL = 4  # files moved at once


class UnsafeAssetPath(ValueError):
    """An asset entry would be written outside the directory it is restored into."""


def path_problem(path: str) -> str | None:
    """Why ``path`` cannot be an asset entry's path, or ``None`` if it can.

    Backslashes count as separators here, so ``..\\x`` is refused everywhere.
    """
    if not path:
        return "it is empty"
    if "\x00" in path:
        return "it contains a NUL character"
    if path.startswith(("/", "\\")) or _DRIVE.match(path):
        return "it is absolute"
    parts = path.replace("\\", "/").split("/")
    if ".." in parts:
        return "it goes up a directory ('..')"
    if any(part in ("", ".") for part in parts):
        return "it is not a normalised relative path"
    return None


def asset_path_problem(path: str) -> str | None:
    """Like ``path_problem``, for an asset's own path, which may also be ``"."``."""
    return None if path == "." else path_problem(path)


def safe_destination(root: Path, path: str) -> Path:
    """Where entry ``path`` is restored under ``root``, if that is safely inside it.

    Raises:
        UnsafeAssetPath: the path is absolute, goes up (``..``), or would be
            written through a symlink that leads outside ``root``.
    """
    problem = path_problem(path)
    if problem is not None:
        raise UnsafeAssetPath(f"refusing to restore {path!r}: {problem}")
    inside = root.resolve()
    # resolve() follows every symlink that exists along the way (the file included).
    destination = (root / path).resolve()
    if not destination.is_relative_to(inside):
        raise UnsafeAssetPath(
            f"refusing to restore {path!r}: it would be written outside {root} "
            f"(to {destination}, through a symlink)"
        )
    return destination


def _new_asset_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))


def _parallel(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    if len(items) <= 1:
        return [fn(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=_PARALLEL, thread_name_prefix="coflux-asset") as pool:
        return list(pool.map(fn, items))


def _files(directory: Path, match: str | None) -> list[Path]:
    found: Iterable[Path]
    if match is not None:
        found = directory.glob(match)
    else:
        found = (
            Path(folder, name)
            for folder, _, names in os.walk(directory, followlinks=False)
            for name in names
        )
    return sorted({path for path in found if path.is_file()})


def _handle(info: protocol.AssetInfo) -> Asset:
    return Asset(
        info.id,
        kind=info.kind,
        path=info.path,
        size=info.size,
        file_count=info.file_count,
        metadata=info.metadata,
    )


def persist(ctx: ExecutionContext, path: str | os.PathLike[str] | None, match: str | None) -> Asset:
    """Upload a file or directory and record it as an asset (``cf.persist_asset``).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``match`` given for a file, or ``path`` is neither file nor directory.
        RuntimeError: the server refused the asset, or there is no blob store.
    """
    blobs = ctx.values.blobs
    if blobs is None:
        raise RuntimeError("persisting an asset needs the blob store, which is not configured")
    workdir = Path(os.path.abspath(ctx.working_dir))
    target = Path(os.path.abspath(workdir / (path if path is not None else ".")))
    shown = os.fspath(path) if path is not None else "the working directory"
    if target.is_file():
        if match is not None:
            raise ValueError(f"cannot persist {shown} with match={match!r}: it is a file")
        kind: protocol.AssetKind = "file"
        files = [target]
    elif target.is_dir():
        kind = "directory"
        files = _files(target, match)
    elif target.exists():
        raise ValueError(f"cannot persist {shown}: it is neither a file nor a directory")
    else:
        raise FileNotFoundError(f"cannot persist {shown}: no such file or directory")
    base = workdir if target.is_relative_to(workdir) else target.parent
    relative = [file.relative_to(base).as_posix() for file in files]
    for entry_path in relative:
        problem = path_problem(entry_path)
        if problem is not None:
            raise ValueError(f"cannot persist {entry_path!r}: {problem}")
    uploaded = _parallel(lambda file: blobs.upload_file(str(file)), files)
    entries = tuple(
        protocol.AssetEntry(path=p, size=size, blob=key)
        for p, (key, size) in zip(relative, uploaded, strict=True)
    )
    metadata: dict[str, object] = {}
    if kind == "file":
        import mimetypes

        content_type, _ = mimetypes.guess_type(target.name)
        if content_type is not None:
            metadata["content_type"] = content_type
    elif match is not None:
        metadata["match"] = match
    asset_id = _new_asset_id()
    reply = ctx.asset_request(
        lambda request_id: protocol.PersistAsset(
            request_id=request_id,
            execution_id=ctx.execution_id,
            asset_id=asset_id,
            kind=kind,
            path=target.relative_to(base).as_posix() if target != base else ".",
            entries=entries,
            metadata=metadata,
        )
    )
    if reply.error is not None or reply.asset is None:
        message = reply.error.message if reply.error is not None else "no answer"
        raise RuntimeError(f"the server did not record the asset: {message}")
    return _handle(reply.asset)


def restore(ctx: ExecutionContext, asset: Asset, to: str | os.PathLike[str] | None) -> Path:
    """Write an asset's files under the working directory (or ``to``) (``asset.restore``);
    a file asset given ``to`` is written as ``to`` itself.

    Returns:
        The restored file or directory.

    Raises:
        UnsafeAssetPath: an entry would land outside the restore directory
            (nothing is written).
        LookupError: the server does not know the asset.
        RuntimeError: there is no blob store.
    """
    blobs = ctx.values.blobs
    if blobs is None:
        raise RuntimeError("restoring an asset needs the blob store, which is not configured")
    reply = ctx.asset_request(
        lambda request_id: protocol.RestoreAsset(
            request_id=request_id, execution_id=ctx.execution_id, asset_id=asset.id
        )
    )
    if reply.error is not None or reply.asset is None:
        message = reply.error.message if reply.error is not None else "no answer"
        raise LookupError(f"cannot restore asset {asset.id}: {message}")
    info = reply.asset
    if info.kind == "file" and to is not None and len(info.entries) == 1:
        # A file is restored as ``to`` itself, as upstream Coflux restores it.
        destination = ctx.working_dir / to
        destination.parent.mkdir(parents=True, exist_ok=True)
        blobs.download_to(info.entries[0].blob, str(destination))
        return destination
    root = ctx.working_dir / to if to is not None else ctx.working_dir
    problem = asset_path_problem(info.path)
    if problem is not None:
        raise UnsafeAssetPath(f"refusing to restore asset {info.id} ({info.path!r}): {problem}")
    # Every entry is checked before anything is written.
    plan = [(safe_destination(root, entry.path), entry) for entry in info.entries]

    def write(item: tuple[Path, protocol.AssetEntry]) -> None:
        destination, entry = item
        destination.parent.mkdir(parents=True, exist_ok=True)
        blobs.download_to(entry.blob, str(destination))

    root.mkdir(parents=True, exist_ok=True)
    _parallel(write, plan)
    return root if info.path == "." else root / info.path
