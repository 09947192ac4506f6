"""scripts/start: when its port is taken it fails, and never uses the other server;
when it starts, the "Try:" lines it prints work as written in a new terminal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import httpx

from tests.support.cluster import Output, Server, base_env, free_port
from tests.support.eventually import eventually

START = Path(__file__).parents[2] / "scripts" / "start"


def test_start_fails_clearly_when_another_server_has_its_port(tmp_path: Path) -> None:
    other = Server(tmp_path / "other").start()
    try:
        env = base_env(COFLUX_HOST=other.host, COFLUX_DATA_DIR=str(tmp_path / "ours"))
        process = subprocess.Popen(
            [str(START)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,  # so that whatever it started can be stopped with it
        )  # fmt: skip
        try:
            _, stderr = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
        assert process.returncode != 0, stderr
        assert "the port is in use" in stderr  # the server's own error...
        assert "scripts/start: the server did not start" in stderr  # ...and what to do
        assert "Coflux is running" not in stderr
        # Nothing was created, registered or submitted on the other server.
        assert httpx.get(other.url + "/api/projects", timeout=10).json() == []
        assert not (tmp_path / "ours").exists()
    finally:
        other.stop()


def test_the_try_lines_it_prints_work_in_a_new_shell(tmp_path: Path) -> None:
    env = base_env(COFLUX_HOST=f"localhost:{free_port()}", COFLUX_DATA_DIR=str(tmp_path / "data"))
    process = subprocess.Popen(
        [str(START)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        output = Output(process.stderr)
        eventually(
            lambda: "Press Ctrl-C to stop" in output.text() or process.poll() is not None,
            300,  # scripts/setup may have Studio to build first
        )
        assert "Press Ctrl-C to stop" in output.text(), output.text()
        lines = output.lines
        start = lines.index("  Try, in another terminal:") + 1
        end = next(i for i, line in enumerate(lines) if "Press Ctrl-C to stop" in line)
        commands = [line.strip() for line in lines[start:end]]
        submit = next(c for c in commands if c.startswith("coflux submit"))
        # A new terminal: not in the checkout, no virtualenv on the PATH, no COFLUX_*.
        shell = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
        done = subprocess.run(
            ["bash", "-c", "\n".join([*commands[:2], submit])], env=shell, cwd=tmp_path,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, f"{commands}\n{done.stderr}"
        assert json.loads(done.stdout) == "Hello, Joe!"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # what it stops on, with its children
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
