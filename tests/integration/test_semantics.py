"""Run semantics end to end: retries, workflows calling workflows, wait, re-runs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually

SEMANTICS = REPOS / "semantics.py"


def inspect(cluster: Cluster, run_id: str) -> dict:  # type: ignore[type-arg]
    done = cluster.cli("runs", "inspect", run_id, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def executions(cluster: Cluster, run_id: str, target: str) -> list[dict]:  # type: ignore[type-arg]
    steps = [s for s in inspect(cluster, run_id)["steps"] if s["target"] == target]
    return [e for s in steps for e in s["executions"]]


def test_a_flaky_task_is_retried_until_it_succeeds(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_agent(SEMANTICS)
    counter = str(tmp_path / "counter")
    done = cluster.cli("submit", "semantics", "retrying", json.dumps(counter), "2", "--wait")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == 3
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    attempts = executions(cluster, run_id, "flaky")
    assert [(e["attempt"], e["state"]) for e in attempts] == [
        (1, "failed"), (2, "failed"), (3, "succeeded"),
    ]  # fmt: skip
    # The retries waited their delay (0.1 s) after the failure before being due.
    assert attempts[1]["created_at"] >= attempts[0]["completed_at"]


def test_retries_run_out_and_the_run_fails(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_agent(SEMANTICS)
    counter = json.dumps(str(tmp_path / "counter"))
    done = cluster.cli("submit", "semantics", "retrying", counter, "10", "--wait")
    assert done.returncode == 1
    assert "failure 4" in done.stderr  # the last attempt's error is the one reported


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


def test_a_production_step_is_rerun_in_dev_with_changed_code(cluster: Cluster) -> None:
    assert cluster.cli("environments", "create", "dev", "--base", "production").returncode == 0
    cluster.start_agent(REPOS / "v1" / "versioned.py")
    cluster.start_agent(REPOS / "v2" / "versioned.py", environment="dev")
    done = cluster.cli("submit", "versioned", "pipeline", "1", "--wait")
    assert json.loads(done.stdout) == "v1:2"
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    compute = next(s for s in inspect(cluster, run_id)["steps"] if s["target"] == "compute")

    rerun = cluster.cli("runs", "rerun", compute["id"], "--environment", "dev")
    assert rerun.returncode == 0, rerun.stderr
    execution_id = rerun.stdout.strip()
    assert execution_id == f"{compute['id']}:2"
    eventually(lambda: executions(cluster, run_id, "compute")[-1]["state"] == "succeeded", 20)
    latest = executions(cluster, run_id, "compute")[-1]
    assert latest["environment"] == "dev"
    # Upstream was not executed again: one execution of it, in production.
    assert [e["environment"] for e in executions(cluster, run_id, "upstream")] == ["production"]


def test_rerun_in_an_unrelated_environment_is_refused(cluster: Cluster) -> None:
    assert cluster.cli("environments", "create", "other").returncode == 0
    cluster.start_agent(REPOS / "v1" / "versioned.py")
    cluster.cli("submit", "versioned", "pipeline", "1", "--wait")
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    refused = cluster.cli("runs", "rerun", f"{run_id}:2", "--environment", "other")
    assert refused.returncode == 1
    assert "re-run" in refused.stderr and "other" in refused.stderr
    assert len(executions(cluster, run_id, "upstream")) == 1


def test_rerunning_the_workflow_step_reruns_the_run(cluster: Cluster) -> None:
    cluster.start_agent(REPOS / "v1" / "versioned.py")
    cluster.cli("submit", "versioned", "pipeline", "5", "--wait")
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    assert cluster.cli("runs", "rerun", f"{run_id}:1").returncode == 0
    result = cluster.cli("runs", "result", run_id, "--wait")
    assert json.loads(result.stdout) == "v1:6"
    assert [e["attempt"] for e in executions(cluster, run_id, "pipeline")] == [1, 2]
