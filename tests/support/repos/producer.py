"""The producing side of the values, assets and logs tests (hosted by one agent)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

from valuekit import differences, sample

import coflux as cf


@cf.task
def echo(value: Any) -> Any:
    return value


@cf.task
def check_sample(value: Any) -> list[str]:
    """How ``value`` differs from this side's own sample (empty: not at all)."""
    return differences(sample(), value)


@cf.task
def make_sample() -> Any:
    return sample()


def pattern(size: int) -> bytes:
    return (b"0123456789abcdef" * (size // 16 + 1))[:size]


@cf.task
def make_bytes(size: int) -> bytes:
    return pattern(size)


@cf.task
def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@cf.task
def persist_files() -> dict[str, cf.Asset]:
    """A file, a directory filtered by a glob, and the whole working directory."""
    Path("out").mkdir()
    Path("out/report.csv").write_text("a,b\n1,2\n")
    Path("data/sub").mkdir(parents=True)
    for name in ("a.csv", "b.txt", "sub/c.csv"):
        Path("data", name).write_text(f"content of {name}")
    return {
        "file": cf.persist_asset("out/report.csv"),
        "csvs": cf.persist_asset("data", match="**/*.csv"),
        "all": cf.persist_asset(),
    }


@cf.task
def persist_trap() -> cf.Asset:
    """A directory ``trap`` holding one file, for restore-through-symlink tests."""
    Path("trap").mkdir()
    Path("trap/payload.txt").write_text("must not escape")
    return cf.persist_asset("trap")


@cf.task
def shout(tag: str) -> str:
    cf.log_warning("producer says {tag}", tag=tag)
    print(f"producer print {tag}")
    print(f"producer stderr {tag}", file=sys.stderr)
    return tag.upper()
