"""Several servers on one PostgreSQL database: one owns each project, another takes
it over when the owner dies, and an owner that paused past its lease is fenced off.

Each server has its own data directory (so its own server id) and a short lease
(``--lease-ttl``), so that a takeover takes seconds. The clients here talk to the
server that owns the project; routing them there from any server is still to come.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.cluster import EXAMPLES, Cluster, Server
from tests.support.eventually import eventually
from tests.support.postgres import fresh_database, shared_cluster

LEASE = "1.5"  # seconds; a takeover follows within about one lease time


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_database(shared_cluster()) as url:
        yield url


def start_server(tmp_path: Path, name: str, database: str) -> Server:
    return Server(tmp_path / name, database=database, args=["--lease-ttl", LEASE]).start()


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
        refused = httpx.get(second.url + "/api/projects/test/runs", timeout=10)
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
