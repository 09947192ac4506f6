"""``coflux assets``: list a run's assets, show one, download its files.

``list RUN`` shows the assets a run's executions made; ``show ID`` (also
``inspect``, 0.4's name) the entries of one; ``download ID [PATH_OR_GLOB...]
--to DIR`` writes all its files, or those the paths and globs select, under DIR
at their paths in the asset; ``restore ID --to DIR`` (0.4) writes it all and
prints the restored file or directory.

An asset is a list of entries (a relative path and a blob key). Writing
checks every entry before writing anything (``coflux.sdk.assets.safe_destination``:
no absolute paths, no ``..``, no symlink leading outside the directory), so a
bad asset changes nothing; each file is streamed to a temporary file, checked
against its key, and renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import click

from coflux import protocol
from coflux.cli.context import CliState, api_options, pass_state
from coflux.cli.output import CliError, emit_json, fmt_time, info, out, table
from coflux.client import Client
from coflux.sdk.assets import UnsafeAssetPath, asset_path_problem, matches, safe_destination


@click.group()
def assets() -> None:
    """Work with assets that executions persisted."""


@assets.command("list")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@api_options
@pass_state
def list_assets(state: CliState, run_id: str, as_json: bool) -> None:
    """List the assets RUN_ID's executions made (oldest first)."""
    with state.client() as client:
        found = client.list_run_assets(state.project(), run_id)
    if as_json:
        emit_json(found)
        return
    if not found.assets:
        info(f"run {run_id} has no assets")
        return
    rows = [
        [a.id, _name(a.kind, a.path, a.metadata), str(a.file_count), _size(a.size),
         a.execution_id, fmt_time(a.created_at)]
        for a in found.assets
    ]  # fmt: skip
    table(["ID", "NAME", "FILES", "SIZE", "EXECUTION", "CREATED"], rows)


@assets.command("show")
@click.argument("asset_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@api_options
@pass_state
def show(state: CliState, asset_id: str, as_json: bool) -> None:
    """Show ASSET_ID: what it is, and its files."""
    with state.client() as client:
        asset = client.get_asset(state.project(), asset_id)
    if as_json:
        emit_json(asset)
        return
    info(
        f"asset {asset.id}: {_name(asset.kind, asset.path, asset.metadata)} from execution"
        f" {asset.execution_id}, {asset.file_count} file{'s' if asset.file_count != 1 else ''},"
        f" {asset.size} bytes"
    )
    table(
        ["PATH", "SIZE", "TYPE", "BLOB"],
        [[e.path, str(e.size), _media_type(e.path), e.blob[:12]] for e in asset.entries],
    )


assets.add_command(show, "inspect")  # 0.4's name for it


def _name(kind: str, path: str, metadata: dict[str, object]) -> str:
    name = metadata.get("name")
    if isinstance(name, str):
        return name
    return "(collection)" if metadata.get("collection") else f"{kind} {path}"


def _size(size: int) -> str:
    """``size`` bytes for a person: ``512 B``, ``1.5 KB``, ``3.2 MB``..."""
    if size < 1024:
        return f"{size} B"
    scaled = float(size)
    for unit in ("KB", "MB", "GB"):
        scaled /= 1024
        if scaled < 1024 or unit == "GB":
            break
    return f"{scaled:.1f} {unit}"


def _media_type(path: str) -> str:
    import mimetypes

    found, _ = mimetypes.guess_type(path.rsplit("/", 1)[-1])
    return found or "-"


def _download(client: Client, key: str, destination: Path) -> None:
    descriptor, name = tempfile.mkstemp(dir=destination.parent, prefix=".coflux-")
    try:
        with os.fdopen(descriptor, "wb") as file:
            client.download_blob(key, file)
        # Replaces whatever is there (a symlink included) instead of writing through it.
        os.replace(name, destination)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


@assets.command("restore")
@click.argument("asset_id")
@click.option(
    "--to",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="Directory to restore into (default: here).",
)
@api_options
@pass_state
def restore(state: CliState, asset_id: str, directory: Path) -> None:
    """Restore ASSET_ID's files into a directory; prints the restored path."""
    with state.client() as client:
        asset = client.get_asset(state.project(), asset_id)
        problem = asset_path_problem(asset.path)
        if problem is not None:
            raise CliError(f"refusing to restore asset {asset_id} ({asset.path!r}): {problem}")
        try:
            # Check every path before writing anything, so a bad asset changes nothing.
            plan = [(safe_destination(directory, e.path), e.blob) for e in asset.entries]
        except UnsafeAssetPath as e:
            raise CliError(str(e)) from None
        directory.mkdir(parents=True, exist_ok=True)
        for destination, blob in plan:
            destination.parent.mkdir(parents=True, exist_ok=True)
            _download(client, blob, destination)
    info(f"restored {len(plan)} file{'s' if len(plan) != 1 else ''}")
    restored = directory if asset.path == "." else directory / asset.path
    out(str(restored.resolve()))


@assets.command("download")
@click.argument("asset_id")
@click.argument("selected", nargs=-1, metavar="[PATH_OR_GLOB]...")
@click.option(
    "--to",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="Directory to write into (default: here).",
)
@api_options
@pass_state
def download(state: CliState, asset_id: str, selected: tuple[str, ...], directory: Path) -> None:
    """Download ASSET_ID's files (or those the paths or globs select) into a directory.

    Each file is written at its path in the asset under the directory; the
    files written are printed, one a line. A glob's ``*`` matches across
    folders and ``{a,b}`` gives alternatives (``"images/*.{jpg,png}"``).
    """
    with state.client() as client:
        asset = client.get_asset(state.project(), asset_id)
        entries = _selected(asset, selected)
        try:
            # Check every path before writing anything, so a bad asset changes nothing.
            plan = [(safe_destination(directory, e.path), e.blob) for e in entries]
        except UnsafeAssetPath as e:
            raise CliError(str(e)) from None
        directory.mkdir(parents=True, exist_ok=True)
        for destination, blob in plan:
            destination.parent.mkdir(parents=True, exist_ok=True)
            _download(client, blob, destination)
    info(f"downloaded {len(plan)} file{'s' if len(plan) != 1 else ''}")
    for entry in entries:
        out(str(directory / entry.path))


def _selected(asset: protocol.AssetInfo, selected: tuple[str, ...]) -> list[protocol.AssetEntry]:
    """The entries the paths or globs select (all without any); each must select one.

    Raises:
        CliError: a path or glob selects no entry.
    """
    if not selected:
        return list(asset.entries)
    chosen: dict[str, protocol.AssetEntry] = {}
    for wanted in selected:
        found = [e for e in asset.entries if e.path == wanted or matches(e.path, wanted)]
        if not found:
            raise CliError(f"asset {asset.id} has no file matching {wanted!r}")
        chosen.update((e.path, e) for e in found)
    return sorted(chosen.values(), key=lambda entry: entry.path)
