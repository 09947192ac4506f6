"""Starting a server: one server per data directory, and a busy port refused first."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.support.cluster import Server, base_env, coflux_command, free_port


def run_server(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A `coflux server` expected to refuse to start (so it returns by itself)."""
    return subprocess.run(
        coflux_command("server", *args), env=base_env(), cwd=cwd,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def api(server: Server, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, server.url + path, timeout=30, **kwargs)
    response.raise_for_status()
    return response.json()


def pid_of(server: Server) -> int:
    assert server.process is not None
    return server.process.popen.pid


def test_a_second_server_on_the_same_data_directory_is_refused(tmp_path: Path) -> None:
    # The first server uses the default data directory, ./.coflux in its directory.
    first = Server(tmp_path / ".coflux").start()
    try:
        assert api(first, "POST", "/api/projects", json={"name": "mine"})
        second = run_server("--port", str(free_port()), cwd=tmp_path)
        assert second.returncode != 0
        # Named as the user gave it (here: the default), with the holder's pid.
        assert second.stderr.strip().splitlines() == [
            f"error: data directory ./.coflux is in use by another coflux server "
            f"(pid {pid_of(first)})"
        ]
        given = run_server("--port", str(free_port()), "--data-dir", "./.coflux/", cwd=tmp_path)
        assert given.returncode != 0
        assert "data directory ./.coflux/ is in use" in given.stderr
        # The first one carries on, untouched.
        assert first.process is not None and first.process.popen.poll() is None
        names = [p["name"] for p in api(first, "GET", "/api/projects")]
        assert names == ["mine"]
        assert api(first, "POST", "/api/projects", json={"name": "more"})
    finally:
        first.stop()


def test_a_busy_port_is_refused_before_the_data_directory_is_touched(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = run_server("--port", str(port), "--data-dir", "data", cwd=tmp_path)
    assert refused.returncode != 0
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith(f"error: cannot listen on 127.0.0.1:{port}: the port is in use")
    assert "--port" in lines[0]
    assert not (tmp_path / "data").exists()  # not created, let alone locked or opened


def test_a_busy_port_is_refused_even_when_another_server_has_it(tmp_path: Path) -> None:
    first = Server(tmp_path / "first").start()
    try:
        refused = run_server(
            "--port", str(first.port), "--data-dir", "second", cwd=tmp_path
        )  # fmt: skip
        assert refused.returncode != 0
        assert "the port is in use (pass --port" in refused.stderr
        assert "serving on" not in refused.stderr
        assert not (tmp_path / "second").exists()
        assert api(first, "GET", "/api/projects") == []
    finally:
        first.stop()


def test_a_killed_servers_directory_and_port_can_be_reused_at_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = Server(data).start()
    try:
        assert api(server, "POST", "/api/projects", json={"name": "kept"})
        assert (data / "server.lock").read_text() == f"{pid_of(server)}\n"
        server.kill9()
        # The same directory and port, straight away: the kernel dropped the lock.
        server.start()
        assert (data / "server.lock").read_text() == f"{pid_of(server)}\n"
        assert [p["name"] for p in api(server, "GET", "/api/projects")] == ["kept"]
        # ...and the restarted server holds the lock again.
        again = run_server("--port", str(free_port()), "--data-dir", str(data), cwd=tmp_path)
        assert f"is in use by another coflux server (pid {pid_of(server)})" in again.stderr
    finally:
        server.stop()
