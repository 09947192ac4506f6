"""Executions blocked in ``.result()`` do not hold their agent's concurrency, and a
queued step says why it waits."""

from __future__ import annotations

import json

from tests.support.cluster import REPOS, Cluster
from tests.support.runs import inspect


def test_a_nested_fan_out_completes_on_one_agent_with_default_settings(cluster: Cluster) -> None:
    # 1 -> 25 -> 10: 26 executions wait on children at once, far more than the
    # default concurrency (CPUs + 4) of the only agent.
    agent = cluster.start_agent(REPOS / "nested.py")
    done = cluster.cli("submit", "nested", "tree", "25", "10", "--wait", timeout=180)
    expected = sum(b * 100 + i for b in range(25) for i in range(10))
    assert done.returncode == 0, done.stderr + agent.output.text()
    assert json.loads(done.stdout) == expected
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    steps = inspect(cluster, run_id)["steps"]
    assert len(steps) == 1 + 25 + 250
    assert {s["executions"][-1]["state"] for s in steps} == {"succeeded"}
