"""Stand-ins keep following their leaders across a ``kill -9`` of the server.

A caller waiting on a spawned workflow, on a cache hit whose leader still runs,
or on a deferred call must get the leader's outcome after the server restarts,
and the stand-in's own outcome must be recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually


def start(cluster: Cluster, gates: Path, workflow: str, name: str) -> str:
    gates.mkdir(exist_ok=True)
    cluster.start_agent(REPOS / "links.py", env={"COFLUX_GATES": str(gates)})
    submitted = cluster.cli("submit", "links", workflow, json.dumps(name))
    assert submitted.returncode == 0, submitted.stderr
    return submitted.stdout.strip()


def states(cluster: Cluster, run_id: str) -> dict[str, list[str]]:
    view = cluster.api("GET", f"/api/projects/test/runs/{run_id}").json()
    return {s["target"]: [e["state"] for e in s["executions"]] for s in view["steps"]}


def all_states(cluster: Cluster, run_id: str) -> list[str]:
    view = cluster.api("GET", f"/api/projects/test/runs/{run_id}").json()
    return sorted(e["state"] for s in view["steps"] for e in s["executions"])


def stand_in(cluster: Cluster, run_id: str, state: str) -> dict[str, object]:
    """The run's one execution in ``state`` (a cached or deferred stand-in)."""
    view = cluster.api("GET", f"/api/projects/test/runs/{run_id}").json()
    (found,) = [e for s in view["steps"] for e in s["executions"] if e["state"] == state]
    execution: dict[str, object] = found
    return execution


def restart(cluster: Cluster) -> None:
    cluster.server.kill9()
    cluster.server.start()


def result(cluster: Cluster, run_id: str) -> object:
    done = cluster.cli("runs", "result", run_id, "--wait", timeout=90)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_spawned_workflow_is_followed_after_a_restart(cluster: Cluster, tmp_path: Path) -> None:
    gates = tmp_path / "gates"
    run_id = start(cluster, gates, "spawns", "s")
    eventually(lambda: states(cluster, run_id).get("gated") == ["spawned"], 30)
    restart(cluster)
    (gates / "s").touch()
    assert result(cluster, run_id) == "s!"
    view = cluster.api("GET", f"/api/projects/test/runs/{run_id}").json()
    spawned = next(s for s in view["steps"] if s["target"] == "gated")["executions"][0]
    assert spawned["outcome"]["value"]["data"] == "s!"  # the stand-in's own outcome


def test_a_cache_hit_on_a_running_leader_is_followed_after_a_restart(
    cluster: Cluster, tmp_path: Path
) -> None:
    gates = tmp_path / "gates"
    run_id = start(cluster, gates, "cached_twice", "c")
    expected = ["assigned", "assigned", "cached"]  # the workflow, the leader, the hit
    eventually(lambda: all_states(cluster, run_id) == expected, 30)
    restart(cluster)
    (gates / "c").touch()
    assert result(cluster, run_id) == ["C", "C"]
    assert (gates / "c.ran").read_text().count("ran") == 1
    hit = stand_in(cluster, run_id, "cached")
    assert hit["completed_at"] is not None
    assert hit["outcome"]["value"]["data"] == "C"  # type: ignore[index]


def test_a_deferred_call_is_replaced_and_followed_after_a_restart(
    cluster: Cluster, tmp_path: Path
) -> None:
    gates = tmp_path / "gates"
    run_id = start(cluster, gates, "defers", "d")
    eventually(lambda: states(cluster, run_id).get("deferred") == ["queued"], 30)
    restart(cluster)
    (gates / "d-go").touch()  # the second, equal call comes after the restart
    eventually(lambda: "deferred" in all_states(cluster, run_id), 30)
    (gates / "d-release").touch()
    assert result(cluster, run_id) == ["d:d-release", "d:d-release"]
    assert (gates / "d.ran").read_text().count("ran") == 1  # replaced: ran once
    replaced = stand_in(cluster, run_id, "deferred")
    assert replaced["completed_at"] is not None
    assert replaced["outcome"]["value"]["data"] == "d:d-release"  # type: ignore[index]
    # The view names the call that replaced it (Studio links the two).
    view = cluster.api("GET", f"/api/projects/test/runs/{run_id}").json()
    (replacement,) = [
        e
        for s in view["steps"]
        if s["target"] == "deferred"
        for e in s["executions"]
        if e["state"] == "succeeded"
    ]
    assert replaced["successor"] == replacement["id"]
