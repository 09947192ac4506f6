"""Several servers on one PostgreSQL database: one owns each project, another takes
it over when the owner dies, and an owner that paused past its lease is fenced off.

Each server has its own data directory (so its own server id) and a short lease
(``--lease-ttl``), so that a takeover takes seconds. Agents and clients may talk
to any server: requests are forwarded to the owner, live subscriptions relayed,
and agents sent there.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.support.cluster import EXAMPLES, REPOS, Cluster, Server
from tests.support.eventually import eventually
from tests.support.postgres import fresh_database, shared_cluster

LEASE = "1.5"  # seconds; a takeover follows within about one lease time


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_database(shared_cluster()) as url:
        yield url


def start_server(tmp_path: Path, name: str, database: str) -> Server:
    # The session timeout outlasts a takeover, so agents resume their sessions.
    return Server(
        tmp_path / name, database=database, session_timeout=15, args=["--lease-ttl", LEASE]
    ).start()


def project_on(server: Server) -> dict[str, object] | None:
    """How ``server`` lists project 'test' (None: not at all)."""
    listed = httpx.get(server.url + "/api/projects", timeout=10).json()
    return next((p for p in listed if p["name"] == "test"), None)


def serves(server: Server) -> bool:
    listed = project_on(server)
    return listed is not None and listed.get("status") != "unavailable"


def lists_elsewhere(server: Server) -> bool:
    listed = project_on(server)
    return listed is not None and listed.get("status") == "unavailable"


def hello(cluster: Cluster, name: str) -> str:
    done = cluster.cli("submit", "hello", "print_greeting", json.dumps(name), "--wait")
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout))


def test_a_server_takes_over_the_projects_of_one_killed(tmp_path: Path, database: str) -> None:
    first = start_server(tmp_path, "a", database)
    on_first = Cluster(first, tmp_path)
    on_second: Cluster | None = None
    try:
        assert on_first.cli("projects", "create", "test").returncode == 0
        assert on_first.cli("environments", "create", "production").returncode == 0
        on_first.start_agent(EXAMPLES / "hello.py")
        assert hello(on_first, "Ann") == "Hello, Ann!"
        second = start_server(tmp_path, "b", database)
        on_second = Cluster(second, tmp_path)
        listed = project_on(second)
        assert listed is not None and listed["status"] == "unavailable"
        assert f"at {first.url} holds its lease" in str(listed["error"])
        through = httpx.get(second.url + "/api/projects/test/runs", timeout=10)
        assert through.status_code == 200  # forwarded to the owner
        assert [r["target"] for r in through.json()] == ["print_greeting"]
        # A request already forwarded once is not forwarded again.
        headers = {"coflux-forwarded": "http://elsewhere"}
        refused = httpx.get(second.url + "/api/projects/test/runs", headers=headers, timeout=10)
        assert refused.status_code == 503
        assert refused.json()["error"]["reason"] == "project_owned_elsewhere"

        first.kill9()
        for agent in on_first.agents:
            agent.stop()
        eventually(lambda: serves(second), 30, message="the second server to take over")
        runs = on_second.api("GET", "/api/projects/test/runs").json()
        assert [r["target"] for r in runs] == ["print_greeting"]  # what the first recorded
        on_second.start_agent(EXAMPLES / "hello.py")
        assert hello(on_second, "Bo") == "Hello, Bo!"
    finally:
        on_first.stop()
        if on_second is not None:
            on_second.stop()


def test_an_owner_paused_past_its_lease_is_fenced_off(tmp_path: Path, database: str) -> None:
    first = start_server(tmp_path, "a", database)
    second = start_server(tmp_path, "b", database)
    on_first, on_second = Cluster(first, tmp_path), Cluster(second, tmp_path)
    try:
        assert on_first.cli("projects", "create", "test").returncode == 0
        assert on_first.cli("environments", "create", "production").returncode == 0
        eventually(lambda: lists_elsewhere(second), 10, message="the second server to list it")
        assert first.process is not None
        first.process.popen.send_signal(signal.SIGSTOP)
        try:
            eventually(lambda: serves(second), 30, message="the second server to take over")
        finally:
            first.process.popen.send_signal(signal.SIGCONT)
        # The first server still holds the project's state, but may not write it.
        refused = on_first.cli("environments", "create", "staging")
        assert refused.returncode != 0
        assert "owned by another server" in refused.stderr, refused.stderr
        eventually(lambda: lists_elsewhere(first), 10, message="the first server to let it go")
        listed = on_second.cli("environments", "list", "--json")
        assert "staging" not in listed.stdout  # nothing of the refused request was written
        on_second.start_agent(EXAMPLES / "hello.py")
        assert hello(on_second, "Cy") == "Hello, Cy!"
    finally:
        on_first.stop()
        on_second.stop()


def test_agents_and_clients_reach_the_owner_through_any_server(
    tmp_path: Path, database: str
) -> None:
    owner = start_server(tmp_path, "a", database)
    other = start_server(tmp_path, "b", database)
    on_owner, via_other = Cluster(owner, tmp_path), Cluster(other, tmp_path)
    try:
        assert on_owner.cli("projects", "create", "test").returncode == 0
        assert on_owner.cli("environments", "create", "production").returncode == 0
        eventually(lambda: lists_elsewhere(other), 10, message="the other server to list it")
        agent = via_other.start_agent(EXAMPLES / "hello.py")
        assert hello(via_other, "Di") == "Hello, Di!"
        assert "the project is served by " + owner.url in agent.output.text()
        # A live subscription through the other server is the owner's.
        with connect(other.url.replace("http", "ws") + "/api/live") as live:
            live.send(json.dumps({"subscribe": "project", "project": "test"}))
            snapshot = json.loads(live.recv(timeout=10))
        names = [e["name"] for e in snapshot["snapshot"]["environments"]]
        assert names == ["production"]
    finally:
        via_other.stop()
        on_owner.stop()


def test_a_fan_out_survives_its_owner_killed_in_the_middle(tmp_path: Path, database: str) -> None:
    owner = start_server(tmp_path, "a", database)
    other = start_server(tmp_path, "b", database)
    on_owner, via_other = Cluster(owner, tmp_path), Cluster(other, tmp_path)
    try:
        assert on_owner.cli("projects", "create", "test").returncode == 0
        assert on_owner.cli("environments", "create", "production").returncode == 0
        eventually(lambda: lists_elsewhere(other), 10, message="the other server to list it")
        via_other.start_agent(REPOS / "several_servers.py", args=["--concurrency", "4"])
        submitted = via_other.cli("submit", "several_servers", "squares", "24", "0.3")
        assert submitted.returncode == 0, submitted.stderr
        run_id = submitted.stdout.strip()

        def started() -> bool:
            run = via_other.api("GET", f"/api/projects/test/runs/{run_id}").json()
            return sum(1 for step in run["steps"] if step["executions"][-1]["state"] != "queued") > 6

        eventually(started, 30, message="the fan-out to be under way")
        owner.kill9()
        eventually(lambda: serves(other), 30, message="the other server to take over")
        result = via_other.cli("runs", "result", run_id, "--wait", timeout=120)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == sum(n * n for n in range(24))
        run = via_other.api("GET", f"/api/projects/test/runs/{run_id}").json()
        attempts = [len(step["executions"]) for step in run["steps"]]
        assert attempts == [1] * 25  # nothing lost, nothing run twice
    finally:
        via_other.stop()
        on_owner.stop()
