"""What only the SQLite backend has: its file, its pragmas, its SQL.

These tests may look at the database directly; the behaviour every backend shares
is in ``test_contract.py``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from coflux.errors import Conflict
from coflux.server.app import create_app
from coflux.store import migrate
from coflux.store.sqlite import queries
from coflux.store.sqlite.store import MIGRATIONS, SqliteProjectStore
from tests.store import test_contract_history as run_history
from tests.store.facts import (
    ENV,
    T0,
    busy_run,
    environment,
    finished_run,
    register,
    start_run,
    step,
    succeed,
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "project.sqlite"


@pytest.fixture
def store(path: Path) -> Iterator[SqliteProjectStore]:
    store = SqliteProjectStore.create(path, "p1", "demo", T0)
    yield store
    store.close()


@contextlib.contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection to peek at (or tamper with) the file."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        yield conn


def count(path: Path, table: str) -> int:
    with raw(path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_create_refuses_an_existing_file(path: Path) -> None:
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        SqliteProjectStore.create(path, "p1", "demo", T0)
    assert path.read_bytes() == b"precious"


def test_open_refuses_a_missing_file(path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        SqliteProjectStore.open(path)
    assert not path.exists()


def test_open_refuses_a_database_that_is_not_a_project(path: Path) -> None:
    with raw(path) as conn:
        conn.execute("CREATE TABLE other (x INTEGER)")
    with pytest.raises(migrate.MigrationError, match="not a Coflux project database"):
        SqliteProjectStore.open(path)
    with raw(path) as conn:  # and it was left alone
        tables = conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'").fetchall()
    assert tables == [("other",)]


def test_file_is_wal_with_strict_tables(store: SqliteProjectStore, path: Path) -> None:
    with raw(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        schema = conn.execute(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            # The search index (0011_run_history.sql): FTS5 makes its own tables.
            " AND name NOT LIKE 'run_texts%'"
        ).fetchall()
    assert len(schema) > 10
    assert all(sql.rstrip().endswith("STRICT") for _, sql in schema), "every table is STRICT"


def test_migrations_are_recorded_once(store: SqliteProjectStore, path: Path) -> None:
    known = [m.version for m in migrate.load_migrations(MIGRATIONS)]
    with raw(path) as conn:
        assert [v for (v,) in conn.execute("SELECT version FROM migrations")] == known
        assert conn.execute("SELECT applied_at FROM migrations").fetchone() == (T0,)
        # Running the migrations again applies nothing and changes nothing.
        assert migrate.migrate_sqlite(conn, MIGRATIONS) == []
    store.close()
    SqliteProjectStore.open(path).close()
    SqliteProjectStore.open(path).close()
    assert count(path, "migrations") == len(known)


def test_a_newer_database_is_refused(store: SqliteProjectStore, path: Path) -> None:
    store.append([environment()])
    store.close()
    with raw(path) as conn:
        conn.execute("INSERT INTO migrations (version, applied_at) VALUES (999, 0)")
    with pytest.raises(migrate.SchemaTooNew, match=r"schema version 999.*upgrade Coflux"):
        SqliteProjectStore.open(path)
    assert count(path, "environments") == 1  # untouched


def test_current_states_are_filled_in_when_an_older_database_is_migrated(
    store: SqliteProjectStore, path: Path
) -> None:
    store.append([*finished_run(), *busy_run()])
    before = [store.get_run("R1"), store.get_run("R2"), store.list_runs()]
    snapshot = store.load_snapshot()
    store.close()
    with raw(path) as conn:  # back to what version 4 wrote: no current-state columns
        conn.execute("DROP INDEX executions_by_leader")  # 0013's, on leader_id
        for column in ("state", "state_at", "assigned_at", "session_id", "leader_id"):
            conn.execute(f"ALTER TABLE executions DROP COLUMN {column}")
        conn.execute("ALTER TABLE sessions DROP COLUMN secret_sha256")
        for column in ("group_index", "group_name"):
            conn.execute(f"ALTER TABLE steps DROP COLUMN {column}")
        for table in ("metric_points", "metrics"):
            conn.execute(f"DROP TABLE {table}")
        run_history.back_to_version_10(conn)
        conn.execute("DELETE FROM migrations WHERE version >= 5")
    migrated = SqliteProjectStore.open(path)
    try:
        assert [migrated.get_run("R1"), migrated.get_run("R2"), migrated.list_runs()] == before
        assert migrated.load_snapshot() == snapshot
    finally:
        migrated.close()


def test_same_manifest_content_is_stored_once(store: SqliteProjectStore, path: Path) -> None:
    dev = "env-dev"
    store.append([environment(), environment(dev, "dev", T0)])
    store.append([register("flows", "main"), register("flows", "main", env_id=dev)])
    store.append([register("flows", "main", at=T0 + 1)])  # an agent restarting
    assert count(path, "manifests") == 1
    assert count(path, "manifest_registrations") == 2  # a repeat is not a change
    store.append([register("flows", "other", at=T0 + 2), register("flows", "main", at=T0 + 3)])
    assert count(path, "manifests") == 2
    assert count(path, "manifest_registrations") == 4
    assert store.list_manifests(ENV) == [register("flows", "main").manifest]


def test_active_executions_follow_transitions(store: SqliteProjectStore, path: Path) -> None:
    store.append([environment(), *start_run("R1", T0), *step("R1", 2, T0)])
    assert count(path, "active_executions") == 2
    store.append(succeed("R1:2:1", T0 + 1))
    assert count(path, "active_executions") == 1
    assert count(path, "execution_transitions") == 4  # history is kept


def test_snapshot_reads_only_the_working_set(store: SqliteProjectStore, path: Path) -> None:
    """No snapshot query scans a table of history: only `active_executions` (and CTEs)."""
    store.append([environment(), register("flows", "main")])
    for n in range(50):  # some history, so the planner sees real tables
        store.append([*start_run(f"R{n}", T0), *succeed(f"R{n}:1:1", T0 + 1)])
    store.append(start_run("LIVE", T0 + 2))
    with raw(path) as conn:
        conn.execute("ANALYZE")
        for sql in queries.SNAPSHOT_QUERIES:
            plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
            scans = [step for step in plan if step.startswith("SCAN")]
            assert all(scan in ("SCAN a", "SCAN active") for scan in scans), plan
    assert [run.run_id for run in store.load_snapshot().runs] == ["LIVE"]


def test_closed_store_refuses_reads(path: Path) -> None:
    store = SqliteProjectStore.create(path, "p1", "demo", T0)
    store.info()  # opens this thread's reader
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(sqlite3.ProgrammingError):
        store.info()
    with pytest.raises(sqlite3.ProgrammingError):
        store.append([environment()])


def test_failed_batch_leaves_the_file_unchanged(store: SqliteProjectStore, path: Path) -> None:
    """A deferred foreign key fails at COMMIT, after every row was written."""
    store.append([environment()])
    with pytest.raises(Conflict):
        store.append([*start_run("R1", T0, env_id="no-such-environment")])
    assert count(path, "runs") == 0
    store.append(start_run("R1", T0))
    assert count(path, "runs") == 1


_KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
import httpx

from coflux.server.app import create_app
from coflux.store.sqlite.store import SqliteProjectStore
from tests.store.facts import T0, finished_run

store = SqliteProjectStore.create(Path(sys.argv[1]), "p1", "demo", T0)
store.append(finished_run())
print("appended", flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no close, no checkpoint, no clean-up
"""


def test_appended_batch_survives_kill_9(path: Path) -> None:
    root = Path(__file__).parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert child.stdout == "appended\n"
    store = SqliteProjectStore.open(path)
    try:
        run = store.get_run("R1")
        assert run is not None
        assert (run.state, len(run.steps)) == ("succeeded", 2)
    finally:
        store.close()


@pytest.mark.parametrize(("fsync", "level"), [(False, 1), (True, 2)])  # NORMAL, FULL
def test_commits_are_fsynced_only_when_asked(tmp_path: Path, fsync: bool, level: int) -> None:
    path = tmp_path / "p.sqlite"
    store = SqliteProjectStore.create(path, "p1", "demo", T0, fsync=fsync)
    assert store._writer.execute("PRAGMA synchronous").fetchone() == (level,)
    store.close()
    reopened = SqliteProjectStore.open(path, fsync=fsync)
    assert reopened._writer.execute("PRAGMA synchronous").fetchone() == (level,)
    reopened.close()


async def test_the_server_option_reaches_every_project_store(tmp_path: Path) -> None:
    app = create_app(tmp_path, session_timeout=5, admin_tokens=frozenset(), fsync=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.post("/api/projects", json={"name": "demo"})).status_code == 201
        store = app.state.context.projects.get("demo").store
        assert store._writer.execute("PRAGMA synchronous").fetchone() == (2,)
