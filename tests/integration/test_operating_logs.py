"""The server's own log lines and its settings from ``COFLUX_SERVER_*`` variables.

A real ``coflux server`` is started with only environment variables (no
options), and its stderr is read as an operator's collector would: dated lines,
JSON when asked, an access log only when turned on, fewer lines at a higher
level.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.cluster import Process, base_env, coflux_command, free_port
from tests.support.eventually import eventually


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[Process]]:
    processes: list[Process] = []
    yield processes
    for process in processes:
        process.stop()


def _server(started: list[Process], tmp_path: Path, **variables: str) -> tuple[str, Process]:
    """A server configured by ``variables`` alone; its URL once it serves."""
    port = free_port()
    env = base_env(
        COFLUX_SERVER_PORT=str(port), COFLUX_SERVER_DATA_DIR=str(tmp_path / "kept"), **variables
    )
    process = Process(coflux_command("server"), env, tmp_path)
    process.start()
    started.append(process)
    url = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        if process.popen.poll() is not None:
            raise AssertionError(f"server exited:\n{process.output.text()}")
        try:
            return httpx.get(url + "/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    eventually(serving, 20, message="the server to serve")
    return url, process


def _stopped(process: Process) -> None:
    """Stop the server and wait until every line it wrote has been read."""
    process.stop()
    assert process.popen.returncode is not None
    process.output._thread.join(10)  # the pipe's end: the reader has every line
    assert not process.output._thread.is_alive()


def test_settings_from_variables_and_json_lines_with_an_access_log(
    tmp_path: Path, started: list[Process]
) -> None:
    url, process = _server(
        started, tmp_path, COFLUX_SERVER_LOG_FORMAT="json", COFLUX_SERVER_ACCESS_LOG="1"
    )
    assert (tmp_path / "kept").is_dir()  # COFLUX_SERVER_DATA_DIR
    assert httpx.get(url + "/ready", timeout=10).status_code == 200

    def access_line() -> dict[str, object]:
        lines = [json.loads(line) for line in process.output.lines]
        found = [ln for ln in lines if ln["logger"] == "uvicorn.access" and ln["path"] == "/ready"]
        assert found, process.output.text()
        return found[0]

    access = eventually(access_line, 10)
    assert access["method"] == "GET" and access["status"] == 200
    assert access["level"] == "info"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(access["time"]))
    first = json.loads(process.output.lines[0])
    assert first["logger"].startswith("coflux.")
    assert any("serving on" in json.loads(line)["message"] for line in process.output.lines)


def test_text_lines_are_dated_and_the_access_log_is_off_by_default(
    tmp_path: Path, started: list[Process]
) -> None:
    url, process = _server(started, tmp_path)
    assert httpx.get(url + "/ready", timeout=10).status_code == 200
    serving = [line for line in process.output.lines if "serving on" in line]
    assert serving, process.output.text()
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO ", serving[0])
    _stopped(process)
    assert not any("/ready" in line for line in process.output.lines), process.output.text()


def test_a_higher_log_level_leaves_the_info_lines_out(
    tmp_path: Path, started: list[Process]
) -> None:
    url, process = _server(started, tmp_path, COFLUX_SERVER_LOG_LEVEL="warning")
    httpx.post(url + "/api/projects", json={"name": "quiet"}, timeout=10).raise_for_status()
    _stopped(process)
    assert not any(" INFO " in line for line in process.output.lines), process.output.text()


def test_the_old_database_variable_still_works_and_the_new_one_wins(tmp_path: Path) -> None:
    import subprocess

    unreachable = "postgresql://coflux@/coflux?host=/nonexistent/{}"
    done = subprocess.run(
        coflux_command("server", "--port", "0", "--data-dir", str(tmp_path / "data")),
        env=base_env(
            COFLUX_DATABASE_URL=unreachable.format("old"),
            COFLUX_SERVER_DATABASE=unreachable.format("new"),
        ),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "cannot use the database" in done.stderr and "new" in done.stderr, done.stderr
    old = subprocess.run(
        coflux_command("server", "--port", "0", "--data-dir", str(tmp_path / "data")),
        env=base_env(COFLUX_DATABASE_URL=unreachable.format("old")),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert old.returncode != 0 and "cannot use the database" in old.stderr, old.stderr
