"""Workflows for the run-semantics integration tests."""

import time
from pathlib import Path

import coflux as cf


@cf.task(retries=(3, 0.1))
def flaky(counter: str, failures: int) -> int:
    """Fail ``failures`` times (counted in a file), then succeed with the attempt number."""
    path = Path(counter)
    attempt = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(attempt))
    if attempt <= failures:
        raise RuntimeError(f"failure {attempt}")
    return attempt


@cf.workflow
def retrying(counter: str, failures: int) -> int:
    return flaky(counter, failures)


@cf.workflow
def child(x: int) -> int:
    """A workflow that other workflows call."""
    return x * 10


@cf.task
def calls_workflow(x: int) -> int:
    return child(x) + 1


@cf.workflow
def spawner(x: int) -> int:
    """Calls a workflow directly and from a task: each call starts a separate run."""
    return child(x) + calls_workflow(x)


@cf.task
def slow(seconds: float) -> float:
    time.sleep(seconds)
    return time.time()


@cf.task(wait=True)
def after(started: cf.Execution[float]) -> float:
    """Must not start before ``started`` has finished."""
    return time.time()


@cf.workflow
def waits(seconds: float) -> list[float]:
    first = slow.submit(seconds)
    second = after.submit(first)
    return [first.result(), second.result()]


@cf.task
def fire_and_forget_target(path: str) -> None:
    time.sleep(0.3)
    Path(path).write_text("done")


@cf.workflow
def fire_and_forget(path: str) -> str:
    fire_and_forget_target.submit(path)
    return "returned"
