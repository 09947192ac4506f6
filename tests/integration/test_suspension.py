"""Suspension: cf.suspend and cf.suspense."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cluster import REPOS, Cluster
from tests.support.runs import count, executions

SEMANTICS = REPOS / "semantics.py"


def test_suspend_ends_the_execution_and_runs_it_again_later(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.start_agent(SEMANTICS)
    marker = json.dumps(str(tmp_path / "marker"))
    done = cluster.cli("submit", "semantics", "suspends_once", marker, "--wait")
    assert json.loads(done.stdout) == "resumed", done.stderr
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    attempts = executions(cluster, run_id, "suspends_once")
    assert [e["state"] for e in attempts] == ["suspended", "succeeded"]
    # Due 0.2 s after cf.suspend was called, a moment before the suspension was recorded.
    assert attempts[1]["assigned_at"] - attempts[0]["completed_at"] >= 0.1


def test_suspense_suspends_a_long_wait_and_memoised_calls_do_not_run_again(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.start_agent(SEMANTICS)
    counter = tmp_path / "counter"
    done = cluster.cli(
        "submit", "semantics", "suspense_waits", json.dumps(str(counter)), "1", "--wait"
    )
    assert done.returncode == 0, done.stderr
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    states = [e["state"] for e in executions(cluster, run_id, "suspense_waits")]
    assert states[0] == "suspended" and states[-1] == "succeeded"
    assert count(counter) == 1  # the memoised call was reused by the second attempt
    assert len(executions(cluster, run_id, "slow_once")) == 1  # so was the awaited one
