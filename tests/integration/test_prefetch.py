"""An agent started with ``--prefetch`` takes executions beyond its concurrency and
holds them, but still runs no more than ``--concurrency`` at once."""

from __future__ import annotations

import json

from tests.support.cluster import REPOS, Cluster
from tests.support.runs import inspect


def most_at_once(intervals: list[list[float]]) -> int:
    """The most intervals that overlap at any instant."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = current = 0
    for _, change in edges:  # an end sorts before a start at the same instant
        current += change
        most = max(most, current)
    return most


def test_prefetched_executions_run_within_the_concurrency_and_each_once(
    cluster: Cluster,
) -> None:
    agent = cluster.start_agent(
        REPOS / "prefetching.py", args=["--concurrency", "2", "--prefetch", "3"]
    )
    done = cluster.cli("submit", "prefetching", "spread", "12", "0.2", "--wait", timeout=120)
    assert done.returncode == 0, done.stderr + agent.output.text()
    intervals = json.loads(done.stdout)
    assert len(intervals) == 12
    # The workflow waits on its tasks (blocked: it holds no slot), so two tasks at a time.
    assert most_at_once(intervals) == 2
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    steps = inspect(cluster, run_id)["steps"]
    assert [len(s["executions"]) for s in steps] == [1] * 13
    assert {s["executions"][0]["state"] for s in steps} == {"succeeded"}
