"""Project tokens on several servers sharing one PostgreSQL database: a token made
through one server opens its project (and only that) through every other at once,
and once revoked through one it is refused by all of them within a second.

The servers require tokens (one admin token for both), and each has its own data
directory, as in ``test_several_servers.py``, whose database fixture and lease time
this reuses. Project 'test' is settled on the server it belongs on (the *owner*);
tokens are made and revoked through the *other*, while the owner, which answers
the requests for its project itself, has to check them.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from coflux import protocol
from coflux.store.postgres.leases import preferred_server
from tests.integration.test_several_servers import LEASE, database
from tests.store.test_postgres import database_name, query
from tests.support.cluster import Cluster, Server
from tests.support.eventually import eventually
from tests.support.postgres import shared_cluster

__all__ = ["database"]  # a fixture, used by `shared` and below

ADMIN = "the-admin-token-of-every-server"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def start_server(tmp_path: Path, name: str, database: str) -> Server:
    return Server(
        tmp_path / name, database=database, tokens=[ADMIN], args=["--lease-ttl", LEASE]
    ).start()


def agent_closed(server: Server, token: str) -> int | None:
    """The code an agent's connection with ``token`` is closed with before its hello."""
    url = server.url.replace("http://", "ws://") + "/api/agent"
    with (
        connect(url, additional_headers=bearer(token), open_timeout=30) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=30)
    return None if closed.value.rcvd is None else closed.value.rcvd.code


def listed(server: Server, token: str = ADMIN) -> httpx.Response:
    """``GET /api/projects``: answered by ``server`` itself (never forwarded)."""
    return httpx.get(server.url + "/api/projects", headers=bearer(token), timeout=30)


@dataclass
class Shared:
    owner: Server  # serves project 'test'
    other: Server
    tmp_path: Path

    def cli(
        self, server: Server, *args: str, token: str = ADMIN, project: str = "test"
    ) -> subprocess.CompletedProcess[str]:
        on = Cluster(server, self.tmp_path, project=project)
        return on.cli(*args, env=on.env(COFLUX_TOKEN=token))


def settled(servers: list[Server]) -> Server | None:
    """The server that serves project 'test', once it is the one it belongs on and
    the other lists it as served elsewhere."""
    view = httpx.get(servers[0].url + "/api/servers", headers=bearer(ADMIN), timeout=10).json()
    live = {s["id"]: s for s in view["servers"] if s["live"]}
    projects = {s.url: {p["name"]: p for p in listed(s).json()} for s in servers}
    if len(live) != len(servers) or "test" not in projects[servers[0].url]:
        return None
    preferred = live[preferred_server(projects[servers[0].url]["test"]["id"], list(live))]
    if "test" not in preferred["projects"]:
        return None
    owner = next(s for s in servers if s.url == preferred["address"])
    serving = {s.url: projects[s.url]["test"].get("status") != "unavailable" for s in servers}
    return owner if all(serving[s.url] == (s is owner) for s in servers) else None


@pytest.fixture
def shared(tmp_path: Path, database: str) -> Iterator[Shared]:
    servers = [start_server(tmp_path, name, database) for name in ("a", "b")]
    try:
        first = Shared(servers[0], servers[1], tmp_path)
        for project in ("test", "beta"):
            made = first.cli(servers[0], "projects", "create", project)
            assert made.returncode == 0, made.stderr
        made = first.cli(servers[0], "environments", "create", "production")
        assert made.returncode == 0, made.stderr
        owner = eventually(lambda: settled(servers), 30, message="project 'test' to settle")
        yield Shared(owner, next(s for s in servers if s is not owner), tmp_path)
    finally:
        for server in servers:
            server.stop()


def test_a_token_made_through_one_server_works_through_the_other_until_revoked(
    shared: Shared,
) -> None:
    owner, other = shared.owner, shared.other
    # Made where the project is not served: its environments are read from the store.
    unknown = shared.cli(other, "tokens", "create", "--project", "test", "--environment", "nope")
    assert unknown.returncode != 0 and "nope" in unknown.stderr
    made = shared.cli(
        other, "tokens", "create", "--project", "test", "--environment", "production",
        "--description", "ci",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    # The owner has never seen it, and knows it at once.
    runs = shared.cli(owner, "runs", "list", "--json", token=token)
    assert runs.returncode == 0, runs.stderr
    assert json.loads(runs.stdout) == []
    assert [p["name"] for p in listed(owner, token).json()] == ["test"]
    # Its project only, and no admin route, on either server.
    for server in (owner, other):
        refused = shared.cli(server, "runs", "list", token=token, project="beta")
        assert refused.returncode != 0
        assert "this token does not give access to project beta" in refused.stderr
        admin_only = httpx.get(server.url + "/api/tokens", headers=bearer(token), timeout=30)
        assert admin_only.status_code == 403
    # Either server lists it; revoked through the other, the other refuses it at once...
    shown = [json.loads(shared.cli(s, "tokens", "list", "--json").stdout) for s in (owner, other)]
    assert shown[0] == shown[1] and [t["description"] for t in shown[0]] == ["ci"]
    revoked = shared.cli(other, "tokens", "revoke", shown[0][0]["id"])
    assert revoked.returncode == 0, revoked.stderr
    assert listed(other, token).status_code == 401
    # ...and the owner within its copy's age (a second).
    eventually(lambda: listed(owner, token).status_code == 401, 10, message="owner refuses it")
    after = shared.cli(owner, "runs", "list", token=token)
    assert after.returncode != 0 and "a valid token is required" in after.stderr
    assert json.loads(shared.cli(owner, "tokens", "list", "--json").stdout)[0]["revoked_at"]


def test_tokens_are_refused_while_the_database_cannot_be_read(
    tmp_path: Path, database: str
) -> None:
    server = start_server(tmp_path, "a", database)
    admin = Shared(server, server, tmp_path)
    cluster = shared_cluster()
    name = database_name(database)
    try:
        assert admin.cli(server, "projects", "create", "test").returncode == 0
        token = admin.cli(server, "tokens", "create", "--project", "test").stdout.strip()
        assert listed(server, token).status_code == 200
        query(cluster.url(), f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        query(
            cluster.url(),
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
        )
        guessed = "cfx_aaaaaaaaaaaa_a-guessed-secret"

        def refused() -> bool:
            # All at once: they wait for the same read of the tokens.
            with ThreadPoolExecutor(max_workers=3) as pool:
                agent = pool.submit(agent_closed, server, guessed)
                answers = list(pool.map(lambda t: listed(server, t), (token, guessed)))
            if any(a.status_code == 200 for a in answers):
                return False  # answered from a copy still young enough
            for answer in answers:
                assert answer.status_code == 503, answer.text
                assert answer.json()["error"]["reason"] == "database_unavailable"
            # An agent is told to come back later, not that its token is bad.
            assert agent.result() == protocol.CLOSE_UNAVAILABLE
            return True

        eventually(refused, 60, interval=0.2, message="token checks to be refused")
        assert listed(server).status_code == 200  # the admin token needs no database
    finally:
        query(cluster.url(), f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        server.stop()
