"""Manual re-runs: in the run environment or a derived one, with changed code and memo reuse."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually
from tests.support.runs import count, executions, inspect

SEMANTICS = REPOS / "semantics.py"


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


def test_rerunning_a_workflow_reuses_its_memoised_steps(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_agent(SEMANTICS)
    counter, marker = tmp_path / "counter", tmp_path / "marker"
    args = [json.dumps(str(counter)), json.dumps(str(marker))]
    failed = cluster.cli("submit", "semantics", "memo_then_fragile", *args, "--wait")
    assert failed.returncode == 1 and "marker missing" in failed.stderr
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    marker.write_text("present")
    assert cluster.cli("runs", "rerun", f"{run_id}:1").returncode == 0
    done = cluster.cli("runs", "result", run_id, "--wait")
    assert json.loads(done.stdout) == "fixed", done.stderr
    assert count(counter) == 1  # the memoised step was reused by the re-run
