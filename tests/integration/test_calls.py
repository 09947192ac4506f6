"""Calls across runs and agents: workflows calling workflows, stubs, wait, fire-and-forget."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually
from tests.support.runs import executions

SEMANTICS = REPOS / "semantics.py"


def test_workflows_called_from_workflows_and_tasks_start_separate_runs(cluster: Cluster) -> None:
    cluster.start_agent(SEMANTICS)
    done = cluster.cli("submit", "semantics", "spawner", "4", "--wait")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == 40 + 41
    listed = json.loads(cluster.cli("runs", "list", "--json").stdout)
    assert sorted(r["target"] for r in listed) == ["child", "child", "spawner"]
    assert all(r["state"] == "succeeded" for r in listed)
    spawner = next(r["id"] for r in listed if r["target"] == "spawner")
    spawned = executions(cluster, spawner, "child")
    assert [e["state"] for e in spawned] == ["spawned", "spawned"]


def test_stubs_call_targets_hosted_by_another_agent(cluster: Cluster) -> None:
    cluster.start_agent(REPOS / "uses_stubs.py")
    cluster.start_agent(REPOS / "remote_tasks.py")
    done = cluster.cli("submit", "uses_stubs", "calls_stubs", '"t"', "--wait")
    assert done.returncode == 0, done.stderr
    caller_pid, where, tripled = json.loads(done.stdout)
    tag, _, remote_pid = where.partition("@")
    assert tag == "t" and int(remote_pid) != caller_pid
    assert tripled == 6


def test_wait_holds_an_execution_until_its_argument_resolved(cluster: Cluster) -> None:
    cluster.start_agent(SEMANTICS, args=["--concurrency", "4"])
    done = cluster.cli("submit", "semantics", "waits", "0.5", "--wait")
    assert done.returncode == 0, done.stderr
    finished_slow, started_after = json.loads(done.stdout)
    assert started_after >= finished_slow
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    (slow,) = executions(cluster, run_id, "slow")
    (after,) = executions(cluster, run_id, "after")
    assert after["assigned_at"] >= slow["completed_at"]


def test_fire_and_forget_submissions_finish_after_their_caller(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.start_agent(SEMANTICS)
    marker = tmp_path / "marker"
    done = cluster.cli("submit", "semantics", "fire_and_forget", json.dumps(str(marker)), "--wait")
    assert json.loads(done.stdout) == "returned"
    eventually(marker.exists, 10)
