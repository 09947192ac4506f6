"""Tasks that report on the process they run in."""

import os
from pathlib import Path

import coflux as cf


@cf.task
def where() -> dict[str, object]:
    """Where this execution runs: process id and working directory."""
    Path("scratch.txt").write_text("left behind")
    return {"pid": os.getpid(), "cwd": os.getcwd()}


@cf.task
def set_env(name: str, value: str) -> None:
    os.environ[name] = value


@cf.task
def get_env(name: str) -> str | None:
    return os.environ.get(name)
