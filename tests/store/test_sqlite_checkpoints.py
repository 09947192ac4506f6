"""The SQLite store's checkpoints: made by a thread of its own, never by a commit.

SQLite's automatic checkpoint runs inside the commit that takes the WAL past
1,000 pages, on the committing thread: for the actor, its event loop, where it
made one step in ~80 wait ~4 ms (the dispatch latency's p99). These tests look
at the database file itself (``immutable``: the WAL ignored) to see what has
been checkpointed, and when.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path

import pytest

from coflux.store.sqlite import store as sqlite_store
from coflux.store.sqlite.store import SqliteProjectStore
from tests.store.facts import T0, environment, start_run
from tests.support.eventually import eventually

WAL_FRAME = 4096 + 24  # a page and its frame header


def in_database_file(path: Path, table: str) -> int:
    """Rows of ``table`` in the database file alone, WAL ignored: what was checkpointed.

    Read without locks (``immutable``), the file may be caught half-way through a
    checkpoint: that raises ``AssertionError``, which ``eventually`` takes for "not yet".
    """
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.DatabaseError as e:
        raise AssertionError(f"read {path} during a checkpoint: {e}") from e


def new_checkpointers(before: set[threading.Thread]) -> list[threading.Thread]:
    """Checkpoint threads alive now that were not in ``before``."""
    return [
        t
        for t in threading.enumerate()
        if t.name.startswith("coflux-checkpoint-") and t not in before
    ]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A project's file with its schema checkpointed (closing the store did it)."""
    path = tmp_path / "project.sqlite"
    SqliteProjectStore.create(path, "p1", "demo", T0).close()
    return path


def test_commits_leave_checkpoints_to_the_thread(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The thread waits an hour after a commit: whatever reaches the file, a commit put there.
    monkeypatch.setattr(sqlite_store, "CHECKPOINT_DELAY", 3600.0)
    store = SqliteProjectStore.open(path)
    try:
        store.append([environment()])
        for n in range(400):  # one run a commit, as the actor commits a chain's steps
            store.append(start_run(f"R{n}", T0))
        wal_pages = path.with_name(path.name + "-wal").stat().st_size // WAL_FRAME
        assert wal_pages > 1_000  # SQLite's own checkpoint would have run in a commit
        assert in_database_file(path, "runs") == 0
    finally:
        store.close()
    assert in_database_file(path, "runs") == 400  # closing checkpoints all the same


def test_the_thread_checkpoints_soon_after_commits(path: Path) -> None:
    store = SqliteProjectStore.open(path)
    try:
        store.append([environment()])
        for n in range(50):
            store.append(start_run(f"R{n}", T0))
        eventually(lambda: in_database_file(path, "runs") == 50, timeout=10)
    finally:
        store.close()


def test_the_thread_starts_with_the_first_commit_and_ends_with_the_store(path: Path) -> None:
    before = set(threading.enumerate())  # other tests' stores may be open in this process
    store = SqliteProjectStore.open(path)
    try:
        store.info()  # reading starts nothing: a store opened to be read costs no thread
        assert new_checkpointers(before) == []
        store.append([environment()])
        [thread] = new_checkpointers(before)
    finally:
        store.close()
    assert not thread.is_alive()
