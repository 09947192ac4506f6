"""Workflows for the fault soak (``tests/support/soak.py``).

Every task records its side effects in files under ``$COFLUX_SOAK_DIR``: a line
``start`` when its body begins and ``end`` when it returns, in a file named by
its key. So the soak counts how often user code really ran, whatever the engine
recorded. Tasks and workflows allow retries: an agent killed mid-execution has
its executions abandoned, and only a retry lets the run still end well.
"""

import os
from pathlib import Path

import coflux as cf

RETRIES = 3


def _mark(key: str, what: str) -> None:
    directory = Path(os.environ["COFLUX_SOAK_DIR"])
    with open(directory / key, "a") as file:
        file.write(what + "\n")


@cf.task(retries=(RETRIES, 0.1, 0.5))
def leaf(key: str, value: int) -> int:
    _mark(key, "start")
    total = sum(range(value + 1000)) - sum(range(1000))  # a little work
    _mark(key, "end")
    return total


@cf.task(retries=(RETRIES, 0.1, 0.5))
def flaky(key: str, value: int) -> int:
    """Fails on its first run, by design."""
    _mark(key, "start")
    path = Path(os.environ["COFLUX_SOAK_DIR"]) / key
    if path.read_text().count("start") == 1:
        raise RuntimeError("failing once, as designed")
    _mark(key, "end")
    return value


@cf.task(retries=(RETRIES, 0.1, 0.5), cache=True)
def cached(key: str, value: int) -> int:
    _mark(key, "start")
    _mark(key, "end")
    return value * 2


@cf.workflow(retries=(RETRIES, 0.1, 0.5))
def child(key: str, value: int) -> int:
    return leaf(f"{key}.leaf", value) + 1


@cf.task(retries=(RETRIES, 0.1, 0.5))
def spawner(key: str, value: int) -> int:
    _mark(key, "start")
    result = child(f"{key}.child", value)  # a workflow called from a task: its own run
    _mark(key, "end")
    return result


@cf.workflow(retries=(RETRIES, 0.1, 0.5))
def fanout(key: str, width: int) -> int:
    return sum(e.result() for e in [leaf.submit(f"{key}.{i}", i) for i in range(width)])


@cf.workflow(retries=(RETRIES, 0.1, 0.5))
def chain(key: str, length: int) -> int:
    total = 0
    for i in range(length):
        total = leaf(f"{key}.{i}", total % 7) + total
    return total


@cf.workflow(retries=(RETRIES, 0.1, 0.5))
def mixed(key: str, value: int) -> list[int]:
    return [
        flaky(f"{key}.flaky", value),
        cached(f"soak-cache.{value % 3}", value % 3),  # shared across runs
        spawner(f"{key}.spawner", value),
    ]


def expected(kind: str, size: int) -> object:
    """The correct result of ``kind`` (fanout, chain, mixed) with argument ``size``."""
    if kind == "fanout":
        return sum(leaf_value(i) for i in range(size))
    if kind == "chain":
        total = 0
        for _ in range(size):
            total = leaf_value(total % 7) + total
        return total
    return [size, (size % 3) * 2, leaf_value(size) + 1]


def leaf_value(value: int) -> int:
    return sum(range(value + 1000)) - sum(range(1000))
