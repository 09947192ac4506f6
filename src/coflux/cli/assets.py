"""``coflux assets restore``: download an asset's files into a directory.

An asset is a list of entries (a relative path and a blob key); no entry may
land outside the restore directory, whatever the server or a peer recorded.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import click

from coflux.cli.context import CliState, api_options, pass_state
from coflux.cli.output import CliError, info, out


def safe_destination(root: Path, relative: str) -> Path:
    """``root / relative``, refusing absolute paths and ``..`` escapes.

    Raises:
        CliError: the path would leave ``root``.
    """
    parts = PurePosixPath(relative.replace("\\", "/"))
    destination = (root / parts).resolve()
    if parts.is_absolute() or not destination.is_relative_to(root.resolve()):
        raise CliError(f"refusing to restore {relative!r}: it is outside {root}")
    return destination


def _entries(asset: Any) -> list[tuple[str, str]]:
    entries = asset.get("entries") if isinstance(asset, dict) else None
    if not isinstance(entries, list):
        raise CliError("unexpected answer from the server: the asset has no entries")
    pairs: list[tuple[str, str]] = []
    for entry in entries:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("path"), str)
            and isinstance(entry.get("blob"), str)
        ):
            raise CliError("unexpected answer from the server: malformed asset entry")
        pairs.append((entry["path"], entry["blob"]))
    return pairs


@click.group()
def assets() -> None:
    """Work with assets that executions persisted."""


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
    """Restore ASSET_ID's files into a directory; prints the directory."""
    with state.client() as client:
        entries = _entries(client.get_asset(state.project(), asset_id))
        # Check every path before writing anything, so a bad asset changes nothing.
        targets = [(safe_destination(directory, path), blob) for path, blob in entries]
        for destination, blob in targets:
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(client.get_blob(blob))
    info(f"restored {len(targets)} file{'s' if len(targets) != 1 else ''}")
    out(str(directory.resolve()))
