"""Assets made with ``cf.asset`` (upstream Coflux 0.11's API): from files, a directory
and globs, composed from other assets, read by entry, restored partly; for the assets
integration tests (tests/integration/test_asset_collections.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import coflux as cf

IMAGE = bytes([0x89]) + b"PNG\r\n\x1a\n" + bytes(range(256)) * 8
CSV = "id,name\n" + "".join(f"{i},item {i}\n" for i in range(6000))
TEXT = "".join(f"line {i} of the notes\n" for i in range(5000))


@cf.task
def make_files() -> dict[str, cf.Asset]:
    """Assets from a file, a list, a directory, globs and ``at``."""
    for name, content in {
        "report/summary.txt": TEXT,
        "report/table.csv": CSV,
        "report/images/chart.png": IMAGE,
        "report/images/copy.png": IMAGE,  # equal content: one blob
        "scratch/notes.md": "# notes\n",
    }.items():
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return {
        "file": cf.asset("report/table.csv"),
        "list": cf.asset(["report/summary.txt", Path("scratch/notes.md")]),
        "directory": cf.asset("report", name="report"),
        "glob": cf.asset(match="**/*.png"),
        "at": cf.asset(match="*.{csv,txt}", at="report"),
        "everything": cf.asset(),
    }


@cf.task
def compose(made: dict[str, cf.Asset]) -> cf.Asset:
    """An asset of other assets' entries: nothing is uploaded."""
    directory = made["directory"]
    return cf.asset(
        {
            "images": made["glob"],
            "data/table.csv": directory["report/table.csv"],
            "notes": cf.asset(made["list"], match="scratch/*"),
        },
        name="composed",
    )


@cf.workflow
def collections() -> dict[str, Any]:
    made = make_files()
    composed = compose(made)
    here = Path.cwd()
    everything = made["everything"]
    entry = everything["report/table.csv"]
    single = entry.restore(at="single")
    partial = everything.restore(match="report/images/*", at="partial")
    whole = made["directory"].restore()
    return {
        "ids": {name: asset.id for name, asset in made.items()} | {"composed": composed.id},
        "paths": {
            name: [e.path for e in asset.entries]
            for name, asset in (*made.items(), ("composed", composed))
        },
        "entry": {
            "path": entry.path,
            "size": entry.size,
            "type": entry.type,
            "same_blob": entry.blob_key == composed["data/table.csv"].blob_key,
            "restored": single.relative_to(here).as_posix(),
            "text_ok": single.read_text() == CSV,
        },
        "contains": ["report/table.csv" in everything, "nope" in everything],
        "partial": {k: v.relative_to(here).as_posix() for k, v in partial.items()},
        "whole": sorted(whole),
        "names": [made["directory"].name, composed.name, everything.name],
        "image_blobs": len({e.blob_key for e in made["glob"].entries}),
    }
