"""What each process on the way to a first result loads before it does its work,
and how the command line ends.

A cold start (``bench/engine.py``'s ``cold``) starts a server, an agent with its
executors, and ``coflux submit --wait``, one after another: every module one of
them loads that its work does not need is paid for in that wait. Each import test
runs in a fresh interpreter and names the modules its process must not load.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest

import coflux
from coflux.cli.main import main

SRC = Path(coflux.__file__).resolve().parent.parent
HELLO = SRC.parent / "examples" / "hello.py"


def _loaded(script: str, tmp_path: Path) -> set[str]:
    """The modules loaded once ``script`` ran, in a fresh interpreter."""
    tail = "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", script + tail],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(SRC)},
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_a_starting_server_builds_no_openapi_document(tmp_path: Path) -> None:
    script = (
        "from pathlib import Path\n"
        "import coflux.cli.main, coflux.cli.server\n"
        "from coflux.server import app\n"
        "app.create_app(Path('data'), session_timeout=5, admin_tokens=frozenset())\n"
        "assert app._openapi.cache_info().currsize == 0  # made at its first request\n"
    )
    loaded = _loaded(script, tmp_path)
    assert "coflux.server.app" in loaded
    assert "httpx" not in loaded  # only a server that forwards a request needs it


def test_submit_loads_no_live_view_and_no_logging(tmp_path: Path) -> None:
    loaded = _loaded("import coflux.cli.main, coflux.cli.submit", tmp_path)
    assert "coflux.cli.submit" in loaded
    for heavy in ("coflux.cli.follow", "asyncio", "websockets", "logging"):
        assert heavy not in loaded  # only with --follow (logging: only the agent logs)


def test_an_agent_without_watch_loads_no_watcher(tmp_path: Path) -> None:
    loaded = _loaded("import coflux.cli.agent, coflux.agent.agent", tmp_path)
    assert "coflux.agent.agent" in loaded
    assert "coflux.agent.watcher" not in loaded and "watchfiles" not in loaded


def test_an_executor_loads_no_http_client_until_a_blob_moves(tmp_path: Path) -> None:
    loaded = _loaded("import coflux.agent.executor", tmp_path)
    assert "coflux.agent.blobs" in loaded
    assert "http.client" not in loaded  # at its first blob request


def test_importing_a_repository_loads_no_asyncio(tmp_path: Path) -> None:
    # What an executor does before it is ready: import the repository, build its manifest.
    script = (
        "from coflux.sdk.manifest import build_manifest, load_repository\n"
        f"name, module = load_repository({str(HELLO)!r})\n"
        "assert build_manifest(name, module).targets\n"
    )
    loaded = _loaded(script, tmp_path)
    assert "hello" in loaded and "coflux.sdk.target" in loaded
    assert "asyncio" not in loaded  # imported only to run an async target


def test_the_command_line_freezes_its_objects_before_the_interpreter_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The shutdown's garbage collections then skip them (~20 ms a command).
    monkeypatch.setattr(sys, "argv", ["coflux", "--help"])
    before = gc.get_freeze_count()
    try:
        with pytest.raises(SystemExit):
            main()
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
