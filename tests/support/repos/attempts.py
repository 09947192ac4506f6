"""Workflows whose steps have several attempts or stand in for other executions:
Studio's attempt picker and the links between executions (``successor``,
``spawned_by``) are tested on them."""

from pathlib import Path

import coflux as cf


@cf.task(retries=1)
def flaky(counter: str) -> str:
    """Fails on its first attempt and succeeds on its second: it counts its
    attempts in the file ``counter`` (each test gives its own)."""
    path = Path(counter)
    attempt = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(attempt))
    if attempt == 1:
        raise RuntimeError("the first attempt fails")
    return f"succeeded on attempt {attempt}"


@cf.workflow()
def retried(counter: str) -> str:
    return flaky(counter)


@cf.workflow()
def child(name: str) -> str:
    return f"hello {name}"


@cf.task()
def caller(name: str) -> str:
    return child(name)  # a workflow called from a task: a run of its own


@cf.workflow()
def spawns(name: str) -> str:
    return caller(name)


@cf.task(cache=True)
def expensive(key: str) -> str:
    return key.upper()


@cf.workflow()
def reuses(key: str) -> list[str]:
    first = expensive(key)  # finished before the second call: a hit on it
    return [first, expensive(key)]
