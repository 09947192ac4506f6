"""The migration runner, on throwaway migration folders."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from coflux.store import migrate


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_first.sql").write_text(
        "-- a comment; with a semicolon\n"
        "CREATE TABLE a (x INTEGER) STRICT;\n"
        "CREATE TABLE log (x INTEGER) STRICT;\n"
        "CREATE TRIGGER a_log AFTER INSERT ON a BEGIN\n"
        "    INSERT INTO log VALUES (new.x);\n"
        "END;\n"
    )
    return folder


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    with contextlib.closing(sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)) as c:
        yield c


def tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
    return [name for (name,) in rows]


def test_applies_in_order_and_only_once(folder: Path, conn: sqlite3.Connection) -> None:
    (folder / "0002_second.sql").write_text("ALTER TABLE a ADD COLUMN y TEXT;\n")
    assert migrate.migrate_sqlite(conn, folder, clock=lambda: 5.0) == [1, 2]
    assert migrate.migrate_sqlite(conn, folder, clock=lambda: 6.0) == []
    assert conn.execute("SELECT * FROM migrations").fetchall() == [(1, 5.0), (2, 5.0)]
    conn.execute("INSERT INTO a VALUES (7, 'y')")
    assert conn.execute("SELECT x FROM log").fetchall() == [(7,)]  # the trigger survived
    # A later release adds a migration: only that one runs.
    (folder / "0003_third.sql").write_text("CREATE TABLE c (x INTEGER) STRICT;")
    assert migrate.migrate_sqlite(conn, folder, clock=lambda: 7.0) == [3]
    assert migrate.current_version(conn) == 3


def test_a_failing_migration_changes_nothing(folder: Path, conn: sqlite3.Connection) -> None:
    migrate.migrate_sqlite(conn, folder)
    (folder / "0002_broken.sql").write_text(
        "CREATE TABLE b (x INTEGER) STRICT;\nINSERT INTO nowhere VALUES (1);\n"
    )
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        migrate.migrate_sqlite(conn, folder)
    assert "b" not in tables(conn)
    assert migrate.current_version(conn) == 1
    assert not conn.in_transaction


def test_refuses_a_newer_database(folder: Path, conn: sqlite3.Connection) -> None:
    migrate.migrate_sqlite(conn, folder)
    conn.execute("INSERT INTO migrations VALUES (2, 0)")
    with pytest.raises(migrate.SchemaTooNew) as refused:
        migrate.migrate_sqlite(conn, folder, database="db.sqlite")
    assert (refused.value.found, refused.value.known) == (2, 1)
    assert str(refused.value) == (
        "database db.sqlite has schema version 2, but this version of Coflux knows "
        "versions up to 1: upgrade Coflux to open it"
    )


def test_refuses_before_writing_anything(folder: Path, conn: sqlite3.Connection) -> None:
    """A newer database is refused even when this code has migrations it lacks."""
    conn.execute("CREATE TABLE migrations (version INTEGER PRIMARY KEY, applied_at REAL) STRICT")
    conn.execute("INSERT INTO migrations VALUES (5, 0)")
    with pytest.raises(migrate.SchemaTooNew):
        migrate.migrate_sqlite(conn, folder)
    assert tables(conn) == ["migrations"]


@pytest.mark.parametrize(
    "names",
    [
        ["0001_first.sql", "0003_gap.sql"],
        ["0001_first.sql", "0001_again.sql"],
        ["0002_no_first.sql"],
        ["0001_first.sql", "2_short.sql"],
        ["0001_first.sql", "0002_Bad-Name.sql"],
    ],
)
def test_rejects_a_bad_folder(tmp_path: Path, names: list[str]) -> None:
    for name in names:
        (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(migrate.MigrationError):
        migrate.load_migrations(tmp_path)


def test_split_statements() -> None:
    script = "CREATE TABLE a (x);\n-- note\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  SELECT 1;\nEND;\n"
    assert list(migrate.split_statements(script)) == [
        "CREATE TABLE a (x);",
        "-- note\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  SELECT 1;\nEND;",
    ]
    assert list(migrate.split_statements("SELECT 1;\n-- trailing comment\n")) == ["SELECT 1;"]
    with pytest.raises(migrate.MigrationError, match="incomplete"):
        list(migrate.split_statements("SELECT 1;\nSELECT 2\n"))
