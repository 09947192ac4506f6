"""scripts/start when its port is taken: it fails, and never uses the other server."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx

from tests.support.cluster import Server, base_env

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
