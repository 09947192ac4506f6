"""Crashes: the server or an agent killed with SIGKILL in the middle of a run."""

from __future__ import annotations

import json

from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually

FLOWS = REPOS / "flows.py"


def states(cluster: Cluster, run_id: str) -> dict[str, list[str]]:
    inspected = json.loads(cluster.cli("runs", "inspect", run_id, "--json").stdout)
    return {s["target"]: [e["state"] for e in s["executions"]] for s in inspected["steps"]}


def test_server_killed_mid_run_restarts_and_the_run_completes(cluster: Cluster) -> None:
    agent = cluster.start_agent(FLOWS)
    run_id = cluster.cli("submit", "flows", "slow_chain", "1.5").stdout.strip()
    eventually(lambda: states(cluster, run_id).get("pause") == ["assigned"], 20)
    logs_before = cluster.cli("runs", "inspect", run_id, "--json").stdout

    cluster.server.kill9()
    cluster.server.start()
    # Everything recorded before the kill is still there.
    before = json.loads(logs_before)
    after = json.loads(cluster.cli("runs", "inspect", run_id, "--json").stdout)
    assert [s["id"] for s in after["steps"]][: len(before["steps"])] == [
        s["id"] for s in before["steps"]
    ]

    cluster.wait_connected(agent, times=2)  # the agent reconnected...
    done = cluster.cli("runs", "result", run_id, "--wait")
    assert done.returncode == 0, done.stderr + agent.output.text()
    assert json.loads(done.stdout) == [1.5, 1.5]
    # ...and resumed its session: nothing was abandoned or run twice.
    assert cluster.server.process is not None
    assert cluster.server.process.output.count("resumed=True") == 1
    steps = json.loads(cluster.cli("runs", "inspect", run_id, "--json").stdout)["steps"]
    assert [[e["state"] for e in s["executions"]] for s in steps] == [["succeeded"]] * 3


def test_server_restart_keeps_runs_results_and_logs(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    run_id = cluster.cli("submit", "flows", "noisy", '"persist"').stdout.strip()
    assert cluster.cli("runs", "result", run_id, "--wait").returncode == 0
    inspected = cluster.cli("runs", "inspect", run_id, "--json").stdout
    logs = cluster.cli("runs", "logs", run_id, "--json").stdout
    cluster.server.kill9()
    cluster.server.start()
    assert cluster.cli("runs", "inspect", run_id, "--json").stdout == inspected
    assert cluster.cli("runs", "logs", run_id, "--json").stdout == logs
    assert json.loads(cluster.cli("runs", "result", run_id).stdout) == "persist"


def test_agent_killed_mid_execution_is_abandoned_after_the_session_timeout(
    cluster: Cluster,
) -> None:
    agent = cluster.start_agent(FLOWS)
    run_id = cluster.cli("submit", "flows", "wait_on_pause", "600").stdout.strip()
    eventually(lambda: states(cluster, run_id).get("pause") == ["assigned"], 20)
    agent.kill9()
    done = cluster.cli("runs", "result", run_id, "--wait", timeout=60)
    assert done.returncode == 1
    assert "abandoned" in done.stderr.lower()
    assert states(cluster, run_id) == {"wait_on_pause": ["abandoned"], "pause": ["abandoned"]}
