"""Assets inside an execution: persisting files, and restoring them safely.

Two APIs share this module. 0.4's ``cf.persist_asset`` persists a file or a
directory (``persist``) and ``asset.restore(to)`` puts it back (``restore``).
Upstream Coflux 0.11's ``cf.asset`` makes a collection of entries
(``coflux.sdk.asset_sources``); its ``asset.entries``, ``asset[path].restore()``
and ``asset.restore(match=, at=)`` (``describe``, ``restore_entries``,
``restore_selected``) work on any asset, and return a dict of entry path to
restored file.

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
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, TypeVar

from coflux import protocol
from coflux.sdk.context import ExecutionContext
from coflux.sdk.handles import Asset, AssetEntry
from coflux.serialization import BlobAccess

__all__ = [
    "UnsafeAssetPath",
    "describe",
    "matches",
    "path_problem",
    "persist",
    "restore",
    "restore_entries",
    "restore_selected",
    "safe_destination",
]

T = TypeVar("T")
R = TypeVar("R")

_ID_ALPHABET = string.ascii_lowercase + string.digits
_DRIVE = re.compile(r"^[A-Za-z]:")
_PARALLEL = 4  # files moved at once
_BRACES = re.compile(r"\{([^{}]*)\}")
COLLECTION = "collection"
"""The metadata key marking an asset made by ``cf.asset`` (restored as a dict)."""


class UnsafeAssetPath(ValueError):
    """An asset entry's path would lead outside the asset's root: when it is
    persisted, or written outside the directory it is restored into."""


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


def matches(path: str, pattern: str) -> bool:
    """Whether entry ``path`` matches the glob ``pattern``, as upstream Coflux matches.

    ``*`` and ``?`` match any characters, ``/`` included (``fnmatch``, case
    sensitive on every OS), and ``{a,b}`` alternatives are expanded first, so
    ``"images/*.{jpg,png}"`` selects both kinds.
    """
    return any(fnmatchcase(path, alternative) for alternative in _alternatives(pattern))


def _alternatives(pattern: str) -> list[str]:
    found = _BRACES.search(pattern)
    if found is None:
        return [pattern]
    head, tail = pattern[: found.start()], pattern[found.end() :]
    return [
        expanded
        for choice in found.group(1).split(",")
        for expanded in _alternatives(head + choice + tail)
    ]


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


def new_asset_id() -> str:
    """A fresh asset id, chosen by the executor so that a resent request records once."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))


def parallel(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``fn`` of each item, a few at a time (files move over the network), in order."""
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


def handle_of(info: protocol.AssetInfo) -> Asset:
    """The handle of an asset as the server described it, its entries known."""
    asset = Asset(
        info.id,
        kind=info.kind,
        path=info.path,
        size=info.size,
        file_count=info.file_count,
        metadata=info.metadata,
    )
    asset._entries = tuple(_entry(entry) for entry in info.entries)
    return asset


def _entry(entry: protocol.AssetEntry) -> AssetEntry:
    import mimetypes

    media_type, _ = mimetypes.guess_type(entry.path.rsplit("/", 1)[-1])
    return AssetEntry(
        entry.path, entry.blob, entry.size, {"type": media_type} if media_type else {}
    )


def blob_access(ctx: ExecutionContext, doing: str) -> BlobAccess:
    blobs = ctx.values.blobs
    if blobs is None:
        raise RuntimeError(f"{doing} needs the blob store, which is not configured")
    return blobs


def persist(ctx: ExecutionContext, path: str | os.PathLike[str] | None, match: str | None) -> Asset:
    """Upload a file or directory and record it as an asset (``cf.persist_asset``).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``match`` given for a file, or ``path`` is neither file nor directory.
        RuntimeError: the server refused the asset, or there is no blob store.
    """
    blobs = blob_access(ctx, "persisting an asset")
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
    uploaded = parallel(lambda file: blobs.upload_file(str(file)), files)
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
    asset_id = new_asset_id()
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
    return handle_of(reply.asset)


def describe(ctx: ExecutionContext, asset_id: str) -> Asset:
    """The asset as the server recorded it, entries included (``asset.entries``).

    Asking records that this execution used (restored from) the asset, as the
    lineage Studio shows: reading entries is how 0.11 code restores files.

    Raises:
        LookupError: the server does not know the asset.
    """
    reply = ctx.asset_request(
        lambda request_id: protocol.RestoreAsset(
            request_id=request_id, execution_id=ctx.execution_id, asset_id=asset_id
        )
    )
    if reply.error is not None or reply.asset is None:
        message = reply.error.message if reply.error is not None else "no answer"
        raise LookupError(f"cannot restore asset {asset_id}: {message}")
    return handle_of(reply.asset)


def restore(ctx: ExecutionContext, asset: Asset, to: str | os.PathLike[str] | None) -> Any:
    """Write an asset's files under the working directory (or ``to``) (``asset.restore``);
    a file asset given ``to`` is written as ``to`` itself.

    Returns:
        The restored file or directory; for an asset made by ``cf.asset``, a dict
        of entry path to restored file (``restore_entries``).

    Raises:
        UnsafeAssetPath: an entry would land outside the restore directory
            (nothing is written).
        LookupError: the server does not know the asset.
        RuntimeError: there is no blob store.
    """
    blobs = blob_access(ctx, "restoring an asset")
    described = describe(ctx, asset.id)
    asset._learn(described)
    entries = described.entries
    if (described.metadata or {}).get(COLLECTION):
        return restore_entries(ctx, entries, to)
    if described.kind == "file" and to is not None and len(entries) == 1:
        # A file is restored as ``to`` itself, as upstream Coflux restores it.
        destination = ctx.working_dir / to
        destination.parent.mkdir(parents=True, exist_ok=True)
        blobs.download_to(entries[0].blob_key, str(destination))
        return destination
    path = described.path or "."
    problem = asset_path_problem(path)
    if problem is not None:
        raise UnsafeAssetPath(f"refusing to restore asset {asset.id} ({path!r}): {problem}")
    root = ctx.working_dir / to if to is not None else ctx.working_dir
    restore_entries(ctx, entries, to)
    return root if path == "." else root / path


def restore_selected(
    ctx: ExecutionContext, asset: Asset, match: str | None, at: str | os.PathLike[str] | None
) -> dict[str, Path]:
    """Restore the entries of ``asset`` that ``match`` selects (all without one)
    under ``at`` (``asset.restore(match=, at=)``).

    Returns:
        Each restored entry's path to where it was written.

    Raises:
        UnsafeAssetPath: an entry would land outside ``at`` (nothing is written).
        LookupError: the server does not know the asset.
    """
    selected = [e for e in asset.entries if match is None or matches(e.path, match)]
    return restore_entries(ctx, selected, at)


def restore_entries(
    ctx: ExecutionContext, entries: Sequence[AssetEntry], at: str | os.PathLike[str] | None
) -> dict[str, Path]:
    """Write each entry at its path under the working directory (or ``at``, relative
    to it), checking every one before writing any.

    Returns:
        Each entry's path to the file written (``AT/PATH``).

    Raises:
        UnsafeAssetPath: an entry's path is absolute, goes up, or would be written
            through a symlink leading outside the directory (nothing is written).
        RuntimeError: there is no blob store.
    """
    blobs = blob_access(ctx, "restoring an asset")
    root = ctx.working_dir / at if at is not None else ctx.working_dir
    # Every entry is checked before anything is written.
    plan = [(safe_destination(root, entry.path), entry) for entry in entries]

    def write(item: tuple[Path, AssetEntry]) -> None:
        destination, entry = item
        destination.parent.mkdir(parents=True, exist_ok=True)
        blobs.download_to(entry.blob_key, str(destination))

    root.mkdir(parents=True, exist_ok=True)
    parallel(write, plan)
    return {entry.path: root / entry.path for entry in entries}
