"""The PostgreSQL schema: applying the numbered migrations, and checking access.

Migrations are ``migrations/NNNN_description.sql`` (``migrate.load_migrations``
reads them), recorded in the ``migrations`` table. Each one runs in its own
transaction together with its record: PostgreSQL's DDL is transactional, so a
failure (a crash, a missing privilege) leaves the database at the version before,
with nothing half-created. Every transaction here first takes one advisory
transaction lock, so two servers starting on the same database at once apply
each migration exactly once: the second waits, then finds it recorded.

A database whose recorded version is newer than the newest file was written by a
newer Coflux and is refused (``migrate.SchemaTooNew``) before anything is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from coflux.store import migrate

MIGRATIONS = Path(__file__).parent / "migrations"

# Any constant works; one that no other application would pick.
MIGRATION_LOCK = 0x436F_666C_7578  # "Coflux"

# Every table of the schema, with what a server does to it beyond SELECT and INSERT.
TABLES: dict[str, tuple[str, ...]] = {
    "migrations": (),
    "projects": (),
    "environments": (),
    "environment_versions": (),
    "manifests": (),
    "manifest_registrations": (),
    "sessions": (),
    "runs": ("UPDATE",),  # its state (0007_run_history.sql)
    "steps": (),
    "executions": ("UPDATE",),  # its current-state columns
    "execution_transitions": (),
    "outcomes": (),
    "checkpoints": (),
    "logs": (),
    "active_executions": ("DELETE",),  # the working set
    "assets": (),
    "asset_entries": (),
    "asset_restores": (),
    "metrics": (),
    "metric_points": (),
    "inputs": (),
    "input_responses": (),
    "servers": ("UPDATE", "DELETE"),  # heartbeats; a stopping server leaves
    "project_leases": ("UPDATE",),  # renewals and acquisitions
    "project_tokens": (),
    "project_token_revocations": (),
}

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS migrations (
    version bigint PRIMARY KEY,
    applied_at double precision NOT NULL
)
"""


class MissingPrivileges(migrate.MigrationError):
    """The database user may not read or write some of the schema's tables."""


def current_version(conn: psycopg.Connection[Any]) -> int:
    """The highest recorded migration, 0 for a database never migrated."""
    row = conn.execute("SELECT to_regclass('migrations') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return 0
    found = conn.execute("SELECT max(version) FROM migrations").fetchone()
    return int(found[0]) if found is not None and found[0] is not None else 0


def migrate_postgres(
    conn: psycopg.Connection[Any],
    folder: Path = MIGRATIONS,
    *,
    database: str = "database",
    clock: Callable[[], float] = time.time,
) -> list[int]:
    """Apply the migrations in ``folder`` that the database has not recorded yet.

    ``conn`` must be in autocommit mode: each migration is its own transaction.

    Args:
        database: the database in error messages (a URL without its password).
        clock: gives ``applied_at`` (bookkeeping, not domain time).

    Returns:
        The versions applied now (empty when the schema was already current).

    Raises:
        migrate.SchemaTooNew: the database records a version newer than any file here.
        migrate.MigrationError: the folder is invalid.
        psycopg.Error: a migration failed (nothing of it is kept).
    """
    migrations = migrate.load_migrations(folder)
    known = migrations[-1].version if migrations else 0
    applied = []
    for migration in migrations:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            found = current_version(conn)
            if found > known:
                raise migrate.SchemaTooNew(database, found, known)
            if found >= migration.version:
                continue
            conn.execute(_CREATE_TABLE)
            # No parameters: psycopg sends the script as one simple query, so a
            # file may hold many statements.
            conn.execute(migration.sql.encode("utf-8"))
            conn.execute(
                "INSERT INTO migrations (version, applied_at) VALUES (%s, %s)",
                (migration.version, clock()),
            )
        applied.append(migration.version)
    found = current_version(conn)
    if found > known:
        raise migrate.SchemaTooNew(database, found, known)
    return applied


def check_privileges(conn: psycopg.Connection[Any], *, database: str = "database") -> None:
    """Refuse a database whose user cannot read and write what a server needs to.

    A server started without them would open, then fail at its first write, with
    a run half-accepted; checked at start, it is one clear error instead.

    Raises:
        MissingPrivileges: naming the tables and the user.
    """
    # has_table_privilege with a list is true if *any* is held: ask one at a time.
    wanted = [
        (table, privilege)
        for table, extra in TABLES.items()
        for privilege in ("SELECT", "INSERT", *extra)
    ]
    rows = conn.execute(
        "SELECT w.name, w.privilege"
        " FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS w (name, privilege, n)"
        " WHERE NOT has_table_privilege(w.name, w.privilege) ORDER BY w.n",
        ([table for table, _ in wanted], [privilege for _, privilege in wanted]),
    ).fetchall()
    if rows:
        user = conn.info.user
        missing = ", ".join(f"{privilege} on {table}" for table, privilege in rows)
        raise MissingPrivileges(f"PostgreSQL user {user} lacks privileges on {database}: {missing}")
