"""The PostgreSQL catalog: every project of a server in one database.

``PostgresCatalog(url)`` checks the database before the server serves anything:
it connects, migrates the schema (``schema.migrate_postgres``: serialised between
servers, refused when newer than this code) and checks the user's privileges,
then opens ONE connection pool for the whole server process, which every
project's store shares (a pool per project would multiply connections by the
number of projects). Any failure there is a ``CannotOpenDatabase`` whose message
is one line without the URL's password; a failed migration leaves nothing of
itself behind.

Project names are unique through a unique index, so two servers (or two
requests) creating the same name at once cannot both succeed: the second insert
fails, and that is the ``project_exists`` conflict.

The project tokens are kept in the database too (``tokens.py``), so that every
server checks the same ones.

Several servers may share the database; each project is written by the one that
holds its lease (``leases.py``). The catalog sends this server's heartbeat every
third of the lease time from a thread of its own, renewing every lease it holds
in one statement; a store whose lease was not renewed is told (``lose``) and
writes nothing more. ``close`` releases the leases, so that another server takes
the projects over at once after a graceful stop.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Collection
from typing import Any

import psycopg
from psycopg import conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from coflux.errors import Conflict
from coflux.store import migrate
from coflux.store.base import DEFAULT_LEASE_TTL, Lease, Placement, ProjectUnopenable, ServerRecord
from coflux.store.catalogs import CannotOpenDatabase
from coflux.store.postgres import schema, statistics
from coflux.store.postgres.leases import Leases
from coflux.store.postgres.reads import Conn
from coflux.store.postgres.store import PostgresProjectStore
from coflux.store.postgres.tokens import PostgresTokens

logger = logging.getLogger(__name__)

MIN_SERVER_VERSION = 140000  # PostgreSQL 14

# Keyword arguments of every connection: autocommit, because every transaction
# is explicit; no prepared statements, which would be session state.
_CONNECTION: dict[str, Any] = {"autocommit": True, "prepare_threshold": None}


class PostgresCatalog:
    def __init__(
        self,
        url: str,
        *,
        server_id: str | None = None,
        address: str = "",
        lease_ttl: float = DEFAULT_LEASE_TTL,
        max_connections: int = 10,
        connect_timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Check and migrate the database at ``url``, then open the pool and start
        the heartbeat.

        Args:
            url: a libpq URL or connection string.
            server_id: this server's id among those sharing the database, the
                same after a restart (``server/datadir.py``); None: a new one.
            address: where the other servers and clients reach this one.
            lease_ttl: seconds a lease lasts without a heartbeat.
            max_connections: the most connections the pool opens (readers from
                request handlers and every project's appends share them).
            connect_timeout: seconds to wait for the database at start.
            clock: gives the migrations' ``applied_at``.

        Raises:
            CannotOpenDatabase: the URL is invalid; the database is unreachable,
                older than PostgreSQL 14, or newer in schema than this Coflux; the
                user lacks privileges. Nothing was created.
        """
        self._shown = describe(url)
        params = _parse(url)
        params.setdefault("connect_timeout", str(max(1, round(connect_timeout))))
        self._conninfo = conninfo.make_conninfo(**params)
        self._prepare(clock)
        self._pool: ConnectionPool[Conn] = ConnectionPool(
            self._conninfo,
            min_size=1,
            max_size=max_connections,
            kwargs=_CONNECTION,
            open=False,
            name="coflux",
            # A pooled connection the database has dropped (a restart, a failover,
            # an idle timeout) is found out before use, not by a failed append.
            check=ConnectionPool.check_connection,
            # How long a caller waits for a connection, e.g. while the database
            # is down: then it fails (PoolTimeout) rather than hanging.
            timeout=connect_timeout,
        )
        self._statistics = statistics.Statistics(self._pool, needed=self._unanalysed)
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except PoolTimeout as e:
            self._pool.close()
            raise CannotOpenDatabase(f"cannot connect to {self._shown}: timed out") from e
        self._leases = Leases(self._pool, server_id or uuid.uuid4().hex, address, lease_ttl)
        self._tokens = PostgresTokens(self._pool)
        self._stores: weakref.WeakSet[PostgresProjectStore] = weakref.WeakSet()
        self._stores_lock = threading.Lock()  # stores are opened on other threads
        self._stopping = threading.Event()
        try:
            self._leases.heartbeat()  # in the servers' table from the start
        except psycopg.Error as e:
            self._pool.close()
            raise CannotOpenDatabase(f"{self._shown} refused this server: {_one_line(e)}") from e
        self._heartbeat = threading.Thread(
            target=self._beat, name="coflux-lease-heartbeat", daemon=True
        )
        self._heartbeat.start()
        logger.info("projects are kept in %s", self._shown)

    def _beat(self) -> None:
        """Renew this server's leases every third of their time, and tell each
        store whose lease was not renewed (another server took the project)."""
        while not self._stopping.wait(self._leases.ttl / 3):
            # The epochs as they were before the renewal began: a lease acquired
            # while it runs is not in its answer, and must not be taken as lost.
            with self._stores_lock:
                before = [(store, store.epoch) for store in self._stores]
            try:
                held = self._leases.heartbeat()
            except (psycopg.Error, PoolTimeout) as e:
                # The leases run out if this goes on; the stores' epochs keep
                # whatever they would write from committing once another server
                # has acquired the project.
                logger.warning("cannot renew this server's leases: %s", _one_line(e))
                continue
            for store, epoch in before:
                if epoch is not None and held.get(store.project_id) != epoch:
                    logger.warning("project %s: lost its lease to another server", store.project_id)
                    store.lose(epoch)  # nothing if it has acquired a newer one since

    @property
    def leases(self) -> Leases:
        return self._leases

    @property
    def takeover_interval(self) -> float:
        return self._leases.ttl / 3

    def placement(self, serving: Collection[str]) -> Placement:
        return self._leases.placement(serving)

    def ownership(self) -> tuple[list[ServerRecord], list[Lease]]:
        return self._leases.servers(), self._leases.leases()

    def tokens(self) -> PostgresTokens:
        """The project tokens, in the database: every server sharing it checks the same."""
        return self._tokens

    def owner_address(self, project_id: str) -> str | None:
        lease = self._leases.owner(project_id)
        if lease is None or not lease.live or lease.owner == self._leases.server_id:
            return None
        return lease.address

    def _store(self, project_id: str) -> PostgresProjectStore:
        store = PostgresProjectStore(self._pool, project_id, self._leases, self._statistics)
        with self._stores_lock:
            self._stores.add(store)
        return store

    def __str__(self) -> str:
        return self._shown

    def _prepare(self, clock: Callable[[], float]) -> None:
        """Connect once, check the server, migrate and check privileges."""
        try:
            with psycopg.connect(self._conninfo, **_CONNECTION) as conn:
                version = conn.info.server_version
                if version < MIN_SERVER_VERSION:
                    raise CannotOpenDatabase(
                        f"{self._shown} is PostgreSQL {version // 10000}.{version % 10000}; "
                        "Coflux needs PostgreSQL 14 or newer"
                    )
                applied = schema.migrate_postgres(conn, database=self._shown, clock=clock)
                schema.check_privileges(conn, database=self._shown)
                self._unanalysed = statistics.never_analysed(conn)
        except migrate.MigrationError as e:  # SchemaTooNew, MissingPrivileges
            raise CannotOpenDatabase(str(e)) from e
        except psycopg.errors.InsufficientPrivilege as e:
            raise CannotOpenDatabase(
                f"PostgreSQL user {_user(self._conninfo)} lacks privileges on {self._shown}:"
                f" {_one_line(e)}"
            ) from e
        except psycopg.OperationalError as e:
            raise CannotOpenDatabase(f"cannot connect to {self._shown}: {_one_line(e)}") from e
        except psycopg.Error as e:
            raise CannotOpenDatabase(f"{self._shown} refused the schema: {_one_line(e)}") from e
        if applied:
            logger.info("migrated %s to schema version %d", self._shown, applied[-1])

    # --- ProjectCatalog ---------------------------------------------------------------

    def project_ids(self) -> list[str]:
        with self._pool.connection() as conn:
            rows = conn.execute("SELECT id FROM projects ORDER BY id").fetchall()
        return [project_id for (project_id,) in rows]

    def open(self, project_id: str) -> PostgresProjectStore:
        """The store of a recorded project.

        Raises:
            ProjectUnopenable: no project has that id.
        """
        with self._pool.connection() as conn:
            found = conn.execute("SELECT 1 FROM projects WHERE id = %s", (project_id,)).fetchone()
        if found is None:
            raise ProjectUnopenable(project_id, f"it is not in {self._shown}", location=self._shown)
        return self._store(project_id)

    def create(self, project_id: str, name: str, now: float) -> PostgresProjectStore:
        """Record a new project and return its store, which owns it.

        Raises:
            Conflict: ``project_exists``: a project has that name (or that id).
        """
        try:
            with self._pool.connection() as conn:
                conn.execute(
                    "INSERT INTO projects (id, name, created_at) VALUES (%s, %s, %s)",
                    (project_id, name, now),
                )
        except psycopg.errors.UniqueViolation as e:
            raise Conflict("project_exists", f"project '{name}' already exists") from e
        store = self._store(project_id)
        store.take_ownership()
        return store

    def close(self) -> None:
        """Stop the heartbeat, release the leases this server holds and close the
        pool (twice is harmless); the stores it opened stop working."""
        if not self._stopping.is_set():
            self._stopping.set()
            self._heartbeat.join()
            with contextlib.suppress(psycopg.Error, PoolTimeout):
                # Unreleased, they expire: another server then waits one lease time.
                self._leases.leave()
        self._pool.close()


def describe(url: str) -> str:
    """The database as a URL without its password, for messages and logs."""
    try:
        params = conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        return "the PostgreSQL database (its URL is invalid)"
    user = f"{params['user']}@" if params.get("user") else ""
    host, port, database = (str(params.get(key) or "") for key in ("host", "port", "dbname"))
    if not host or host.startswith("/"):  # the default or a unix socket directory
        return f"postgresql://{user}/{database}" + (f"?host={host}" if host else "")
    return f"postgresql://{user}{host}" + (f":{port}" if port else "") + f"/{database}"


def _parse(url: str) -> dict[str, Any]:
    try:
        return dict(conninfo.conninfo_to_dict(url))
    except psycopg.Error as e:
        raise CannotOpenDatabase(f"the PostgreSQL URL is invalid: {_one_line(e)}") from e


def _user(info: str) -> str:
    return str(conninfo.conninfo_to_dict(info).get("user") or "(the default user)")


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
