"""The consuming side of the values, assets and logs tests (hosted by another agent).

Every workflow here calls targets of ``producer`` through stubs, so values and
assets cross from one agent's executors to the other's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from valuekit import Point, differences, sample

import coflux as cf


@cf.stub("producer")
def echo(value: Any) -> Any: ...


@cf.stub("producer")
def check_sample(value: Any) -> list[str]: ...


@cf.stub("producer")
def make_sample() -> Any: ...


@cf.stub("producer")
def make_bytes(size: int) -> bytes: ...


@cf.stub("producer")
def digest(data: bytes) -> str: ...


@cf.stub("producer")
def persist_files() -> dict[str, cf.Asset]: ...


@cf.stub("producer")
def persist_trap() -> cf.Asset: ...


@cf.stub("producer")
def shout(tag: str) -> str: ...


@cf.workflow
def values_cross() -> dict[str, list[str]]:
    """Every kind of value, there and back; each list names the differences found."""
    mine = sample()
    handle = make_sample.submit()
    return {
        "echo": differences(mine, echo(mine)),
        "checked there": check_sample(mine),
        "made there": differences(mine, handle.result()),
        "handles": differences({"h": handle.id}, {"h": echo({"h": handle}).get("h").id}),
    }


@cf.workflow
def big_value(size: int) -> dict[str, Any]:
    data = make_bytes(size)
    return {
        "size": len(data),
        "type": type(data).__name__,
        "here": hashlib.sha256(data).hexdigest(),
        "there": digest(data),
    }


@cf.workflow
def big_result(size: int) -> bytes:
    return make_bytes(size)


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@cf.workflow
def assets_cross() -> dict[str, Any]:
    assets = persist_files()
    here = Path.cwd()
    file, csvs, everything = assets["file"], assets["csvs"], assets["all"]
    restored_file = file.restore()
    restored_csvs = cf.restore_asset(csvs)
    elsewhere = everything.restore(to="elsewhere")
    return {
        "ids": {name: asset.id for name, asset in assets.items()},
        "file": {
            "kind": file.kind, "path": file.path, "size": file.size,
            "file_count": file.file_count, "metadata": file.metadata,
            "restored": restored_file.relative_to(here).as_posix(),
            "text": restored_file.read_text(),
        },
        "csvs": {
            "kind": csvs.kind, "path": csvs.path, "file_count": csvs.file_count,
            "metadata": csvs.metadata, "restored": restored_csvs.relative_to(here).as_posix(),
            "files": _files(restored_csvs),
        },
        "all": {
            "path": everything.path, "file_count": everything.file_count,
            "restored": elsewhere.relative_to(here).as_posix(), "files": _files(elsewhere),
        },
    }  # fmt: skip


@cf.workflow
def restore_through_symlink(outside: str) -> str:
    """Restores an asset whose directory is, here, a symlink to ``outside``."""
    asset = persist_trap()
    os.symlink(outside, "trap")
    try:
        asset.restore()
    except ValueError as e:
        return f"refused: {e}"
    return "restored"


@cf.workflow
def chatty(tag: str) -> str:
    when = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    cf.log_info("consumer {tag}: {things} at {when} near {point}", tag=tag, things={1, 2},
                when=when, point=Point(3, 4))  # fmt: skip
    print(f"consumer print {tag}")
    print(f"consumer stderr {tag}", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-c", f"import os; os.write(1, b'child process {tag}\\n')"], check=True
    )
    return shout(tag)


@cf.workflow
def labelled() -> dict[str, Any]:
    """A result people read with ``runs result``: pickled parts are only named."""
    when = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    return {"point": Point(1, 2), "when": when, "set": {3}, "bytes": b"hi", "n": 2**70}


@cf.workflow
def small() -> tuple[int, str]:
    return (1, "two")
