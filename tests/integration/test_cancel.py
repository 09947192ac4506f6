"""Cancelling a run stops its running processes and marks everything unfinished cancelled."""

from __future__ import annotations

import json

from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually
from tests.support.runs import executions

FLOWS = REPOS / "flows.py"


def step_states(cluster: Cluster, run_id: str) -> list[list[str]]:
    steps = json.loads(cluster.cli("runs", "inspect", run_id, "--json").stdout)["steps"]
    return [[e["state"] for e in s["executions"]] for s in steps]


def test_cancel_a_run_stops_it_and_its_children(cluster: Cluster) -> None:
    agent = cluster.start_agent(FLOWS)
    run_id = cluster.cli("submit", "flows", "wait_on_pause", "600").stdout.strip()
    eventually(lambda: step_states(cluster, run_id) == [["assigned"], ["assigned"]], 20)
    cancelled = cluster.cli("runs", "cancel", run_id)
    assert cancelled.returncode == 0, cancelled.stderr
    assert step_states(cluster, run_id) == [["cancelled"], ["cancelled"]]
    done = cluster.cli("runs", "result", run_id, "--wait")
    assert done.returncode == 1 and "cancelled" in done.stderr.lower()
    # The agent is still healthy and runs new work (its executors were replaced).
    again = cluster.cli("submit", "flows", "echo", "7", "--wait")
    assert json.loads(again.stdout) == 7, again.stderr + agent.output.text()


def test_cancel_one_execution_fails_its_waiting_parent(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    run_id = cluster.cli("submit", "flows", "wait_on_pause", "600").stdout.strip()
    eventually(lambda: step_states(cluster, run_id) == [["assigned"], ["assigned"]], 20)
    assert cluster.cli("runs", "cancel", f"{run_id}:2:1").returncode == 0
    done = cluster.cli("runs", "result", run_id, "--wait")
    assert done.returncode == 1
    assert "cancelled" in done.stderr.lower()
    assert step_states(cluster, run_id) == [["failed"], ["cancelled"]]


def test_cancelling_a_finished_run_changes_nothing(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    run_id = cluster.cli("submit", "flows", "echo", "1").stdout.strip()
    assert cluster.cli("runs", "result", run_id, "--wait").returncode == 0
    before = step_states(cluster, run_id)
    cluster.cli("runs", "cancel", run_id)
    assert step_states(cluster, run_id) == before == [["succeeded"]]


def test_execution_cancel_from_code_cancels_the_child(cluster: Cluster) -> None:
    cluster.start_agent(REPOS / "semantics.py")
    done = cluster.cli("submit", "semantics", "cancels_its_child", "600", "--wait")
    assert json.loads(done.stdout) == "cancelled", done.stderr
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    assert [e["state"] for e in executions(cluster, run_id, "slow")] == ["cancelled"]
