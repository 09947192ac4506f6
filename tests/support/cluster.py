"""Real servers and agents as subprocesses, on free ports with temporary data dirs.

Integration tests drive them as a user would: through the ``coflux`` command and
the HTTP API. Every process started here is stopped by the fixture that owns it.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.eventually import eventually

REPOS = Path(__file__).parent / "repos"
EXAMPLES = Path(__file__).parents[2] / "examples"


# Ports for test servers: below the system's ephemeral range (32768 and up), so an
# outgoing connection never takes one between choosing it and the server binding
# it, and a block of its own per pytest-xdist worker, so two workers never choose
# the same one. Each process starts at a random place in its block, so that other
# processes using this module at the same time (a benchmark, a second test run)
# are unlikely to choose a port in the moment before its server binds it.
_PORTS_PER_WORKER = 1500
_FIRST_PORT = 20000
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
_port_base = _FIRST_PORT + _PORTS_PER_WORKER * (int(_worker) if _worker.isdigit() else 0)
_first = random.randrange(_PORTS_PER_WORKER)
_next_ports = itertools.cycle(
    [*range(_port_base + _first, _port_base + _PORTS_PER_WORKER),
     *range(_port_base, _port_base + _first)]
)  # fmt: skip
_ports_lock = threading.Lock()


def free_port() -> int:
    """A loopback port nobody is listening on, from this worker's block."""
    with _ports_lock:
        for _ in range(_PORTS_PER_WORKER):
            port = next(_next_ports)
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no free port in {_port_base}..{_port_base + _PORTS_PER_WORKER}")


class Output:
    """Collects a process's stream line by line in a thread, so tests can wait on it."""

    def __init__(self, stream) -> None:  # type: ignore[no-untyped-def]
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream) -> None:  # type: ignore[no-untyped-def]
        for line in iter(stream.readline, ""):
            self.lines.append(line.rstrip("\n"))
        stream.close()

    def text(self) -> str:
        return "\n".join(self.lines)

    def count(self, fragment: str) -> int:
        return sum(fragment in line for line in self.lines)


@dataclass
class Process:
    args: list[str]
    env: dict[str, str]
    cwd: Path
    popen: subprocess.Popen[str] = field(init=False)
    output: Output = field(init=False)

    def start(self) -> None:
        self.popen = subprocess.Popen(
            self.args, env=self.env, cwd=self.cwd, text=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.output = Output(self.popen.stderr)

    def kill9(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


def coflux_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "coflux", *args]


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFLUX_")}
    env.update(extra)
    return env


@dataclass
class Server:
    data_dir: Path
    port: int = field(default_factory=free_port)
    session_timeout: float = 3.0
    tokens: Sequence[str] = ()
    args: Sequence[str] = ()  # more `coflux server` options
    database: str | None = None  # --database (None: SQLite files in the data directory)
    blobs: str | None = None  # --blobs (None: files in the data directory)
    env: dict[str, str] = field(default_factory=dict)  # more environment (AWS_*, ...)
    process: Process | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self) -> Server:
        args = coflux_command(
            "server", "--port", str(self.port), "--data-dir", str(self.data_dir),
            "--session-timeout", str(self.session_timeout),
        )  # fmt: skip
        for token in self.tokens:
            args += ["--token", token]
        if self.database is not None:
            args += ["--database", self.database]
        if self.blobs is not None:
            args += ["--blobs", self.blobs]
        args += self.args
        self.process = Process(args, base_env(**self.env), self.data_dir.parent)
        self.process.start()
        eventually(self._ready, 20, message=f"server on port {self.port}")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.popen.poll() is not None:
            raise AssertionError(f"server exited:\n{self.process.output.text()}")
        try:
            return httpx.get(self.url + "/api/openapi.json", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def kill9(self) -> None:
        assert self.process is not None
        self.process.kill9()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


@dataclass
class Cluster:
    """A server, the agents started against it, and a project to work in."""

    server: Server
    workdir: Path
    project: str = "test"
    environment: str = "production"
    agents: list[Process] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        settings = {
            "COFLUX_HOST": self.server.host, "COFLUX_PROJECT": self.project,
            "COFLUX_ENVIRONMENT": self.environment,
        }  # fmt: skip
        return base_env(**{**settings, **extra})

    def cli(
        self, *args: str, timeout: float = 60, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            coflux_command(*args), env=env or self.env(), cwd=self.workdir,
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def api(self, method: str, path: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
        return httpx.request(method, self.server.url + path, timeout=30, **kwargs)

    def start_agent(
        self,
        *repositories: str | Path,
        args: Sequence[str] = (),
        environment: str | None = None,
        wait: bool = True,
        env: dict[str, str] | None = None,
    ) -> Process:
        env = {**self.env(), **(env or {})}
        if environment is not None:
            env["COFLUX_ENVIRONMENT"] = environment
        command = coflux_command("agent", "--register", *args, *map(str, repositories))
        agent = Process(command, env, self.workdir)
        agent.start()
        self.agents.append(agent)
        if wait:
            self.wait_connected(agent)
        return agent

    def wait_connected(self, agent: Process, times: int = 1) -> None:
        def connected() -> bool:
            if agent.popen.poll() is not None:
                raise AssertionError(f"agent exited:\n{agent.output.text()}")
            return agent.output.count("connected to") >= times

        eventually(connected, 30, message=f"agent to connect\n{agent.output.text()}")

    def stop(self) -> None:
        for agent in self.agents:
            agent.stop()
        self.server.stop()
