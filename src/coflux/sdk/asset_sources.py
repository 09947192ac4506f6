"""``cf.asset``: an asset made from files, a directory, globs and other assets' entries.

What ``cf.asset`` is given (upstream Coflux 0.11's shapes) is resolved here into
a list of entries, each a path in the new asset and where its content comes
from: a file to upload, or an existing entry (a blob the store already has).

- nothing: every file under the base (the working directory, or ``at``);
- a path (``str``/``Path``), or a list of them: each file, or each file of a
  directory, at its path relative to the base (a file outside the base keeps
  its name only, a directory outside it its own name as the top folder);
- an ``Asset``: its entries, at their paths;
- a dict of path in the asset -> file, directory, ``Asset`` (its entries go
  under that path as a folder) or ``AssetEntry``.

``match`` (a glob: ``coflux.sdk.assets.matches``) then keeps the entries whose
path in the asset it matches. Entries taken from other assets are not
downloaded or uploaded again: their blob keys are reused, which is what makes
composing assets cheap. Files are content-addressed too: files with equal
content in one call are uploaded once.

Every path in the asset is checked (``path_problem``: relative, normalised, no
``..``, no drive or backslash root) before anything is uploaded, so nothing can
name a place outside the asset's root, whatever OS the restore happens on.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from coflux import protocol
from coflux.sdk.assets import (
    COLLECTION,
    UnsafeAssetPath,
    blob_access,
    handle_of,
    matches,
    new_asset_id,
    parallel,
    path_problem,
)
from coflux.sdk.context import ExecutionContext
from coflux.sdk.handles import Asset, AssetEntry

__all__ = ["Sources", "create"]

FilePath = str | os.PathLike[str]
Sources = FilePath | Sequence[FilePath] | Asset | Mapping[str, FilePath | Asset | AssetEntry] | None
"""What ``cf.asset`` takes (see the module docstring)."""


@dataclass(frozen=True)
class _Planned:
    """One entry of the asset being made: from a local file, or an existing blob."""

    path: str
    file: Path | None = None
    existing: AssetEntry | None = None


def create(
    ctx: ExecutionContext,
    sources: Sources,
    *,
    at: FilePath | None,
    match: str | None,
    name: str | None,
) -> Asset:
    """Make and record an asset (``cf.asset``).

    A named file or directory that does not exist is left out, with a warning in
    the execution's log (upstream leaves it out silently; code written for it runs
    unchanged, and the log says what was missing).

    Raises:
        UnsafeAssetPath: a path in the asset is absolute or leads outside it.
        ValueError: ``at`` with a dict, a path given twice, an unknown kind of
            source, or no files at all.
        RuntimeError: the server refused the asset, or there is no blob store.
    """
    base = Path(os.path.realpath(ctx.working_dir / at if at is not None else ctx.working_dir))
    missing: list[str] = []
    planned = _plan(ctx, sources, base, at is not None, missing)
    if missing:
        ctx.log(
            "warning",
            "cf.asset left out what does not exist: {missing}",
            {"missing": ", ".join(missing)},
        )
    if match is not None:
        planned = [p for p in planned if matches(p.path, match)]
    if not planned:
        raise ValueError("no files found to create the asset")
    seen: set[str] = set()
    for item in planned:
        problem = path_problem(item.path)
        if problem is not None:
            raise UnsafeAssetPath(f"cannot put {item.path!r} in an asset: {problem}")
        if item.path in seen:
            raise ValueError(f"cannot create the asset: {item.path!r} is given twice")
        seen.add(item.path)
    entries = _upload(ctx, planned)
    metadata: dict[str, object] = {COLLECTION: True}
    if name is not None:
        metadata["name"] = name
    asset_id = new_asset_id()
    reply = ctx.asset_request(
        lambda request_id: protocol.PersistAsset(
            request_id=request_id,
            execution_id=ctx.execution_id,
            asset_id=asset_id,
            kind="directory",
            path=".",
            entries=entries,
            metadata=metadata,
        )
    )
    if reply.error is not None or reply.asset is None:
        message = reply.error.message if reply.error is not None else "no answer"
        raise RuntimeError(f"the server did not record the asset: {message}")
    return handle_of(reply.asset)


def _plan(
    ctx: ExecutionContext, sources: Sources, base: Path, at_given: bool, missing: list[str]
) -> list[_Planned]:
    if sources is None:
        return [_Planned(_relative(f, base), f) for f in _walk(base)]
    if isinstance(sources, Asset):
        return [_Planned(e.path, existing=e) for e in sources.entries]
    if isinstance(sources, Mapping):
        if at_given:
            raise ValueError("cf.asset: `at` cannot be given with a dict of entries")
        return [
            item for path, source in sources.items() for item in _named(ctx, path, source, missing)
        ]
    if isinstance(sources, str | os.PathLike):
        return _local(base, sources, missing)
    if isinstance(sources, Sequence):
        return [item for source in sources for item in _local(base, source, missing)]
    raise ValueError(f"cf.asset cannot make an asset from {type(sources).__name__}")


def _local(base: Path, source: object, missing: list[str]) -> list[_Planned]:
    """A file or directory given by path, at its path relative to the base (none,
    and ``source`` added to ``missing``, if there is nothing there)."""
    if not isinstance(source, str | os.PathLike):
        raise ValueError(f"cf.asset expects file paths in a list, not {type(source).__name__}")
    path = _real(base / source)
    if path.is_file():
        inside = path.is_relative_to(base)
        return [_Planned(_relative(path, base) if inside else path.name, path)]
    if path.is_dir():
        top = base if path.is_relative_to(base) else path.parent
        return [_Planned(_relative(f, top), f) for f in _walk(path)]
    missing.append(os.fspath(source))
    return []


def _named(ctx: ExecutionContext, path: str, source: object, missing: list[str]) -> list[_Planned]:
    """The entries a dict item ``path: source`` stands for (as ``_local`` for a path)."""
    if isinstance(source, AssetEntry):
        return [_Planned(path, existing=source)]
    if isinstance(source, Asset):
        return [_Planned(f"{path}/{e.path}", existing=e) for e in source.entries]
    if isinstance(source, str | os.PathLike):
        file = Path(os.path.abspath(ctx.working_dir / source))
        if file.is_file():
            return [_Planned(path, file)]
        if file.is_dir():
            return [_Planned(f"{path}/{_relative(f, file)}", f) for f in _walk(file)]
        missing.append(os.fspath(source))
        return []
    raise ValueError(f"cf.asset cannot take a {type(source).__name__} as the entry {path!r}")


def _walk(directory: Path) -> list[Path]:
    """Every file under ``directory``, in order (symlinked directories not followed)."""
    found: Iterable[Path] = (
        Path(folder, name)
        for folder, _, names in os.walk(directory, followlinks=False)
        for name in names
    )
    return sorted(path for path in found if path.is_file())


def _real(path: Path) -> Path:
    """``path`` with its directories' symlinks resolved (not the file's own), so that
    ``Path.cwd() / name`` is seen inside a working directory reached by a symlink."""
    absolute = Path(os.path.abspath(path))
    return Path(os.path.realpath(absolute.parent)) / absolute.name


def _relative(path: Path, base: Path) -> str:
    return path.relative_to(base).as_posix()


def _upload(ctx: ExecutionContext, planned: Sequence[_Planned]) -> tuple[protocol.AssetEntry, ...]:
    """The entries, once the files among them are in the blob store."""
    files = list(dict.fromkeys(p.file for p in planned if p.file is not None))
    uploaded: dict[Path, tuple[str, int]] = {}
    if files:
        blobs = blob_access(ctx, "creating an asset")
        representative = _distinct(files)
        to_send = sorted(set(representative.values()))
        sent = dict(
            zip(to_send, parallel(lambda f: blobs.upload_file(str(f)), to_send), strict=True)
        )
        uploaded = {file: sent[representative[file]] for file in files}
    entries = []
    for item in planned:
        if item.existing is not None:
            key, size = item.existing.blob_key, item.existing.size
        else:
            assert item.file is not None
            key, size = uploaded[item.file]
        entries.append(protocol.AssetEntry(path=item.path, size=size, blob=key))
    return tuple(entries)


def _distinct(files: Sequence[Path]) -> dict[Path, Path]:
    """Each file -> the one file whose upload stands for its content.

    Content-addressed, equal files are one blob: they are uploaded once. Only
    files whose size another file shares can be equal, so only those are hashed
    here (the upload hashes the rest anyway).
    """
    sizes = {file: file.stat().st_size for file in files}
    counts = Counter(sizes.values())
    first_with: dict[str, Path] = {}
    representative: dict[Path, Path] = {}
    for file in files:
        if counts[sizes[file]] > 1:
            representative[file] = first_with.setdefault(_sha256(file), file)
        else:
            representative[file] = file
    return representative


def _sha256(file: Path) -> str:
    with open(file, "rb") as opened:
        return hashlib.file_digest(opened, "sha256").hexdigest()
