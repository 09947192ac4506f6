"""The data directory's lock: at most one server per data directory.

Two servers on one directory would both write its project files and assign the
same work twice. So a server takes an exclusive ``flock`` on
``<data dir>/server.lock`` before it touches anything else in the directory, and
holds it for as long as its process lives. The kernel drops the lock however the
process ends (``kill -9`` included), so a dead server's directory can be opened
again at once and there is never a stale lock to clean up; the file itself is
left in place (removing it would let a third server lock a new file while the
second still holds the old one).

The holder writes its pid into the file, for the refusal's message only: the
lock, not the pid, is what keeps a second server out.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

LOCK_FILE = "server.lock"


class DataDirectoryInUse(OSError):
    """Another process holds the data directory's lock.

    An ``OSError`` like the busy port's ``EADDRINUSE``: a resource of the machine
    that another process has, not an engine error.

    Args:
        holder: the pid written by the holder, or None if it could not be read.
    """

    def __init__(self, directory: Path, holder: int | None) -> None:
        super().__init__(f"{directory} is locked by pid {holder}")
        self.holder = holder


class DataDirectoryLock:
    """The held lock of one data directory; ``release`` (or the process ending) drops it."""

    def __init__(self, fd: int, path: Path) -> None:
        """Use ``acquire``."""
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, directory: Path) -> DataDirectoryLock:
        """Create ``directory`` if needed, lock it, and record this process's pid.

        Raises:
            DataDirectoryInUse: another process holds the lock (nothing is changed).
            OSError: the directory or its lock file cannot be created.
        """
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / LOCK_FILE
        # No O_TRUNC: the file must not be emptied before the lock is ours, since
        # the holder's pid in it is what the refusal reports.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise DataDirectoryInUse(directory, holder) from None
        except BaseException:
            os.close(fd)
            raise
        # Written over the old pid, then cut to length: a reader never sees the
        # file empty, only the old pid (briefly) or ours.
        record = f"{os.getpid()}\n".encode()
        os.pwrite(fd, record, 0)
        os.ftruncate(fd, len(record))
        return cls(fd, path)

    def release(self) -> None:
        """Drop the lock (twice is harmless)."""
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> DataDirectoryLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    first_line = os.pread(fd, 64, 0).split(b"\n", 1)[0].strip()
    return int(first_line) if first_line.isdigit() else None
