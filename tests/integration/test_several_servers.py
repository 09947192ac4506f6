"""Several servers on one PostgreSQL database: one owns each project, another takes
it over when the owner dies, an owner that paused past its lease is fenced off, and
projects move to the server they belong on (rendezvous hashing) as servers come and go.

Each server has its own data directory (so its own server id) and a short lease
(``--lease-ttl``), so that a takeover takes seconds. Agents and clients may talk
to any server: requests are forwarded to the owner, live subscriptions relayed,
and agents sent there.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from coflux.store.postgres.leases import SERVER_ID_FILE, preferred_server
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


def settle(*servers: Server) -> tuple[Server, list[Server]]:
    """Wait until project 'test' is served by the live server it belongs on, and
    the others know it; returns that server and the others."""
    found: list[Server] = []

    def settled() -> bool:
        view = httpx.get(servers[0].url + "/api/servers", timeout=10).json()
        live = {s["id"]: s for s in view["servers"] if s["live"]}
        listed = project_on(servers[0])
        if listed is None or len(live) != len(servers):
            return False
        preferred = live[preferred_server(str(listed["id"]), list(live))]
        owner = next((s for s in servers if s.url == preferred["address"]), None)
        if owner is None or "test" not in preferred["projects"] or not serves(owner):
            return False
        found[:] = [owner]
        return all(lists_elsewhere(s) for s in servers if s is not owner)

    eventually(settled, 30, message="project 'test' to settle on its server")
    return found[0], [s for s in servers if s is not found[0]]


def create_project(server: Server, tmp_path: Path) -> None:
    on = Cluster(server, tmp_path)
    assert on.cli("projects", "create", "test").returncode == 0
    assert on.cli("environments", "create", "production").returncode == 0


@dataclass
class Pair:
    """Two servers on one database, project 'test' settled on the one it belongs on."""

    owner: Server
    other: Server
    tmp_path: Path
    clusters: list[Cluster] = field(default_factory=list)

    def on(self, server: Server) -> Cluster:
        """A client of ``server`` (its agents are stopped with the pair)."""
        cluster = Cluster(server, self.tmp_path)
        self.clusters.append(cluster)
        return cluster


@pytest.fixture
def pair(tmp_path: Path, database: str) -> Iterator[Pair]:
    servers = [start_server(tmp_path, name, database) for name in ("a", "b")]
    started = [Cluster(s, tmp_path) for s in servers]
    try:
        create_project(servers[0], tmp_path)
        owner, (other,) = settle(*servers)
        pair = Pair(owner, other, tmp_path)
        try:
            yield pair
        finally:
            for cluster in pair.clusters:
                cluster.stop()
    finally:
        for cluster in started:
            cluster.stop()


def hello(cluster: Cluster, name: str) -> str:
    done = cluster.cli("submit", "hello", "print_greeting", json.dumps(name), "--wait")
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout))


def completed_once(cluster: Cluster, run_id: str, count: int) -> None:
    """The run of ``squares`` or ``chain`` over ``count`` ended with the right sum,
    every step run once: nothing lost, nothing run twice."""
    result = cluster.cli("runs", "result", run_id, "--wait", timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == sum(n * n for n in range(count))
    run = cluster.api("GET", f"/api/projects/test/runs/{run_id}").json()
    assert [len(step["executions"]) for step in run["steps"]] == [1] * (count + 1)


def test_a_server_takes_over_the_projects_of_one_killed(pair: Pair) -> None:
    owner, other = pair.owner, pair.other
    on_owner = pair.on(owner)
    on_owner.start_agent(EXAMPLES / "hello.py")
    assert hello(on_owner, "Ann") == "Hello, Ann!"
    through = httpx.get(other.url + "/api/projects/test/runs", timeout=10)
    assert through.status_code == 200  # forwarded to the owner
    assert [r["target"] for r in through.json()] == ["print_greeting"]
    # A request already forwarded once is not forwarded again.
    headers = {"coflux-forwarded": "http://elsewhere"}
    refused = httpx.get(other.url + "/api/projects/test/runs", headers=headers, timeout=10)
    assert refused.status_code == 503
    assert refused.json()["error"]["reason"] == "project_owned_elsewhere"

    owner.kill9()
    for agent in on_owner.agents:
        agent.stop()
    eventually(lambda: serves(other), 30, message="the other server to take over")
    on_other = pair.on(other)
    runs = on_other.api("GET", "/api/projects/test/runs").json()
    assert [r["target"] for r in runs] == ["print_greeting"]  # what the owner recorded
    on_other.start_agent(EXAMPLES / "hello.py")
    assert hello(on_other, "Bo") == "Hello, Bo!"


def test_an_owner_paused_past_its_lease_is_fenced_off(pair: Pair) -> None:
    owner, other = pair.owner, pair.other
    assert owner.process is not None
    owner.process.popen.send_signal(signal.SIGSTOP)
    try:
        eventually(lambda: serves(other), 30, message="the other server to take over")
    finally:
        owner.process.popen.send_signal(signal.SIGCONT)
    # The paused server still holds the project's state, but may not write it.
    # (Marked as forwarded: it must answer itself, not pass the request on.)
    refused = httpx.post(
        owner.url + "/api/projects/test/environments",
        json={"name": "staging"},
        headers={"coflux-forwarded": "the test"},
        timeout=10,
    )
    assert refused.status_code == 503, refused.text
    assert "is not served by this server now" in refused.json()["error"]["message"]
    eventually(lambda: lists_elsewhere(owner), 10, message="the paused server to let it go")
    on_other = pair.on(other)
    listed = on_other.cli("environments", "list", "--json")
    assert "staging" not in listed.stdout  # nothing of the refused request was written
    on_other.start_agent(EXAMPLES / "hello.py")
    assert hello(on_other, "Cy") == "Hello, Cy!"


def test_agents_and_clients_reach_the_owner_through_any_server(pair: Pair) -> None:
    via_other = pair.on(pair.other)
    agent = via_other.start_agent(EXAMPLES / "hello.py")
    assert hello(via_other, "Di") == "Hello, Di!"
    assert "the project is served by " + pair.owner.url in agent.output.text()
    # A live subscription through the other server is the owner's.
    with connect(pair.other.url.replace("http", "ws") + "/api/live") as live:
        live.send(json.dumps({"subscribe": "project", "project": "test"}))
        snapshot = json.loads(live.recv(timeout=10))
    names = [e["name"] for e in snapshot["snapshot"]["environments"]]
    assert names == ["production"]


def test_a_fan_out_survives_its_owner_killed_in_the_middle(pair: Pair) -> None:
    via_other = pair.on(pair.other)
    via_other.start_agent(REPOS / "several_servers.py", args=["--concurrency", "4"])
    submitted = via_other.cli("submit", "several_servers", "squares", "24", "0.3")
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.strip()

    def started() -> bool:
        run = via_other.api("GET", f"/api/projects/test/runs/{run_id}").json()
        return sum(1 for step in run["steps"] if step["executions"][-1]["state"] != "queued") > 6

    eventually(started, 30, message="the fan-out to be under way")
    pair.owner.kill9()
    eventually(lambda: serves(pair.other), 30, message="the other server to take over")
    completed_once(via_other, run_id, 24)


def test_projects_spread_over_the_servers_and_move_when_one_joins_or_leaves(
    tmp_path: Path, database: str
) -> None:
    first = start_server(tmp_path, "a", database)
    clusters = [Cluster(first, tmp_path)]
    try:
        names = [f"p{i}" for i in range(8)]
        for name in names:
            assert clusters[0].cli("projects", "create", name).returncode == 0
        second = start_server(tmp_path, "b", database)
        clusters.append(Cluster(second, tmp_path))

        def owners() -> dict[str, list[str]]:
            view = httpx.get(first.url + "/api/servers", timeout=10).json()
            return {s["address"]: s["projects"] for s in view["servers"] if s["live"]}

        def spread() -> bool:
            found = owners()
            ids = {p["name"]: p["id"] for p in httpx.get(first.url + "/api/projects").json()}
            view = httpx.get(first.url + "/api/servers", timeout=10).json()
            live = {s["id"]: s["address"] for s in view["servers"] if s["live"]}
            want: dict[str, list[str]] = {address: [] for address in live.values()}
            for name in names:
                want[live[preferred_server(ids[name], list(live))]].append(name)
            return len(live) == 2 and found == {a: sorted(n) for a, n in want.items()}

        eventually(spread, 30, message="the projects to spread over both servers")
        assert all(owners().values())  # 8 projects over 2 servers: both own some
        shown = clusters[1].cli("server", "status", "--json")
        assert shown.returncode == 0, shown.stderr
        listed = {s["address"]: s["projects"] for s in json.loads(shown.stdout)["servers"]}
        assert listed == owners()
        table = clusters[1].cli("server", "status")
        assert first.url in table.stdout and second.url in table.stdout
        clusters[1].stop()  # a graceful stop hands its projects back at once
        eventually(
            lambda: owners() == {first.url: sorted(names)}, 15, message="the first to own all"
        )
    finally:
        for cluster in clusters:
            cluster.stop()


def succeeded_steps(cluster: Cluster, run_id: str) -> int:
    run = cluster.api("GET", f"/api/projects/test/runs/{run_id}").json()
    return sum(1 for step in run["steps"] if step["executions"][-1]["state"] == "succeeded")


def test_a_chain_survives_its_owner_killed_again_and_again(pair: Pair) -> None:
    """The owner dies three times in the middle of a chain; each time the other
    server takes over, and the restarted owner (the same server id, so the server
    the project belongs on) takes it back."""
    via_other = pair.on(pair.other)
    via_other.start_agent(REPOS / "several_servers.py")
    submitted = via_other.cli("submit", "several_servers", "chain", "10", "0.4")
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.strip()
    done = 0
    for _ in range(3):
        eventually(
            lambda done=done: succeeded_steps(via_other, run_id) > done,
            60,
            message="the chain to go on",
        )
        done = succeeded_steps(via_other, run_id)
        pair.owner.kill9()
        eventually(lambda: serves(pair.other), 30, message="the other server to take over")
        pair.owner.start()
        owner, _ = settle(pair.owner, pair.other)
        assert owner is pair.owner  # handed back to the server it belongs on
    completed_once(via_other, run_id, 10)


def test_a_server_joining_takes_over_its_projects_while_runs_go_on(
    tmp_path: Path, database: str
) -> None:
    first = start_server(tmp_path, "a", database)
    on_first = Cluster(first, tmp_path)
    clusters = [on_first]
    try:
        create_project(first, tmp_path)
        project_id = str((project_on(first) or {})["id"])
        view = httpx.get(first.url + "/api/servers", timeout=10).json()
        (first_id,) = [s["id"] for s in view["servers"] if s["live"]]
        # The joining server's id makes it the one the project belongs on.
        joining_id = next(
            candidate
            for candidate in (f"joining-{i}" for i in range(1000))
            if preferred_server(project_id, [first_id, candidate]) == candidate
        )
        (tmp_path / "b").mkdir()
        (tmp_path / "b" / SERVER_ID_FILE).write_text(joining_id + "\n")

        on_first.start_agent(REPOS / "several_servers.py", args=["--concurrency", "4"])
        submitted = on_first.cli("submit", "several_servers", "squares", "24", "0.3")
        assert submitted.returncode == 0, submitted.stderr
        run_id = submitted.stdout.strip()
        eventually(lambda: succeeded_steps(on_first, run_id) > 4, 30, message="a start")
        second = start_server(tmp_path, "b", database)
        clusters.append(Cluster(second, tmp_path))
        owner, _ = settle(first, second)
        assert owner is second
        completed_once(on_first, run_id, 24)
    finally:
        for cluster in clusters:
            cluster.stop()


def test_a_fan_out_goes_on_when_its_owner_stops_gracefully(pair: Pair) -> None:
    """A graceful stop releases the project's lease at once: the other server takes
    it over without waiting for the lease to expire, and the runs go on."""
    via_other = pair.on(pair.other)
    via_other.start_agent(REPOS / "several_servers.py", args=["--concurrency", "4"])
    submitted = via_other.cli("submit", "several_servers", "squares", "24", "0.3")
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.strip()
    eventually(lambda: succeeded_steps(via_other, run_id) > 4, 30, message="a start")
    pair.owner.stop()
    eventually(lambda: serves(pair.other), 30, message="the other server to take over")
    completed_once(via_other, run_id, 24)
