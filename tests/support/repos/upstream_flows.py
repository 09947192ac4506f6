"""Samples written from the upstream Coflux 0.11 docs' API for timeouts, recurring
targets, groups, select and cancellation: run unchanged by
tests/integration/test_sdk_0_11_flows.py.

The recurrent workflows count their runs in a file named by their argument (each
execution has its own working directory, so the path is absolute).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import coflux as cf

NEVER = 600  # seconds a "slow" task sleeps: it is always stopped long before


def bump(counter: str) -> int:
    """Add one to the count in the file ``counter``; return the new count."""
    path = Path(counter)
    count = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(count))
    return count


# --- timeouts ---------------------------------------------------------------------


@cf.task(timeout=1)
def call_external_api() -> str:
    time.sleep(NEVER)
    return "answered"


@cf.workflow()
def guarded_call() -> str:
    try:
        return call_external_api()
    except cf.ExecutionTimeout:
        return "the API timed out"


@cf.task(timeout=timedelta(seconds=1))
def slow_task() -> str:
    time.sleep(NEVER)
    return "finished"


@cf.workflow()
def slow_pipeline() -> str:
    return slow_task()  # the timeout is not caught: the workflow fails with it


@cf.task(timeout=1, retries=2)
def unreliable_api_call() -> str:
    time.sleep(NEVER)
    return "answered"


@cf.workflow()
def retried_call() -> str:
    try:
        return unreliable_api_call()
    except cf.ExecutionTimeout as e:
        return f"gave up: {type(e).__name__}"


@cf.task()
def child_of_long_pipeline() -> str:
    time.sleep(NEVER)
    return "done"


@cf.workflow(timeout=1)
def long_running_pipeline() -> str:
    child_of_long_pipeline.submit()
    time.sleep(NEVER)
    return "done"


# --- recurring targets ----------------------------------------------------------------


@cf.task()
def fetch_updates(counter: str) -> list[int]:
    return [bump(counter)]


@cf.task()
def process_update(update: int) -> int:
    return update * 10


@cf.workflow(recurrent=True, delay=0.2)
def poll_for_updates(counter: str) -> str | None:
    updates = fetch_updates(counter)
    for update in updates:
        process_update.submit(update)
    if updates[-1] < 3:
        return None
    return f"up to date after {updates[-1]} polls"


@cf.workflow(recurrent=True, retries=1)
def resilient_polling(counter: str) -> str | None:
    count = bump(counter)
    if count == 3:
        raise ConnectionError("feed unreachable")
    return None if count < 4 else f"polled {count} times"


@cf.workflow(recurrent=True)
def fragile_polling(counter: str) -> str | None:
    if bump(counter) == 2:
        raise ConnectionError("feed unreachable")
    return None


@cf.workflow(recurrent=True, delay=timedelta(seconds=0.2))
def poll_forever(counter: str) -> None:
    bump(counter)


# --- groups ---------------------------------------------------------------------------

CHAPTERS = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "a cat and a dog",
    "the end",
]


@cf.task()
def process_chapter(i: int) -> dict[str, int]:
    return dict(Counter(CHAPTERS[i].split()))


@cf.task()
def merge_counters(counts: list[dict[str, int]]) -> dict[str, int]:
    merged: Counter[str] = Counter()
    for count in counts:
        merged.update(count)
    return dict(merged)


@cf.workflow()
def wordcount_workflow(n: int = 4, k: int = 2) -> list[tuple[str, int]]:
    with cf.group("Process chapters"):
        executions = [process_chapter.submit(i) for i in range(n)]
        chapter_counts = [e.result() for e in executions]
    merged = merge_counters(chapter_counts)
    return Counter(merged).most_common(k)


@cf.task()
def first_task() -> str:
    return "first"


@cf.task()
def second_task() -> str:
    return "second"


@cf.task()
def third_task() -> str:
    return "third"


@cf.task()
def even_task(i: int) -> int:
    return i


@cf.task()
def odd_task(i: int) -> int:
    return -i


@cf.workflow()
def my_workflow(n: int = 4) -> list[object]:
    results: list[object] = []
    with cf.group("First group"):
        results.append(first_task())
    with cf.group("Second group"):
        results.append(second_task())
    results.append(third_task())
    with cf.group():
        for i in range(n):
            results.append(even_task(i) if i % 2 == 0 else odd_task(i))
    return results


# --- select and cancel ----------------------------------------------------------------


@cf.task()
def fast() -> str:
    return "fast"


@cf.task()
def slow(label: str = "slow") -> str:
    time.sleep(NEVER)
    return label


@cf.workflow()
def race() -> str:
    winner, _ = cf.select([fast.submit(), slow.submit()], cancel_remaining=True)
    return winner.result()


@cf.task()
def source_a(query: str, gate: str) -> str:
    while not Path(gate).exists():  # b answers first, however slowly it starts
        time.sleep(0.05)
    time.sleep(1)
    return f"a:{query}"


@cf.task()
def source_b(query: str, gate: str) -> str:
    Path(gate).touch()
    return f"b:{query}"


@cf.workflow()
def search(query: str, gate: str) -> list[str]:
    a = source_a.submit(query, gate)
    b = source_b.submit(query, gate)
    winner, remaining = cf.select([a, b])
    # The others keep running and can be awaited later.
    return [winner.result(), *(handle.result() for handle in remaining)]


@cf.workflow()
def impatient() -> str:
    a = slow.submit("a")
    b = slow.submit("b")
    try:
        with cf.suspense(timeout=0.5):
            winner, _ = cf.select([a, b])
        return winner.result()
    except TimeoutError:
        cf.cancel([a, b])
        return "neither resolved in time"


@cf.workflow()
def cancel_several() -> list[str]:
    done = fast.submit()
    pending = [slow.submit(label) for label in ("x", "y", "z")]
    done.result()
    cf.cancel([done, *pending])  # the finished one is left as it is
    outcomes = [done.result()]
    for handle in pending:
        try:
            outcomes.append(handle.result())
        except cf.ExecutionCancelled:
            outcomes.append("cancelled")
    return outcomes
