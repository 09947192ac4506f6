"""Workflows for Studio's test of groups and timeouts: a named ``cf.group`` of calls
(one of which fails) and a task that runs past its timeout."""

import time

import coflux as cf


@cf.task
def chapter(n: int, last: int) -> int:
    """One member of the group; the last one fails."""
    if n == last:
        raise ValueError(f"chapter {n} is missing")
    return n * 10


@cf.task(timeout=1)
def stuck(seconds: float) -> float:
    """Sleeps past its one-second timeout, so its agent stops it."""
    time.sleep(seconds)
    return seconds


@cf.workflow
def grouped(count: int = 5) -> dict[str, object]:
    """Calls chapter count times in the group "chapters", then stuck."""
    with cf.group("chapters"):
        handles = [chapter.submit(n, count - 1) for n in range(count)]
    done = 0
    for handle in handles:
        try:
            handle.result()
            done += 1
        except ValueError:
            pass
    try:
        stuck(30)
        timed_out = False
    except cf.ExecutionTimeout:
        timed_out = True
    return {"chapters": done, "timed_out": timed_out}
