"""Sensors: started by the server, restarted from their checkpoint, stopped on request."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually


def values(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_a_sensor_restarts_from_its_last_checkpoint_until_stopped(
    cluster: Cluster, tmp_path: Path
) -> None:
    agent = cluster.start_agent(REPOS / "sensors.py")
    log = tmp_path / "log"
    started = cluster.cli("sensors", "start", "sensors", "counter", json.dumps(str(log)))
    assert started.returncode == 0, started.stderr
    sensor_id = started.stdout.strip()
    # Each run appends three numbers and ends; each restart continues from the checkpoint.
    eventually(lambda: len(values(log)) >= 9, 30, message=agent.output.text())
    assert values(log)[:9] == list(range(9))
    listed = json.loads(cluster.cli("sensors", "list", "--json").stdout)
    assert [s["id"] for s in listed] == [sensor_id]

    stopped = cluster.cli("sensors", "stop", sensor_id)
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(cluster.cli("sensors", "list", "--json").stdout) == []
    count = len(values(log))
    inspected = json.loads(cluster.cli("runs", "inspect", sensor_id, "--json").stdout)
    assert inspected["steps"][0]["executions"][-1]["state"] == "cancelled"
    assert len(values(log)) <= count + 3  # nothing restarts it any more


def test_starting_an_unknown_sensor_or_a_workflow_as_a_sensor_is_refused(cluster: Cluster) -> None:
    assert cluster.cli("register", str(REPOS / "sensors.py")).returncode == 0
    refused = cluster.cli("sensors", "start", "sensors", "nope")
    assert refused.returncode == 1 and "no sensor 'nope'" in refused.stderr
    assert cluster.cli("sensors", "stop", "nope").returncode == 1
