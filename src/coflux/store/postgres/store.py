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
  statements, COMMIT, without waiting for any result before the commit's.
* the store writes only while this server owns the project (``leases.py``):
  ``take_ownership`` acquires its lease and keeps the epoch, and every append
  passes it to the batch's function, which checks it first (no round trip of its
  own) and refuses the whole batch if another server has acquired the project
  since: ``ProjectOwnedElsewhere``. So does an append after the catalog's
  heartbeat found the lease lost (``lose``), without asking the database.
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

from coflux.errors import Conflict, ProjectOwnedElsewhere, Unavailable
from coflux.orchestration.effects import Fact
from coflux.store.postgres import writes
from coflux.store.postgres.leases import Leases
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
        leases: Leases,
        statistics: Statistics | None = None,
    ) -> None:
        """Use ``PostgresCatalog.open`` or ``create``: the pool, the leases and the
        statistics (``statistics.py``) are the catalog's."""
        self.project_id = project_id
        self._pool = pool
        self._leases = leases
        self._statistics = statistics
        self._closed = False
        self.epoch: int | None = None  # of this server's lease; None: not the owner

    def take_ownership(self) -> None:
        """Acquire the project's lease (a new epoch), as ``ProjectStore`` says;
        nothing to do while this store holds it.

        Raises:
            ProjectOwnedElsewhere: another server's lease has not expired.
            Unavailable: ``database_unavailable`` (see ``_connection``).
        """
        if self.epoch is not None:
            return
        with self._database():
            epoch = self._leases.acquire(self.project_id)
            if epoch is None:
                lease = self._leases.owner(self.project_id)
                where = f"server {lease.owner} at {lease.address}" if lease else "another server"
                raise ProjectOwnedElsewhere(self.project_id, f"{where} holds its lease")
        self.epoch = epoch

    def lose(self, epoch: int) -> None:
        """The lease at ``epoch`` is gone (the heartbeat did not renew it): write
        nothing more until ``take_ownership`` acquires the project again."""
        if self.epoch == epoch:
            self.epoch = None

    def release(self) -> None:
        """Give the lease up now (a graceful stop), so another server can take the
        project over at once."""
        epoch, self.epoch = self.epoch, None
        if epoch is not None:
            with self._database():
                self._leases.release(self.project_id, epoch)

    def __repr__(self) -> str:
        return f"PostgresProjectStore({self.project_id!r})"

    def close(self) -> None:
        """Give up the project's lease and stop using the pool (twice is harmless);
        the catalog closes the pool."""
        if not self._closed:
            with contextlib.suppress(Unavailable, psycopg.Error):
                self.release()  # else it expires: a takeover waits one lease time
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
        with self._database(), self._pool.connection() as conn:
            yield conn

    @contextlib.contextmanager
    def _database(self) -> Iterator[None]:
        """Report a failure to reach the database as ``Unavailable`` (see ``_connection``)."""
        try:
            yield
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
        if self.epoch is None:
            raise ProjectOwnedElsewhere(
                self.project_id,
                "its lease here ran out (another server may have acquired it, or the"
                " database was unreachable for longer than the lease)",
            )
        rows = writes.Rows.collect(facts)
        statements = rows.statements(self.project_id, self.epoch)
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
        except psycopg.Error as e:
            if e.sqlstate != writes.FENCED:
                raise
            self.epoch = None
            raise ProjectOwnedElsewhere(
                self.project_id, f"another server acquired it ({e.diag.message_primary})"
            ) from e
        if self._statistics is not None:
            self._statistics.written(len(rows.executions))
