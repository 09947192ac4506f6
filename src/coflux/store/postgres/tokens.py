"""The project tokens of every server sharing one PostgreSQL database.

``project_tokens`` and ``project_token_revocations`` (migration 0005) hold the
records ``server/tokens.py`` checks requests against: created and revoked through
any server, seen by all of them. Each call borrows a connection of the catalog's
pool for one statement or two, autocommitted; a database that cannot be reached is
``Unavailable`` (503 ``database_unavailable``), as for the projects' stores.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from coflux.errors import NotFound, Unavailable
from coflux.store.base import TokenRecord
from coflux.store.postgres import reads
from coflux.store.postgres.reads import Conn

# A ``TokenRecord``'s columns, in its order.
_RECORDS = """
SELECT t.id, t.project_id, t.environments, t.read_only, t.description, t.created_at,
       r.revoked_at, t.secret_sha256
FROM project_tokens t LEFT JOIN project_token_revocations r ON r.token_id = t.id"""

_ALL = _RECORDS + " ORDER BY t.created_at, t.id"
_ONE = _RECORDS + " WHERE t.id = %(id)s"

_COUNTS = """
SELECT (SELECT count(*) FROM project_tokens), (SELECT count(*) FROM project_token_revocations)
"""

_INSERT = """
INSERT INTO project_tokens
    (id, project_id, secret_sha256, environments, read_only, description, created_at)
VALUES (%(id)s, %(project)s, %(secret_sha256)s, %(environments)s, %(read_only)s,
        %(description)s, %(created_at)s)
ON CONFLICT (id) DO NOTHING
"""

# Nothing for an unknown id; the first revocation stays.
_REVOKE = """
INSERT INTO project_token_revocations (token_id, revoked_at)
SELECT id, %(at)s FROM project_tokens WHERE id = %(id)s
ON CONFLICT (token_id) DO NOTHING
"""


def _record(row: tuple[Any, ...]) -> TokenRecord:
    environments = tuple(row[2]) if row[2] is not None else None
    return TokenRecord(row[0], row[1], environments, *row[3:])


class PostgresTokens:
    """``TokenRecords`` in the database (see the module docstring)."""

    shared = True  # every server on the database creates and revokes them

    def __init__(self, pool: ConnectionPool[Conn]) -> None:
        """Use ``PostgresCatalog.tokens``: the pool is the catalog's."""
        self._pool = pool

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Conn]:
        """A connection of the pool for one call.

        Raises:
            Unavailable: ``database_unavailable``: no connection could be had in time,
                or it failed; the same call may succeed later.
        """
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.OperationalError as e:  # PoolTimeout is one too
            cause = " ".join(str(e).split()) or type(e).__name__
            raise Unavailable(
                "database_unavailable", f"project tokens: the database cannot be used now ({cause})"
            ) from e

    def load(self) -> list[TokenRecord]:
        with self._connection() as conn:  # one statement: one snapshot
            return [_record(row) for row in reads.rows(conn, _ALL, {})]

    def counts(self) -> tuple[int, int]:
        with self._connection() as conn:
            found = conn.execute(_COUNTS).fetchone()
        assert found is not None  # an aggregate's one row
        return int(found[0]), int(found[1])

    def insert(self, record: TokenRecord) -> bool:
        environments = list(record.environments) if record.environments is not None else None
        params = {
            "id": record.id, "project": record.project, "secret_sha256": record.secret_sha256,
            "environments": environments, "read_only": record.read_only,
            "description": record.description, "created_at": record.created_at,
        }  # fmt: skip
        try:
            with self._connection() as conn:
                return conn.execute(_INSERT, params).rowcount == 1
        except psycopg.errors.ForeignKeyViolation as e:
            raise NotFound("unknown_project", f"project {record.project} does not exist") from e

    def revoke(self, token_id: str, at: float) -> TokenRecord | None:
        with self._connection() as conn:
            conn.execute(_REVOKE, {"id": token_id, "at": at})
            found = reads.row(conn, _ONE, {"id": token_id})
        return None if found is None else _record(found)

    def close(self) -> None:
        """Nothing of its own to close: the catalog closes the pool."""
