"""No value from outside an execution is ever unpickled, against a real server and agent.

The attack: an HTTP caller submits a run (or starts a sensor) whose argument is a
pickle that runs ``touch MARKER`` (``os.system``) when loaded. Before the fix, each
shape below created the marker on the agent (checked against the unfixed tree); now
each is a 400 naming the argument, nothing is recorded, and the agent, which is up
and serving, never sees it. docs/values.md, "Trust model".
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pickle
import shlex
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually

SHAPES = ["pickle_value", "nested_tag", "blob"]


class Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def pickle_tag(marker: Path) -> dict[str, Any]:
    return {"$": "pickle", "t": "builtins.int", "v": b64(pickle.dumps(Exploit(marker)))}


def attack(cluster: Cluster, shape: str, marker: Path) -> dict[str, Any]:
    """An argument (a ``Value``) whose unpickling creates ``marker``."""
    if shape == "pickle_value":
        return {"format": "pickle", "data": b64(pickle.dumps(Exploit(marker)))}
    if shape == "nested_tag":
        return {"format": "json", "data": {"a": [1, pickle_tag(marker)]}}
    # A value blob whose tree is a pickle tag, uploaded as any caller can (PUT /blobs).
    tree = json.dumps(pickle_tag(marker)).encode()
    header = json.dumps({"data": len(tree), "segments": []}).encode()
    content = b"coflux-value/1\n" + header + b"\n" + tree
    key = hashlib.sha256(content).hexdigest()
    assert cluster.api("PUT", f"/blobs/{key}", content=content).status_code in (200, 201)
    return {"format": "json", "blob": key, "size": len(content)}


def body(target: str, argument: dict[str, Any]) -> dict[str, Any]:
    return {"environment": "production", "repository": "pickles", "target": target,
            "arguments": [argument]}  # fmt: skip


def listed(cluster: Cluster, *command: str) -> Any:
    done = cluster.cli(*command, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_refused(response: Any, shape: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["reason"] == ("blob_refused" if shape == "blob" else "pickle_refused")
    assert error["message"].startswith("arguments[0] ")


def assert_agent_serves_json(cluster: Cluster) -> None:
    # The agent is up and executes what it is given: a JSON run submitted after the
    # refusal completes (so had the refused one been recorded, it would have run).
    done = cluster.cli("submit", "pickles", "accept", "[1]", "--wait")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == "list"


@pytest.mark.parametrize("shape", SHAPES)
def test_a_run_with_a_pickled_argument_is_refused_and_never_unpickled(
    cluster: Cluster, tmp_path: Path, shape: str
) -> None:
    cluster.start_agent(REPOS / "pickles.py")
    marker = tmp_path / "marker"
    argument = attack(cluster, shape, marker)
    response = cluster.api("POST", "/api/projects/test/runs", json=body("accept", argument))
    assert_refused(response, shape)
    assert listed(cluster, "runs", "list") == []
    assert_agent_serves_json(cluster)
    assert len(listed(cluster, "runs", "list")) == 1
    assert not marker.exists()


@pytest.mark.parametrize("shape", SHAPES)
def test_a_sensor_with_a_pickled_argument_is_refused_and_never_unpickled(
    cluster: Cluster, tmp_path: Path, shape: str
) -> None:
    cluster.start_agent(REPOS / "pickles.py")
    marker = tmp_path / "marker"
    argument = attack(cluster, shape, marker)
    response = cluster.api("POST", "/api/projects/test/sensors", json=body("watch", argument))
    assert_refused(response, shape)
    assert listed(cluster, "sensors", "list") == []
    assert listed(cluster, "runs", "list") == []
    assert_agent_serves_json(cluster)
    assert not marker.exists()


def test_the_cli_sends_a_typed_in_pickle_tag_as_plain_data(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The CLI was never a way in (it escapes an object with a ``"$"`` key, so it arrives
    as that dict); this pins it, for ``submit`` and ``sensors start``."""
    agent = cluster.start_agent(REPOS / "pickles.py")
    marker = tmp_path / "marker"
    typed = json.dumps(pickle_tag(marker))
    done = cluster.cli("submit", "pickles", "accept", typed, "--wait")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == "dict"
    run_id = listed(cluster, "runs", "list")[0]["id"]
    shown = cluster.cli("runs", "result", run_id)
    assert shown.returncode == 0 and json.loads(shown.stdout) == "dict"

    started = cluster.cli("sensors", "start", "pickles", "watch", typed)
    assert started.returncode == 0, started.stderr
    sensor_id = started.stdout.strip()

    def running() -> bool:
        sensors = listed(cluster, "sensors", "list")
        return bool(sensors) and sensors[0]["state"] == "assigned"

    eventually(running, 30, message=agent.output.text())
    assert cluster.cli("sensors", "stop", sensor_id).returncode == 0
    assert not marker.exists()
