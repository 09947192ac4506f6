"""The views carry the links between executions: a stand-in's ``successor`` (the
execution whose outcome it takes) and a spawned run's ``spawned_by``, read from
the store, so that Studio and the CLI can follow them."""

from __future__ import annotations

import json
from typing import Any

from tests.support.cluster import REPOS, Cluster

ATTEMPTS = REPOS / "attempts.py"


def finished(cluster: Cluster, target: str, *arguments: object) -> str:
    args = [json.dumps(a) for a in arguments]
    done = cluster.cli("submit", "attempts", target, *args, "--wait")
    assert done.returncode == 0, done.stderr
    listed = json.loads(cluster.cli("runs", "list", "--json").stdout)
    return str(next(run["id"] for run in listed if run["target"] == target))


def view(cluster: Cluster, run_id: str, outline: bool = False) -> dict[str, Any]:
    response = cluster.api(
        "GET", f"/api/projects/test/runs/{run_id}" + ("/outline" if outline else "")
    )
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    return run


def steps_of(run: dict[str, Any], target: str) -> list[dict[str, Any]]:
    return [step for step in run["steps"] if step["target"] == target]


def test_a_cached_step_names_the_execution_it_reused(cluster: Cluster) -> None:
    cluster.start_agent(ATTEMPTS)
    run_id = finished(cluster, "reuses", "k")
    for outline in (False, True):
        first, second = steps_of(view(cluster, run_id, outline), "expensive")
        (ran,), (hit,) = first["executions"], second["executions"]
        assert (ran["state"], hit["state"]) == ("succeeded", "cached")
        assert hit["successor"] == ran["id"]
        assert "successor" not in ran  # omitted, like queued_reason, when there is none


def test_a_spawned_step_names_its_run_and_the_run_names_its_caller(cluster: Cluster) -> None:
    cluster.start_agent(ATTEMPTS)
    run_id = finished(cluster, "spawns", "Ada")
    parent = view(cluster, run_id)
    (caller,) = steps_of(parent, "caller")
    (spawned,) = steps_of(parent, "child")  # the call, as a step of the caller's run
    (execution,) = spawned["executions"]
    assert execution["state"] == "spawned"
    child_run, _, _ = execution["successor"].partition(":")
    assert child_run != run_id
    child = view(cluster, child_run)
    assert child["steps"][0]["executions"][0]["id"] == execution["successor"]
    assert child["spawned_by"] == execution["id"]
    assert view(cluster, child_run, outline=True)["spawned_by"] == execution["id"]
    assert parent["spawned_by"] is None  # submitted, not spawned
    assert caller["executions"][0]["state"] == "succeeded"


def test_retries_have_no_successor_in_the_view(cluster: Cluster, tmp_path: Any) -> None:
    # The next attempt of a step is already in its list of executions: only
    # stand-ins carry a link.
    cluster.start_agent(ATTEMPTS)
    run_id = finished(cluster, "retried", str(tmp_path / "counter"))
    (flaky,) = steps_of(view(cluster, run_id), "flaky")
    assert [e["state"] for e in flaky["executions"]] == ["failed", "succeeded"]
    assert all("successor" not in e for e in flaky["executions"])
