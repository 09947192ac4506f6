"""Several servers on one database, and an agent per project: what
``bench/servers.py`` drives.

A ``Fleet`` starts real ``coflux server`` processes (``tests/support/cluster.py``),
each with its own data directory (so its own server id) and the same
``--database`` and ``--blobs`` (an S3 bucket of moto's server: the blob store the
servers share), and one ``coflux agent`` per project, every agent pointed at the
first server: it follows that server's redirect to its project's owner. Who owns
what is read from the database (the leases and the servers' heartbeats), the one
place every server agrees on.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from measure import poll, tree_cpu_seconds, tree_pss_mb
from ours import ENVIRONMENT, REPOSITORY, value
from stores import PostgresStore
from tests.support.cluster import Cluster, Process, Server
from tests.support.s3 import S3Service

from coflux.store.base import DEFAULT_LEASE_TTL
from coflux.store.postgres.leases import preferred_server

# Two executions at once: a workflow that is not waiting on a result (``load``
# sleeps between submissions) holds a slot, and its tasks need another. Three
# executor processes at most: 100 agents then hold ~400 processes.
AGENT_ARGS = ("--concurrency", "2", "--max-executors", "3")
SESSION_TIMEOUT = 30.0  # the server's default: it outlasts a takeover (15 s lease + a look)
AGENTS_AT_ONCE = 10  # agents started together (hundreds of Python start-ups at once time out)


def database_query(url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def next_xid(url: str) -> int:
    """The cluster's next transaction id: every write transaction takes one, so the
    difference of two readings counts the transactions that wrote in between."""
    return int(database_query(url, "SELECT pg_snapshot_xmax(pg_current_snapshot())::text")[0][0])


def ownership(url: str) -> tuple[dict[str, str], dict[str, tuple[str, str | None]]]:
    """The live servers (id -> address) and every project (name -> (id, the address
    of the server holding its live lease, or None)), from the database."""
    live = database_query(
        url, "SELECT id, address FROM servers"
        " WHERE heartbeat_at > now() - make_interval(secs => %s)", DEFAULT_LEASE_TTL,
    )  # fmt: skip
    rows = database_query(
        url, "SELECT p.name, p.id, CASE WHEN l.expires_at > now() THEN l.address END"
        " FROM projects p LEFT JOIN project_leases l ON l.project_id = p.id",
    )  # fmt: skip
    return dict(live), {name: (pid, address) for name, pid, address in rows}


def settled(url: str, addresses: set[str]) -> dict[str, str] | None:
    """Project name -> owner address once exactly ``addresses`` are live and every
    project is held by the server it belongs on; None before."""
    live, projects = ownership(url)
    if set(live.values()) != addresses:
        return None
    owners = {}
    for name, (project_id, holder) in projects.items():
        if holder is None or holder != live[preferred_server(project_id, list(live))]:
            return None
        owners[name] = holder
    return owners


class Fleet:
    """Servers sharing one database and bucket, and an agent per project, all
    pointed at the first server; everything stopped by ``close``."""

    def __init__(self, workdir: Path, database: str, s3: S3Service) -> None:
        self.workdir = workdir
        self.database = database
        bucket = f"coflux-{uuid.uuid4().hex[:12]}"
        s3.client().create_bucket(Bucket=bucket)
        self.blobs = f"s3://{bucket}/coflux"
        self.env = {
            **s3.env(),  # only these AWS variables: no profile or files of the machine
            "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "no-aws-credentials"),
            "AWS_CONFIG_FILE": str(workdir / "no-aws-config"),
        }
        self.servers: list[Server] = []  # the running ones, oldest first
        self.started: list[Server] = []  # every one, stopped or not (their logs)
        self.agents: dict[str, Process] = {}
        self._clients: dict[str, httpx.Client] = {}

    def add_server(self) -> Server:
        data_dir = self.workdir / f"server-{len(self.servers) + 1}-{uuid.uuid4().hex[:6]}"
        server = Server(
            data_dir, session_timeout=SESSION_TIMEOUT, database=self.database,
            blobs=self.blobs, env=self.env,
        ).start()  # fmt: skip
        self.servers.append(server)
        self.started.append(server)
        return server

    def remove_server(self, server: Server, *, kill: bool) -> None:
        """Stop ``server``: gracefully (its leases released) or with ``kill -9``."""
        self.servers.remove(server)
        server.kill9() if kill else server.stop()

    def api(self, server: Server) -> httpx.Client:
        if server.url not in self._clients:
            self._clients[server.url] = httpx.Client(base_url=server.url, timeout=120)
        return self._clients[server.url]

    def settle(self, names: list[str]) -> dict[str, Server]:
        """Wait until the running servers hold the projects that belong on them
        and every project's agent is connected to its owner: name -> owner."""
        addresses = {s.url for s in self.servers}
        found: list[dict[str, str]] = []

        def placed() -> bool:
            owners = settled(self.database, addresses)
            found[:] = [owners] if owners is not None else []
            return owners is not None

        poll(placed, timeout=120, interval=0.5)
        by_url = {s.url: s for s in self.servers}
        owners = {name: by_url[found[0][name]] for name in names}
        poll(lambda: all(self._agent_connected(name) for name in names), timeout=120, interval=0.5)
        return owners

    def _agent_connected(self, name: str) -> bool:
        path = f"/api/projects/{name}/environments/{ENVIRONMENT}/agents"
        with contextlib.suppress(httpx.TransportError):
            answer = self.api(self.servers[0]).get(path)
            return answer.status_code == 200 and any(a["connected"] for a in answer.json())
        return False

    def create_projects(self, names: list[str]) -> None:
        """The projects, each with its environment, created through the first server."""
        api = self.api(self.servers[0])
        for name in names:
            api.post("/api/projects", json={"name": name}).raise_for_status()
            api.post(f"/api/projects/{name}/environments", json={"name": ENVIRONMENT}).raise_for_status()  # fmt: skip

    def start_agents(self, names: list[str]) -> None:
        """An agent per project, pointed at the first server, started in groups."""
        for first in range(0, len(names), AGENTS_AT_ONCE):
            group = []
            for name in names[first : first + AGENTS_AT_ONCE]:
                cluster = Cluster(self.servers[0], self.workdir, project=name)
                agent = cluster.start_agent(REPOSITORY, args=AGENT_ARGS, wait=False)
                self.agents[name] = agent
                group.append((cluster, agent))
            for cluster, agent in group:
                cluster.wait_connected(agent)

    def submit(self, server: Server, project: str, target: str, arguments: list[Any], key: str) -> str:  # fmt: skip
        """Start a run through ``server`` (retried, with its idempotency key, while
        no server answers for the project); its id."""
        body = {
            "environment": ENVIRONMENT, "repository": "bench_engine", "target": target,
            "arguments": [value(a) for a in arguments], "idempotency_key": key,
        }  # fmt: skip
        found: list[str] = []

        def submitted() -> bool:
            with contextlib.suppress(httpx.TransportError):
                answer = self.api(server).post(f"/api/projects/{project}/runs", json=body)
                if answer.status_code in (200, 201):
                    found.append(str(answer.json()["run_id"]))
                    return True
            return False

        poll(submitted, timeout=60, interval=0.2)
        return found[0]

    def submit_all(self, names: list[str], target: str, arguments: list[Any], key: str) -> dict[str, str]:  # fmt: skip
        """A run in every project, submitted round robin through the servers (ten at
        a time, so the last starts soon after the first): project -> run id."""
        servers = list(self.servers)

        def one(item: tuple[int, str]) -> str:
            n, name = item
            return self.submit(servers[n % len(servers)], name, target, arguments, f"{key}-{name}")

        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            return dict(zip(names, pool.map(one, enumerate(names)), strict=True))

    def get(self, server: Server, path: str, **params: Any) -> Any:
        """A GET answered 200 (retried while it is not: a takeover under way)."""
        found: list[Any] = []

        def answered() -> bool:
            with contextlib.suppress(httpx.TransportError):
                answer = self.api(server).get(path, params=params)
                if answer.status_code == 200:
                    found.append(answer.json())
                    return True
            return False

        poll(answered, timeout=600, interval=0.2)
        return found[0]

    def result(self, server: Server, project: str, run_id: str) -> dict[str, Any]:
        """The run's result once it has ended (the API's long poll)."""
        path = f"/api/projects/{project}/runs/{run_id}/result"
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            answer = self.get(server, path, wait=30)
            if answer.get("outcome") is not None:
                return dict(answer)
        raise TimeoutError(f"run {run_id} of {project} did not end")

    def usage(self, store: PostgresStore) -> dict[str, Any]:
        """CPU seconds so far of each server, of the agents (with their executors)
        and of PostgreSQL; the WAL position and the next transaction id."""
        return {
            "servers": {s.url: tree_cpu_seconds(_pid(s)) for s in self.servers},
            "agents": sum(tree_cpu_seconds(a.popen.pid) for a in self.agents.values()),
            **store.usage(),
            "xid": next_xid(self.database),
        }

    def agents_pss_mb(self) -> float:
        """The memory of every agent and its executors (PSS: shared pages divided
        among the processes that share them), in MB."""
        return round(sum(tree_pss_mb(a.popen.pid) for a in self.agents.values()), 1)

    def keep_logs(self, directory: Path) -> None:
        """Write every server's and agent's log (stderr) into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        for n, server in enumerate(self.started, 1):
            if server.process is not None:
                (directory / f"server-{n}.log").write_text(server.process.output.text())
        for name, agent in self.agents.items():
            (directory / f"agent-{name}.log").write_text(agent.output.text())

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        # Signal every agent first, then wait: one after another would take minutes.
        for agent in self.agents.values():
            with contextlib.suppress(ProcessLookupError):
                agent.popen.send_signal(signal.SIGINT)
        for agent in self.agents.values():
            agent.stop()
        for server in self.servers:
            server.stop()
        for client in self._clients.values():
            client.close()


def _pid(server: Server) -> int:
    assert server.process is not None
    return server.process.popen.pid
