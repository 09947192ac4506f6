"""The backup and restore scripts of docs/deployment.md, run as the page shows them:
a backup taken while the server runs, restored into an empty data directory (and,
with PostgreSQL, a new database), gives a new server every run, value and token.

The scripts are taken from the page. They call the ``sqlite3`` program, which a
fresh machine may lack: here a stand-in of that name runs the same SQL through
Python's ``sqlite3`` module (the library the program is built on), so what is proven
is the script and its SQL. ``pg_dump`` and ``pg_restore`` are the real ones, of the
test session's PostgreSQL.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Protocol

from tests.support.cluster import REPOS, Cluster, Server, base_env
from tests.support.eventually import eventually
from tests.support.postgres import find_bindir, fresh_database, shared_cluster

DOC = Path(__file__).parents[2] / "docs" / "deployment.md"
BIG = "x" * 1000  # above the blob threshold: the result is kept as a blob
ADMIN = "an-admin-token-for-the-backup-test"

SQLITE3 = """#!/bin/sh
exec {python} -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute(sys.argv[2])' "$@"
"""


class Storage(Protocol):
    """The ``storage`` fixture's setup (``tests/integration/conftest.py``)."""

    database: str | None
    blobs: str | None
    env: dict[str, str]


def page_script(path: str) -> str:
    """The ```sh block of the page whose first comment names ``path``."""
    for body in re.findall(r"^```sh\n(.*?)^```$", DOC.read_text(), re.MULTILINE | re.DOTALL):
        if re.search(rf"^# {re.escape(path)}:", body, re.MULTILINE):
            return str(body)
    raise AssertionError(f"no script {path} in {DOC}")


def install(bin_dir: Path, name: str, text: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / name).write_text(text)
    (bin_dir / name).chmod(0o755)


def run_script(bin_dir: Path, name: str, *args: str, **env: str) -> str:
    path = f"{bin_dir}:{find_bindir()}:{base_env()['PATH']}"
    done = subprocess.run(
        [str(bin_dir / name), *args], env=base_env(PATH=path, **env),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, f"{name}: {done.stderr}"
    return done.stdout


class Operator:
    """A server with an admin token, and its commands run as the admin."""

    def __init__(self, data_dir: Path, database: str | None, storage: Storage) -> None:
        self.server = Server(
            data_dir, tokens=[ADMIN], database=database, blobs=storage.blobs, env=storage.env,
            # A short lease: the restored server waits for the dumped ones to expire.
            args=["--lease-ttl", "2"],
        ).start()  # fmt: skip
        self.cluster = Cluster(self.server, data_dir.parent)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.cluster.cli(*args, env=self.cluster.env(COFLUX_TOKEN=ADMIN))

    def runs(self) -> list[dict[str, object]] | None:
        listed = self.cli("runs", "list", "--json")
        if listed.returncode != 0:
            return None
        runs: list[dict[str, object]] = json.loads(listed.stdout)
        return runs or None


def test_a_backup_of_a_running_server_restores(storage: Storage, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    install(bin_dir, "sqlite3", SQLITE3.format(python=shlex.quote(sys.executable)))
    install(bin_dir, "coflux-backup", page_script("/usr/local/bin/coflux-backup"))
    install(bin_dir, "coflux-restore", page_script("/usr/local/bin/coflux-restore"))
    data_dir = tmp_path / "data"
    running = Operator(data_dir, storage.database, storage)
    try:
        assert running.cli("projects", "create", "test").returncode == 0
        running.cluster.start_agent(REPOS / "flows.py", env={"COFLUX_TOKEN": ADMIN})
        done = running.cli("submit", "flows", "echo", json.dumps(BIG), "--wait")
        assert json.loads(done.stdout) == BIG, done.stderr
        created = running.cli("tokens", "create", "--project", "test", "--description", "kept")
        assert created.returncode == 0, created.stderr
        settings = {"COFLUX_SERVER_DATA_DIR": str(data_dir)}
        if storage.database is not None:
            settings["COFLUX_SERVER_DATABASE"] = storage.database
        else:
            assert any((data_dir / "blobs").rglob("*")), "the result is a blob file"
        backup = tmp_path / "backup"
        said = run_script(bin_dir, "coflux-backup", str(backup), **settings)
        assert said.strip() == f"backed up {data_dir} to {backup}"
    finally:
        running.cluster.stop()

    restored_dir = tmp_path / "restored"
    with ExitStack() as stack:
        database = None
        if storage.database is not None:
            database = stack.enter_context(fresh_database(shared_cluster(), migrated=False))
        restored = {"COFLUX_SERVER_DATA_DIR": str(restored_dir)}
        if database is not None:
            restored["COFLUX_SERVER_DATABASE"] = database
        run_script(bin_dir, "coflux-restore", str(backup), **restored)
        again = Operator(restored_dir, database, storage)
        try:
            # With PostgreSQL the dump holds the stopped server's leases: the new
            # server (another id) takes the project over once they expire.
            [run] = eventually(again.runs, 40, message="the restored runs")
            result = again.cli("runs", "result", str(run["id"]))
            assert json.loads(result.stdout) == BIG, result.stderr
            tokens = json.loads(again.cli("tokens", "list", "--json").stdout)
            assert [t["description"] for t in tokens] == ["kept"]
        finally:
            again.cluster.stop()


def test_restoring_into_a_used_data_directory_is_refused(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    install(bin_dir, "coflux-restore", page_script("/usr/local/bin/coflux-restore"))
    data_dir = tmp_path / "data"
    (data_dir / "projects").mkdir(parents=True)
    (data_dir / "projects" / "p.sqlite-wal").write_text("an old WAL")
    path = f"{bin_dir}:{base_env()['PATH']}"
    done = subprocess.run(
        [str(bin_dir / "coflux-restore"), str(tmp_path / "backup")],
        env=base_env(PATH=path, COFLUX_SERVER_DATA_DIR=str(data_dir)),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "is not empty: move it aside first" in done.stderr
    assert [p.name for p in (data_dir / "projects").iterdir()] == ["p.sqlite-wal"]
