"""The SQLite ``ProjectStore``: one database file per project, and its connections.

This module owns the connections and transactions; the SQL lives in
``writes.py`` (facts in) and ``queries.py`` (run by ``reads.py``); the views are
built from their rows by the shared ``reading.ReadingStore``.

Connections:

* one **writer**, used only by ``append`` (and ``create``), under a lock. The
  orchestrator may call ``append`` from whichever thread ``asyncio.to_thread``
  picks, hence ``check_same_thread=False``; the lock makes that safe.
* one **reader per thread** (``threading.local``), with ``query_only`` on. WAL
  lets readers proceed while the writer appends; each read method runs in one
  read transaction so a view built from several queries is consistent. Readers
  are also opened with ``check_same_thread=False``, but only so that ``close``
  (and the pruning of connections whose thread has ended) may close them from
  another thread; a reader is otherwise only ever used by its own thread.
* one **checkpointer**, on a thread of its own (``_Checkpointer``), which copies
  the WAL back into the database file shortly after commits, so that the
  writer's commits never do it themselves (see ``CHECKPOINT_DELAY``).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from coflux.errors import Conflict
from coflux.orchestration.effects import Fact
from coflux.store import migrate
from coflux.store.reading import ReadingStore
from coflux.store.sqlite import writes
from coflux.store.sqlite.reads import SqliteQueries

MIGRATIONS = Path(__file__).parent / "migrations"

logger = logging.getLogger(__name__)

# How long a connection waits for a lock held by another connection (ms) before
# failing with "database is locked": generous, since it only happens when another
# process opens the file (a migration, the sqlite3 shell).
BUSY_TIMEOUT_MS = 10_000

# With WAL, synchronous=NORMAL writes every commit to the WAL file before COMMIT
# returns, so a committed batch survives the server process dying in any way
# (`kill -9` included): what the spec asks. Only an OS crash or power loss could
# lose the last batches. synchronous=FULL (``fsync=True``, `coflux server
# --fsync`) also fsyncs the WAL at every commit, which survives those too, for
# ~0.4 ms per batch on the dev container: a third of a sequential step's time.
# See docs/performance.md.

# Checkpoints: SQLite's automatic one (copying the WAL back into the database
# file, fsyncing both) runs inside the commit that takes the WAL past 1,000
# pages, which for the actor's small batches is a commit on the event loop: under
# a steady load one commit in ~80 took 3.5-4.5 ms instead of ~0.15, and that was
# the dispatch latency's p99. So a thread of the store's (``_Checkpointer``)
# checkpoints on a connection of its own shortly after commits, and the writer
# checkpoints itself only past ``BACKSTOP_CHECKPOINT_PAGES``. The WAL starts over
# from its beginning at the first commit that finds every frame copied; while
# commits keep landing during the thread's checkpoints (or readers hold frames)
# it grows instead, up to the backstop, whose checkpoint in a commit then has
# only the frames since the thread's last one to copy (~2-4 ms, once per 10,000
# pages written, rather than once per 1,000).
CHECKPOINT_DELAY = 0.05
"""Seconds from a commit to the checkpoint that follows it: the commits meanwhile
share it, so at most ~20 checkpoints (40 fsyncs) a second, however busy."""
BACKSTOP_CHECKPOINT_PAGES = 10_000


class SqliteProjectStore(ReadingStore):
    """A project's store in one SQLite file (see the module docstring)."""

    # Handing a small commit to a thread and back costs more than the commit
    # itself (mostly its fsync, which releases the GIL anyway): the actor commits
    # batches up to this size on the event loop.
    inline_commit_limit = 64

    def __init__(self, path: Path, writer: sqlite3.Connection) -> None:
        """Use ``create`` or ``open``; this takes an already migrated writer."""
        self.path = path
        self._writer = writer
        self._write_lock = threading.Lock()
        self._local = threading.local()
        # Every reader with the thread it belongs to, so close() can reach them all.
        self._readers: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []
        self._readers_lock = threading.Lock()
        self._checkpointer: _Checkpointer | None = None  # started by the first commit
        self._closed = False

    # --- opening and closing ------------------------------------------------------

    @classmethod
    def create(
        cls, path: Path, project_id: str, name: str, now: float, *, fsync: bool = False
    ) -> SqliteProjectStore:
        """Create the project's database file, migrate it, and record the project.

        Args:
            fsync: fsync every commit (survives power loss, not just the process dying).

        Raises:
            FileExistsError: ``path`` exists already (nothing is touched).
        """
        # Exclusive creation claims the path atomically: two callers cannot both
        # create it. An empty file is a valid, empty SQLite database.
        with path.open("xb"):
            pass
        try:
            store = cls._open(path, clock=lambda: now, fsync=fsync)
        except BaseException:
            _remove_database(path)
            raise
        try:
            with store._writing() as conn:
                conn.execute(
                    "INSERT INTO project (singleton, id, name, created_at) VALUES (1, ?, ?, ?)",
                    (project_id, name, now),
                )
        except BaseException:
            store.close()
            _remove_database(path)
            raise
        return store

    @classmethod
    def open(cls, path: Path, *, fsync: bool = False) -> SqliteProjectStore:
        """Open an existing project's database, migrating it forward if needed.

        Args:
            fsync: fsync every commit (survives power loss, not just the process dying).

        Raises:
            FileNotFoundError: there is no file at ``path``.
            migrate.SchemaTooNew: the file was written by a newer Coflux.
            migrate.MigrationError: the file is not a Coflux project database.
        """
        if not path.is_file():
            raise FileNotFoundError(f"no project database at {path}")
        # `create` migrates before it returns, so a file with no recorded version
        # is not ours: refuse it before migrating writes tables into it.
        with contextlib.closing(_connect(path)) as conn:
            if migrate.current_version(conn) == 0:
                raise migrate.MigrationError(f"{path} is not a Coflux project database")
        store = cls._open(path, fsync=fsync)
        try:
            store.info()
        except LookupError:
            store.close()
            raise migrate.MigrationError(f"{path} is not a Coflux project database") from None
        return store

    @classmethod
    def _open(
        cls, path: Path, clock: Callable[[], float] = time.time, *, fsync: bool = False
    ) -> SqliteProjectStore:
        writer = _connect(path)
        try:
            # WAL is a property of the file: set once, it stays for every connection.
            writer.execute("PRAGMA journal_mode = WAL")
            writer.execute(f"PRAGMA synchronous = {'FULL' if fsync else 'NORMAL'}")
            writer.execute("PRAGMA foreign_keys = ON")
            writer.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_CHECKPOINT_PAGES}")
            migrate.migrate_sqlite(writer, MIGRATIONS, database=str(path), clock=clock)
        except BaseException:
            writer.close()
            raise
        return cls(path, writer)

    def close(self) -> None:
        """Close every connection (twice is harmless). Call it once no thread still reads."""
        with self._write_lock, self._readers_lock:
            self._closed = True
            if self._checkpointer is not None:
                self._checkpointer.close()
                self._checkpointer = None
            for _, conn in self._readers:
                conn.close()
            self._readers.clear()
            self._writer.close()

    # --- transactions -------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on the writer: committed on success, else rolled back."""
        with self._write_lock:
            conn = self._writer
            # IMMEDIATE takes the write lock now, so the commit cannot fail with
            # SQLITE_BUSY after the batch has been written.
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                # Deferred foreign keys are checked here; a failing COMMIT leaves the
                # transaction open, hence inside the try.
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            if self._checkpointer is None:
                self._checkpointer = _Checkpointer(self.path)
            self._checkpointer.written()

    @contextlib.contextmanager
    def _reading(self, *, consistent: bool) -> Iterator[SqliteQueries]:
        """This thread's reader, inside one read transaction (one consistent view)
        for every call, ``consistent`` or not: in-process one costs next to nothing."""
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            yield SqliteQueries(conn)
        finally:
            # Nothing was written, so COMMIT just ends the read transaction.
            conn.execute("COMMIT")

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        with self._readers_lock:
            if self._closed:
                raise sqlite3.ProgrammingError(f"the store of {self.path} is closed")
            self._prune_readers()
            conn = _connect(self.path)
            conn.execute("PRAGMA query_only = ON")
            self._readers.append((weakref.ref(threading.current_thread()), conn))
        self._local.conn = conn
        return conn

    def _prune_readers(self) -> None:
        """Close the readers of threads that have ended (caller holds the lock).

        Without this, a caller that reads from short-lived threads would leave one
        open connection behind per thread until the store is closed.
        """
        alive = []
        for ref, conn in self._readers:
            thread = ref()
            if thread is not None and thread.is_alive():
                alive.append((ref, conn))
            else:
                conn.close()
        self._readers = alive

    # --- ProjectStore (reads: reading.ReadingStore) ---------------------------------

    def _no_project(self) -> str:
        return f"{self.path} records no project"

    def take_ownership(self) -> None:
        """Nothing to do: the data directory's lock (``server/datadir.py``) keeps
        every other server out of this file."""

    def append(self, facts: Sequence[Fact]) -> None:
        """Write all ``facts`` in one transaction, in order.

        Raises:
            Conflict: ``fact_conflict``: a fact contradicts the record (duplicate
                id, unknown reference); nothing of the batch is written.
        """
        if not facts:
            return
        try:
            with self._writing() as conn:
                writes.write_facts(conn, facts)
        except sqlite3.IntegrityError as e:
            raise Conflict("fact_conflict", f"a fact contradicts the record: {e}") from e


class _Checkpointer:
    """Checkpoints a store's WAL on a thread and connection of its own, so that no
    commit waits for one (see ``CHECKPOINT_DELAY``).

    PASSIVE checkpoints never wait for the writer or the readers, nor make them
    wait: SQLite lets a checkpoint copy the WAL while the writer appends to it.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn = _connect(path)
        # The checkpoint fsyncs the WAL before copying and the database file after,
        # under NORMAL as under FULL (``--fsync`` only adds the fsync of each commit).
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._written = threading.Event()  # a commit since the last checkpoint began
        self._closing = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"coflux-checkpoint-{path.stem}", daemon=True
        )
        self._thread.start()

    def written(self) -> None:
        """A commit was made (cheap: called after every one)."""
        if not self._written.is_set():
            self._written.set()

    def close(self) -> None:
        """Stop the thread (after the checkpoint it may be in) and close its connection."""
        self._closing.set()
        self._written.set()
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        # ``_closing`` is looked at again after every checkpoint: ``close`` may come
        # between the delay and the clear below, which clears its wake-up too.
        while not self._closing.is_set():
            self._written.wait()
            if self._closing.wait(CHECKPOINT_DELAY):
                return
            self._written.clear()
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:
                # Not fatal: the next commit tries again, and the writer's own
                # checkpoint (the backstop) keeps the WAL bounded meanwhile.
                logger.exception("checkpoint of %s failed", self._path)


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: the sqlite3 module must not open transactions behind
    # our back; every transaction here is an explicit BEGIN ... COMMIT.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def _remove_database(path: Path) -> None:
    """Remove a database file that failed to initialise, so creation can be retried."""
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
