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


@cf.task(cache=True)
def expensive(counter: str, x: int) -> int:
    """Counts its executions in a file, so tests can tell a cache hit from a run."""
    path = Path(counter)
    path.write_text(str(int(path.read_text()) + 1 if path.exists() else 1))
    return x * x


@cf.workflow
def uses_cache(counter: str, x: int) -> int:
    return expensive(counter, x)


@cf.task(memo=True)
def memoised(counter: str, x: int) -> int:
    path = Path(counter)
    path.write_text(str(int(path.read_text()) + 1 if path.exists() else 1))
    return x + 100


@cf.workflow
def memo_twice(counter: str) -> list[int]:
    return [memoised(counter, 1), memoised(counter, 1), memoised(counter, 2)]


@cf.task(defer=True, delay=0.5)
def debounced(counter: str) -> str:
    path = Path(counter)
    path.write_text(str(int(path.read_text()) + 1 if path.exists() else 1))
    return "ran"


@cf.workflow
def defer_five(counter: str) -> list[str]:
    executions = [debounced.submit(counter) for _ in range(5)]
    return [execution.result() for execution in executions]


@cf.task(retries=1)
def long_with_retry(seconds: float) -> str:
    time.sleep(seconds)
    return "finished"


@cf.workflow
def survives_agent_loss(seconds: float) -> str:
    return long_with_retry(seconds)


@cf.workflow
def suspends_once(marker: str) -> str:
    """Suspends itself on its first run (a marker file tells runs apart)."""
    path = Path(marker)
    if not path.exists():
        path.write_text("suspended")
        cf.suspend(0.2)
    return "resumed"


@cf.task(memo=True)
def counted(counter: str) -> int:
    path = Path(counter)
    path.write_text(str(int(path.read_text()) + 1 if path.exists() else 1))
    return 1


@cf.task(memo=True)
def slow_once(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@cf.workflow
def suspense_waits(counter: str, seconds: float) -> list[float]:
    """A memoised call, then a slow (memoised) result awaited under suspense."""
    counted(counter)
    with cf.suspense(0.1):
        return [slow_once(seconds)]


@cf.task(requires={"gpu": ["A100", "H100"]})
def on_gpu() -> str:
    import os

    return os.environ.get("AGENT_NAME", "?")


@cf.workflow
def needs_gpu() -> str:
    return on_gpu()


@cf.workflow
def cancels_its_child(seconds: float) -> str:
    """Starts a slow task, cancels it, and reports what waiting on it raises."""
    execution = slow.submit(seconds)
    execution.cancel()
    try:
        execution.result()
    except cf.ExecutionCancelled:
        return "cancelled"
    return "not cancelled"


@cf.task
def fails_once(marker: str) -> str:
    """Fails while the marker file is missing (the test creates it, then re-runs)."""
    if not Path(marker).exists():
        raise RuntimeError("marker missing")
    return "fixed"


@cf.workflow
def memo_then_fragile(counter: str, marker: str) -> str:
    counted(counter)
    return fails_once(marker)
