"""A project's recent activity (``GET /api/projects/{project}/activity``), what Studio's
landing pages show, against a real server and agent on each storage: runs counted by
state, the newest failure, the agents connected now, and only the environments a
token opens. (The windows' edges are pinned with a fake clock in the store's
contract tests, ``tests/store/test_contract_activity.py``.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Storage
from tests.support.cluster import REPOS, Cluster, Server
from tests.support.eventually import eventually

ADMIN = "the-admin-token-of-this-server"


def activity(cluster: Cluster, token: str | None = None, project: str = "test") -> Any:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = cluster.api("GET", f"/api/projects/{project}/activity", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def by_name(answer: Any) -> dict[str, Any]:
    return {e["environment"]: e for e in answer["environments"]}


def submit(
    cluster: Cluster, target: str, argument: str, headers: dict[str, str] | None = None
) -> str:
    repository = "failing" if target == "calls_failing" else "hello"
    body = {
        "environment": "production", "repository": repository, "target": target,
        "arguments": [{"format": "json", "data": argument}],
    }  # fmt: skip
    response = cluster.api("POST", "/api/projects/test/runs", json=body, headers=headers or {})
    assert response.status_code == 201, response.text
    run_id: str = response.json()["run_id"]
    return run_id


def state_of(cluster: Cluster, run_id: str) -> str:
    response = cluster.api("GET", f"/api/projects/test/runs/{run_id}/result")
    assert response.status_code == 200, response.text
    state: str = response.json()["state"]
    return state


def test_counts_runs_by_state_with_the_newest_failure_and_agents(cluster: Cluster) -> None:
    created = cluster.api("POST", "/api/projects/test/environments", json={"name": "staging"})
    assert created.status_code == 201, created.text
    before = time.time()
    quiet = activity(cluster)
    assert [e["environment"] for e in quiet["environments"]] == ["production", "staging"]
    for environment in quiet["environments"]:
        assert environment["last_day"] == environment["last_week"] == {}
        assert environment["newest_failure"] is None and environment["agents"] == 0

    agent = cluster.start_agent(REPOS / "hello.py", REPOS / "failing.py")
    first = submit(cluster, "calls_failing", "first")
    ok = submit(cluster, "hello", "Ada")
    second = submit(cluster, "calls_failing", "second")
    eventually(
        lambda: (
            [state_of(cluster, r) for r in (first, ok, second)] == ["failed", "succeeded", "failed"]
        ),
        30,
        message="the runs to end",
    )
    busy = activity(cluster)
    assert before <= busy["at"] <= time.time()
    production, staging = by_name(busy)["production"], by_name(busy)["staging"]
    assert production["last_day"] == production["last_week"] == {"failed": 2, "succeeded": 1}
    assert production["agents"] == 1
    failure = production["newest_failure"]
    assert (failure["id"], failure["repository"], failure["target"]) == (
        second, "failing", "calls_failing",
    )  # fmt: skip
    assert failure["state"] == "failed" and failure["completed_at"] >= failure["created_at"]
    assert staging == {**staging, "last_day": {}, "newest_failure": None, "agents": 0}

    # A run still queued counts as queued; the agents are those connected now.
    agent.stop()
    eventually(lambda: by_name(activity(cluster))["production"]["agents"] == 0, 30,
               message="the stopped agent to count no more")  # fmt: skip
    waiting = submit(cluster, "hello", "Grace")
    production = by_name(activity(cluster))["production"]
    assert production["last_day"] == {"failed": 2, "succeeded": 1, "queued": 1}
    assert production["newest_failure"]["id"] == second
    assert state_of(cluster, waiting) == "queued"


def test_an_unknown_project_is_a_404_naming_it(cluster: Cluster) -> None:
    response = cluster.api("GET", "/api/projects/nowhere/activity")
    assert response.status_code == 404, response.text
    assert response.json()["error"]["reason"] == "unknown_project"
    assert "nowhere" in response.json()["error"]["message"]


@pytest.fixture
def secured(tmp_path: Path, storage: Storage) -> Iterator[Cluster]:
    """A server that needs tokens, on ``storage``, with project 'test' and its
    environments production and staging."""
    server = Server(
        tmp_path / "data", tokens=[ADMIN], database=storage.database, blobs=storage.blobs,
        env=storage.env,
    ).start()  # fmt: skip
    cluster = Cluster(server, tmp_path)
    try:
        headers = {"Authorization": f"Bearer {ADMIN}"}
        made = cluster.api("POST", "/api/projects", json={"name": "test"}, headers=headers)
        assert made.status_code == 201, made.text
        for name in ("production", "staging"):
            made = cluster.api(
                "POST", "/api/projects/test/environments", json={"name": name}, headers=headers
            )
            assert made.status_code == 201, made.text
        yield cluster
    finally:
        cluster.stop()


def test_an_environment_limited_token_sees_only_its_environments(secured: Cluster) -> None:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    registered = secured.cli(
        "register", str(REPOS / "hello.py"), env=secured.env(COFLUX_TOKEN=ADMIN)
    )
    assert registered.returncode == 0, registered.stderr
    submit(secured, "hello", "Ada", headers=admin)
    made = secured.api(
        "POST", "/api/tokens", json={"project": "test", "environments": ["staging"]}, headers=admin
    )
    assert made.status_code == 201, made.text
    staging_token = made.json()["token"]

    everything = by_name(activity(secured, ADMIN))
    assert list(everything) == ["production", "staging"]
    assert everything["production"]["last_day"] == {"queued": 1}
    limited = activity(secured, staging_token)
    assert [e["environment"] for e in limited["environments"]] == ["staging"]
    assert limited["environments"][0]["last_day"] == {}
    refused = secured.api("GET", "/api/projects/test/activity")
    assert refused.status_code == 401, refused.text
