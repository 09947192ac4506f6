"""Stand-ins (spawned, cached, deferred calls) across a server restart.

Tasks wait for files that the test creates (``$COFLUX_GATES``), so a test can
restart the server while a leader is still running or a call still queued.
"""

import os
import time
from pathlib import Path

import coflux as cf


def wait_for(name: str) -> None:
    gate = Path(os.environ["COFLUX_GATES"]) / name
    while not gate.exists():
        time.sleep(0.05)


def mark(name: str) -> None:
    with open(Path(os.environ["COFLUX_GATES"]) / f"{name}.ran", "a") as file:
        file.write("ran\n")


@cf.task()
def gate(name: str) -> str:
    wait_for(name)
    return name


@cf.workflow()
def gated(name: str) -> str:
    return gate(name) + "!"


@cf.task()
def caller(name: str) -> str:
    return gated(name)  # a workflow called from a task: a separate run


@cf.workflow()
def spawns(name: str) -> str:
    return caller(name)


@cf.task(cache=True)
def cached_gate(name: str) -> str:
    mark(name)
    wait_for(name)
    return name.upper()


@cf.workflow()
def cached_twice(name: str) -> list[str]:
    first = cached_gate.submit(name)
    second = cached_gate.submit(name)  # a hit on the first while it runs
    return [first.result(), second.result()]


@cf.task(defer=True, wait=True)
def deferred(name: str, dependency: cf.Execution[str]) -> str:
    mark(name)
    return f"{name}:{dependency.result()}"


@cf.workflow()
def defers(name: str) -> list[str]:
    dependency = gate.submit(f"{name}-release")
    first = deferred.submit(name, dependency)  # queued until the dependency resolves
    wait_for(f"{name}-go")  # the test restarts the server before this
    second = deferred.submit(name, dependency)  # replaces the first, still queued
    return [first.result(), second.result()]
