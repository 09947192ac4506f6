"""Schema migrations: numbered ``.sql`` files applied in order, each recorded once.

A backend keeps its migrations in one folder as ``NNNN_description.sql``
(``0001_initial.sql``, ``0002_...``). ``load_migrations`` reads and validates the
folder (versions unique and contiguous from 1); ``migrate_sqlite`` applies the ones
a database has not recorded in its ``migrations`` table (version, applied_at), each
in its own transaction together with its record, so a crash mid-migration leaves
the database at the previous version. Running it again applies nothing.

A database whose recorded version is newer than the newest file here was written
by a newer Coflux; opening it could misread or corrupt it, so it is refused with
``SchemaTooNew`` before anything is written.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS migrations (
    version INTEGER PRIMARY KEY,
    applied_at REAL NOT NULL
) STRICT
"""


class MigrationError(Exception):
    """The migrations folder or the database's schema history is unusable."""


class SchemaTooNew(MigrationError):
    """The database was migrated by a newer version of Coflux than this one."""

    def __init__(self, database: str, found: int, known: int) -> None:
        super().__init__(
            f"database {database} has schema version {found}, but this version of "
            f"Coflux knows versions up to {known}: upgrade Coflux to open it"
        )
        self.found = found
        self.known = known


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(folder: Path) -> list[Migration]:
    """The migrations in ``folder``, ordered by version.

    Raises:
        MigrationError: a ``.sql`` file is misnamed, or versions repeat or skip one
            (a gap usually means a file was lost in a merge).
    """
    migrations: list[Migration] = []
    for path in sorted(folder.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"migration file {path} is not named NNNN_description.sql")
        version = int(match.group(1))
        migrations.append(Migration(version, match.group(2), path.read_text("utf-8")))
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"migrations in {folder} must be numbered 1, 2, 3...; "
                f"found {migration.version:04d} where {expected:04d} was expected"
            )
    return migrations


def split_statements(sql: str) -> Iterator[str]:
    """The complete SQL statements of a script, in order.

    ``executescript`` would commit any open transaction first, so statements are
    run one by one inside our own; ``sqlite3.complete_statement`` knows about
    ``BEGIN ... END`` in trigger bodies, which a naive split on ``;`` would break.
    """
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                yield pending.strip()
            pending = ""
    if pending.strip() and _has_code(pending):
        raise MigrationError(f"incomplete SQL statement at end of migration: {pending.strip()!r}")


def _has_code(sql: str) -> bool:
    """Whether anything but comments and blank space is left."""
    return any(line.strip() and not line.strip().startswith("--") for line in sql.splitlines())


def current_version(conn: sqlite3.Connection) -> int:
    """The highest recorded migration, 0 for a database never migrated."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'migrations'"
    ).fetchone()
    if exists is None:
        return 0
    row = conn.execute("SELECT max(version) FROM migrations").fetchone()
    return int(row[0]) if row is not None and row[0] is not None else 0


def migrate_sqlite(
    conn: sqlite3.Connection,
    folder: Path,
    *,
    database: str = "database",
    clock: Callable[[], float] = time.time,
) -> list[int]:
    """Apply the migrations in ``folder`` that ``conn`` has not recorded yet.

    ``conn`` must be in autocommit mode (``isolation_level=None``): transactions
    here are explicit. Each migration runs under ``BEGIN IMMEDIATE`` and re-reads
    the version once it holds the write lock, so two processes opening the same
    new file at once apply each migration exactly once.

    Args:
        database: a name for the database in error messages (its path).
        clock: gives ``applied_at`` (bookkeeping, not domain time).

    Returns:
        The versions applied now (empty when the schema was already current).

    Raises:
        SchemaTooNew: the database records a version newer than any file here.
        MigrationError: the folder is invalid (see ``load_migrations``).
    """
    migrations = load_migrations(folder)
    known = migrations[-1].version if migrations else 0
    applied: list[int] = []
    for migration in migrations:
        if _apply_one(conn, migration, known, database, clock):
            applied.append(migration.version)
    # A database already at the newest version, or beyond it, takes no migration
    # above, so check once more for a version this code does not know.
    found = current_version(conn)
    if found > known:
        raise SchemaTooNew(database, found, known)
    return applied


def _apply_one(
    conn: sqlite3.Connection,
    migration: Migration,
    known: int,
    database: str,
    clock: Callable[[], float],
) -> bool:
    """Apply one migration in its own transaction unless it is recorded already."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_CREATE_TABLE)
        found = current_version(conn)
        if found > known:
            raise SchemaTooNew(database, found, known)
        if found >= migration.version:
            conn.execute("ROLLBACK")
            return False
        for statement in split_statements(migration.sql):
            conn.execute(statement)
        conn.execute(
            "INSERT INTO migrations (version, applied_at) VALUES (?, ?)",
            (migration.version, clock()),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return True
