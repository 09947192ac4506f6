"""The store an engine benchmark records in: SQLite files, or a PostgreSQL cluster.

A workload asks its store for an ``Engine`` (a fresh server and agent) and, around
what it measures, for the store's own usage: nothing for SQLite (it lives inside
the server's process, whose CPU and memory the workload already counts), and for
PostgreSQL the CPU seconds of the cluster's process tree and the WAL it wrote.

The PostgreSQL cluster is ``tests/support/postgres.py``'s throwaway one, reached
over its unix socket, but with DURABLE settings: ``fsync``, ``synchronous_commit``
and ``full_page_writes`` are PostgreSQL's defaults (on), so every commit the
server waits for is flushed to disk, as a production cluster would have it. (The
tests' defaults switch them off; a benchmark on those would flatter PostgreSQL.)
One cluster serves a whole benchmark run; each engine gets a new database in it,
dropped when the engine stops, as each SQLite engine gets a new data directory.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from measure import tree_cpu_seconds, tree_pss_mb
from ours import Engine
from tests.store.facts import T0
from tests.support.postgres import Cluster

from coflux.store.base import ProjectStore
from coflux.store.postgres.catalog import PostgresCatalog
from coflux.store.sqlite.store import SqliteProjectStore

# Everything else is PostgreSQL's default: fsync = on, synchronous_commit = on,
# full_page_writes = on, wal_sync_method = fdatasync, shared_buffers = 128MB.
DURABLE = {"listen_addresses": "''"}  # the unix socket only
SHOWN = ("server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_sync_method",
         "shared_buffers", "max_wal_size", "checkpoint_timeout")  # fmt: skip


class Store(Protocol):
    """What a workload needs of the store its engine records in."""

    name: str  # "sqlite" or "postgres": the suffix of its result sections

    def engine(
        self, server_args: tuple[str, ...] = (), agent_args: tuple[str, ...] = ()
    ) -> contextlib.AbstractContextManager[Engine]:
        """A fresh server (recording here) and agent, stopped when the block ends."""
        ...

    def usage(self) -> dict[str, float]:
        """The store's own counters so far (empty when it has none of its own)."""
        ...

    def project(self) -> contextlib.AbstractContextManager[ProjectStore]:
        """A fresh project's store alone, no server (the ``store`` workload)."""
        ...

    def footprint(self) -> dict[str, float]:
        """What the store holds now, of the engine's database (empty if not measured)."""
        ...

    def facts(self) -> dict[str, Any]:
        """How the store is set up, for the report."""
        ...


class SqliteStore:
    """The default: SQLite files in the engine's data directory, inside the server."""

    name = "sqlite"

    def engine(
        self, server_args: tuple[str, ...] = (), agent_args: tuple[str, ...] = ()
    ) -> contextlib.AbstractContextManager[Engine]:
        return Engine(agent_args=agent_args, server_args=server_args)

    def usage(self) -> dict[str, float]:
        return {}

    @contextlib.contextmanager
    def project(self) -> Iterator[ProjectStore]:
        with tempfile.TemporaryDirectory(prefix="coflux-store-") as tmp:
            store = SqliteProjectStore.create(Path(tmp) / "p.sqlite", "p1", "bench", T0)
            try:
                yield store
            finally:
                store.close()

    def footprint(self) -> dict[str, float]:
        return {}

    def facts(self) -> dict[str, Any]:
        return {}


class PostgresStore:
    """A durable PostgreSQL cluster for the run; a new database per engine."""

    name = "postgres"

    def __init__(self) -> None:
        self.cluster = Cluster(settings=DURABLE)
        self._database: str | None = None  # the running engine's

    def __enter__(self) -> PostgresStore:
        try:
            self.cluster.start()
        except BaseException:
            self.cluster.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.cluster.stop()

    @contextlib.contextmanager
    def engine(
        self, server_args: tuple[str, ...] = (), agent_args: tuple[str, ...] = ()
    ) -> Iterator[Engine]:
        # An empty database: the server migrates it as it would a new one.
        self._database = self.cluster.new_database(migrated=False)
        try:
            url = self.cluster.url(self._database)
            with Engine(agent_args=agent_args, server_args=server_args, database=url) as engine:
                yield engine
        finally:
            self.cluster.drop_database(self._database)
            self._database = None

    @contextlib.contextmanager
    def project(self) -> Iterator[ProjectStore]:
        self._database = self.cluster.new_database(migrated=False)
        try:
            catalog = PostgresCatalog(self.cluster.url(self._database))
            try:
                yield catalog.create("p1", "bench", T0)
            finally:
                catalog.close()
        finally:
            self.cluster.drop_database(self._database)
            self._database = None

    @property
    def postmaster(self) -> int:
        """The pid of the cluster's postmaster (the first line of its pid file)."""
        return int((self.cluster.data / "postmaster.pid").read_text().split("\n", 1)[0])

    def _query(self, sql: str, *params: object) -> Any:
        import psycopg

        with psycopg.connect(self.cluster.url(), autocommit=True) as conn:
            row = conn.execute(sql, params).fetchone()
        assert row is not None
        return row[0]

    def usage(self) -> dict[str, float]:
        """CPU seconds of the postmaster's tree (backends, WAL writer, checkpointer,
        autovacuum, and through the postmaster's reaped-children time those that
        exited), and the WAL position in bytes."""
        wal = self._query("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")
        return {"cpu_s": tree_cpu_seconds(self.postmaster), "wal_bytes": float(wal)}

    def footprint(self) -> dict[str, float]:
        """The engine's database on disk and the cluster's memory (PSS: shared
        buffers counted once, not once per backend), in MB."""
        if self._database is None:
            return {}
        size = self._query("SELECT pg_database_size(%s)", self._database)
        return {
            "database_mb": round(size / 2**20, 1),
            "postgres_pss_mb": tree_pss_mb(self.postmaster),
        }

    def facts(self) -> dict[str, Any]:
        """The server's version and its durability settings, as it reports them."""
        shown = {name: self._query(f"SHOW {name}") for name in SHOWN}
        return {**shown, "connection": "unix socket"}


def open_stores(names: list[str], stack: contextlib.ExitStack) -> list[Store]:
    """The named stores, started in ``stack`` (PostgreSQL's cluster stops with it)."""
    stores: list[Store] = []
    for name in names:
        if name == "sqlite":
            stores.append(SqliteStore())
        elif name == "postgres":
            stores.append(stack.enter_context(PostgresStore()))
        else:
            raise ValueError(f"unknown store {name!r}: sqlite or postgres")
    return stores
