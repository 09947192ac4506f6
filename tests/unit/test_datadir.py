"""The data directory's lock: exclusive, reporting its holder, dropped on release."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from coflux.server.datadir import LOCK_FILE, DataDirectoryInUse, DataDirectoryLock


def test_the_lock_is_exclusive_names_its_holder_and_is_dropped_on_release(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "new" / "data"
    with DataDirectoryLock.acquire(directory) as held:
        assert held.path == directory / LOCK_FILE
        assert held.path.read_text() == f"{os.getpid()}\n"
        # A second open of the file is a second lock: refused, even in this process.
        with pytest.raises(DataDirectoryInUse) as refused:
            DataDirectoryLock.acquire(directory)
        assert refused.value.holder == os.getpid()
        assert held.path.read_text() == f"{os.getpid()}\n"  # the refusal changed nothing
    with DataDirectoryLock.acquire(directory):
        pass
    held.release()  # twice is harmless


def test_a_longer_stale_pid_is_overwritten_whole(tmp_path: Path) -> None:
    (tmp_path / LOCK_FILE).write_text("123456789012\nleft over\n")
    with DataDirectoryLock.acquire(tmp_path) as held:
        assert held.path.read_text() == f"{os.getpid()}\n"


def test_an_unreadable_holder_is_reported_as_unknown(tmp_path: Path) -> None:
    with DataDirectoryLock.acquire(tmp_path) as held:
        held.path.write_text("garbage")
        with pytest.raises(DataDirectoryInUse) as refused:
            DataDirectoryLock.acquire(tmp_path)
        assert refused.value.holder is None
