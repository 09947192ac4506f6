"""``coflux assets``: inspect an asset, and restore its files into a directory.

An asset is a list of entries (a relative path and a blob key). Restoring
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

from coflux.cli.context import CliState, api_options, pass_state
from coflux.cli.output import CliError, emit_json, info, out, table
from coflux.client import Client
from coflux.sdk.assets import UnsafeAssetPath, asset_path_problem, safe_destination


@click.group()
def assets() -> None:
    """Work with assets that executions persisted."""


@assets.command("inspect")
@click.argument("asset_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@api_options
@pass_state
def inspect(state: CliState, asset_id: str, as_json: bool) -> None:
    """Show ASSET_ID: what it is, and its files."""
    with state.client() as client:
        asset = client.get_asset(state.project(), asset_id)
    if as_json:
        emit_json(asset)
        return
    info(
        f"asset {asset.id}: {asset.kind} {asset.path!r} from execution {asset.execution_id},"
        f" {asset.file_count} file{'s' if asset.file_count != 1 else ''}, {asset.size} bytes"
    )
    table(["PATH", "SIZE", "BLOB"], [[e.path, str(e.size), e.blob[:12]] for e in asset.entries])


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
