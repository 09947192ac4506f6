"""The PostgreSQL ``ProjectStore``: one project's rows in the server's database.

This module owns the transactions; the SQL lives in ``writes.py`` (facts in) and
``queries.py`` (run by ``reads.py``); the views are built from their rows by the
shared ``reading.ReadingStore``. Connections come from the catalog's pool (one
per server process, shared by all its projects): a store borrows one for each
call and gives it back.

Nothing here leaves state in a connection's session: no temporary tables, no
``SET`` outside a transaction, no prepared statements (the pool opens them with
``prepare_threshold=None``), so the connections may be a transaction-mode
pgbouncer's.

* ``append`` is one transaction and one round trip: the call of the batch's
  function (``writes.Rows``), autocommitted; when a batch needs statements before
  it (manifest registrations, links), all of them in one pipeline: BEGIN, the
  statements, COMMIT, without waiting for any result before the commit's. A check
  that this server still owns the project (a later issue's fencing) goes at the
  start of the function, raising if not: no new round trip.
* after the commit, the executions written are counted for the one ANALYZE of a
  new database (``statistics.py``).
* a read of one statement runs on its own (a statement sees one snapshot); a read
  of several runs in one ``REPEATABLE READ READ ONLY`` transaction, so a view
  built from several queries is consistent while the writer appends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import psycopg
from psycopg_pool import ConnectionPool

from coflux.errors import Conflict, Unavailable
from coflux.orchestration.effects import Fact
from coflux.store.postgres import writes
from coflux.store.postgres.reads import Conn, PostgresQueries
from coflux.store.postgres.statistics import Statistics
from coflux.store.reading import ReadingStore


class PostgresProjectStore(ReadingStore):
    """A project's store in a PostgreSQL database (see the module docstring)."""

    # Every commit is a network round trip: never on the event loop.
    inline_commit_limit = 0

    def __init__(
        self,
        pool: ConnectionPool[Conn],
        project_id: str,
        statistics: Statistics | None = None,
    ) -> None:
        """Use ``PostgresCatalog.open`` or ``create``: the pool and the statistics
        (``statistics.py``) are the catalog's."""
        self.project_id = project_id
        self._pool = pool
        self._statistics = statistics
        self._closed = False

    def __repr__(self) -> str:
        return f"PostgresProjectStore({self.project_id!r})"

    def close(self) -> None:
        """Stop using the pool (twice is harmless); the catalog closes the pool."""
        self._closed = True

    # --- transactions -------------------------------------------------------------

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Conn]:
        """A connection of the pool for one call.

        Raises:
            Unavailable: ``database_unavailable``: no connection could be had in
                time, or it failed (the database is down, restarting, or out of
                connections): the same call may succeed later.
        """
        if self._closed:
            raise RuntimeError(f"the store of project {self.project_id} is closed")
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.OperationalError as e:  # PoolTimeout is one too
            cause = " ".join(str(e).split()) or type(e).__name__
            raise Unavailable(
                "database_unavailable",
                f"project {self.project_id}: the database cannot be used now ({cause})",
            ) from e

    @contextlib.contextmanager
    def _consistent(self) -> Iterator[Conn]:
        """A connection in a read-only transaction: one snapshot for every query."""
        with self._connection() as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield conn
            except BaseException:
                # The error that ended the read is the one to see, not one from
                # ending the transaction on a connection that may be broken.
                with contextlib.suppress(psycopg.Error):
                    conn.rollback()
                raise
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def _reading(self, *, consistent: bool) -> Iterator[PostgresQueries]:
        """The queries of one call: in one read-only transaction if ``consistent``,
        else each a statement on its own (which sees one snapshot)."""
        with self._consistent() if consistent else self._connection() as conn:
            yield PostgresQueries(conn, self.project_id)

    # --- ProjectStore (reads: reading.ReadingStore) ---------------------------------

    def _no_project(self) -> str:
        return f"project {self.project_id} is not in the database"

    def append(self, facts: Sequence[Fact]) -> None:
        """Write all ``facts`` in one transaction, in order.

        Raises:
            Conflict: ``fact_conflict``: a fact contradicts the record (duplicate
                id, unknown reference); nothing of the batch is written.
            Unavailable: ``database_unavailable`` (see ``_connection``): the batch
                may or may not have been written, if the connection failed while
                it committed.
            TypeError: a fact of a kind this backend does not know (nothing written).
        """
        if not facts:
            return
        rows = writes.Rows.collect(facts)
        statements = rows.statements(self.project_id)
        try:
            with self._connection() as conn:
                if len(statements) == 1:  # autocommitted: its own transaction
                    conn.execute(*statements[0])
                else:
                    with conn.pipeline(), conn.transaction():
                        for statement, params in statements:
                            conn.execute(statement, params)
        except psycopg.errors.IntegrityError as e:
            detail = e.diag.message_primary or str(e)
            raise Conflict(
                "fact_conflict",
                f"project {self.project_id}: a fact contradicts the record: {detail}",
            ) from e
        if self._statistics is not None:
            self._statistics.written(len(rows.executions))
