"""Our engine, started for a benchmark: a real server and agent as subprocesses.

``Engine`` starts ``coflux server`` with a fresh data directory (durable SQLite,
the default store, or ``--database`` when given a PostgreSQL URL) and one ``coflux agent`` hosting ``bench/repos/bench_engine.py``,
drives runs through the HTTP API and the ``coflux`` CLI, and stops everything it
started when its ``with`` block ends, whatever happened inside.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.cluster import Cluster, Server  # noqa: E402

REPOSITORY = ROOT / "bench" / "repos" / "bench_engine.py"
PROJECT = "bench"
ENVIRONMENT = "production"


def value(data: Any) -> dict[str, Any]:
    """An inline JSON argument, as the API takes it."""
    return {"format": "json", "data": data}


class Engine:
    """A server and one agent, with the project and environment the runs go to."""

    def __init__(
        self,
        agent_args: tuple[str, ...] = (),
        server_args: tuple[str, ...] = (),
        database: str | None = None,
    ) -> None:
        self.agent_args = agent_args
        self.server_args = server_args
        self.database = database  # `coflux server --database` (None: SQLite files)
        self._tmp = tempfile.TemporaryDirectory(prefix="coflux-bench-")
        self.workdir = Path(self._tmp.name)
        self.cluster: Cluster | None = None
        self.client: httpx.Client | None = None

    def __enter__(self) -> Engine:
        try:
            data = self.workdir / "data"
            server = Server(data, args=self.server_args, database=self.database).start()
            self.cluster = Cluster(server, self.workdir, project=PROJECT, environment=ENVIRONMENT)
            self.client = httpx.Client(base_url=server.url, timeout=120)
            self.client.post("/api/projects", json={"name": PROJECT}).raise_for_status()
            self.client.post(
                f"/api/projects/{PROJECT}/environments", json={"name": ENVIRONMENT}
            ).raise_for_status()
            self.agent = self.cluster.start_agent(REPOSITORY, args=self.agent_args)
            # The pool starts its warm executors after connecting: let them finish, so
            # the first measured step does not pay for a Python start-up.
            time.sleep(1.0)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.stop()
        self._tmp.cleanup()

    @property
    def api(self) -> httpx.Client:
        assert self.client is not None, "use Engine in a with block"
        return self.client

    @property
    def pids(self) -> dict[str, int]:
        """The root process of the server's tree and of the agent's (executors below it)."""
        assert self.cluster is not None and self.cluster.server.process is not None
        return {"server": self.cluster.server.process.popen.pid, "agent": self.agent.popen.pid}

    def submit(self, target: str, *arguments: Any) -> str:
        """Start a run of a bench_engine workflow; its id."""
        body = {
            "environment": ENVIRONMENT, "repository": "bench_engine", "target": target,
            "arguments": [value(a) for a in arguments],
        }  # fmt: skip
        answer = self.api.post(f"/api/projects/{PROJECT}/runs", json=body)
        answer.raise_for_status()
        return str(answer.json()["run_id"])

    def wait(self, run_id: str, timeout: float = 600) -> dict[str, Any]:
        """The run's outcome, once it has one (the API's long poll: no busy waiting).

        Raises:
            RuntimeError: the run did not succeed.
            TimeoutError: it had no outcome within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            path = f"/api/projects/{PROJECT}/runs/{run_id}/result"
            answer = self.api.get(path, params={"wait": 60}).json()
            outcome = answer["outcome"]
            if outcome is not None:
                if outcome["tag"] != "succeeded":
                    raise RuntimeError(f"run {run_id} ended {outcome['tag']}: {outcome}")
                return dict(outcome)
        raise TimeoutError(f"run {run_id} had no outcome within {timeout} s")

    def run(self, target: str, *arguments: Any) -> tuple[float, str]:
        """Submit a run and wait for its result: (wall seconds, run id)."""
        started = time.perf_counter()
        run_id = self.submit(target, *arguments)
        self.wait(run_id)
        return time.perf_counter() - started, run_id

    def cancel(self, run_id: str) -> None:
        self.api.post(f"/api/projects/{PROJECT}/runs/{run_id}/cancel").raise_for_status()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``coflux ARGS`` against this server; raises if it fails."""
        assert self.cluster is not None
        done = self.cluster.cli(*args, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"coflux {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done

    def inspect(self, run_id: str) -> dict[str, Any]:
        """The run's record as ``coflux runs inspect --json`` prints it."""
        return dict(json.loads(self.cli("runs", "inspect", run_id, "--json").stdout))
