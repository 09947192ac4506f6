"""The agent's side of the blob store: an HTTP client and a shared on-disk cache.

Large values and asset files never pass through the agent or the orchestrator:
executors upload them straight to the server's blob store (``PUT /blobs/KEY``)
and download them from it (``GET /blobs/KEY``). This module is what executors
use for that, configured by the agent (``BlobSettings``):

* ``BlobCache``: a directory of blobs named by key, shared by all of an agent's
  executors (separate processes), bounded in size. A blob written or fetched
  by one executor is read from disk by the next, so a value used by many steps
  is downloaded once per agent. Reading a blob touches its file; when the
  cache grows past its limit the least recently used files are removed.
  Processes coordinate with ``flock``: one download per key at a time (the
  others wait and then find it cached) and one eviction sweep at a time.
  Removing a file another process has open is safe on POSIX.
* ``BlobClient``: streams blobs to and from the server over HTTP with the
  standard library (``http.client``: nothing to install in user processes,
  and imported at the first request, since most executions never make one;
  one keep-alive connection per thread). It hashes what it writes and what
  it downloads, so the cache holds only verified content. Transient
  connection failures (a server restart) are retried for a while.

Nothing here holds a whole blob in memory: content moves in 1 MiB chunks.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

from coflux.serialization import DEFAULT_THRESHOLD, BinaryWriter

if TYPE_CHECKING:
    import http.client

logger = logging.getLogger(__name__)

DEFAULT_CACHE_SIZE = 2 * 1024**3
TOKEN_ENV = "COFLUX_EXECUTOR_BLOB_TOKEN"
"""How the agent hands its token to executors (removed from their environment at start)."""

CHUNK = 1024 * 1024
_KEY = re.compile(r"^[0-9a-f]{64}$")
_CHECK_BEFORE_UPLOAD = 1024 * 1024  # larger blobs: ask whether the store has them first
_STALE_INCOMING = 3600.0  # seconds after which a leftover partial download is removed


class BlobError(OSError):
    """The blob store refused a request, or could not be reached in time."""


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise BlobError(f"invalid blob key {key!r}")
    return key


@dataclass(frozen=True)
class BlobSettings:
    """How an agent's executors reach the blob store.

    Attributes:
        url: the server's base URL (``http://host:port``); blobs are at ``/blobs/KEY``.
        token: sent as ``Authorization: Bearer`` when set.
        cache_dir: the agent's shared cache directory.
        cache_size: the cache's size limit in bytes.
        threshold: values whose encoding is longer than this go to the blob store.
    """

    url: str
    token: str | None
    cache_dir: Path
    cache_size: int = DEFAULT_CACHE_SIZE
    threshold: int = DEFAULT_THRESHOLD

    def executor_args(self) -> list[str]:
        """Command-line options of ``coflux.agent.executor`` for these settings."""
        return [
            "--blob-url", self.url,
            "--blob-cache", str(self.cache_dir),
            "--blob-cache-size", str(self.cache_size),
            "--blob-threshold", str(self.threshold),
        ]  # fmt: skip

    def executor_env(self) -> dict[str, str]:
        """Environment for executors: the token, kept off their command line."""
        return {TOKEN_ENV: self.token} if self.token else {}


class _HashingWriter:
    """A write-only file that hashes and counts what goes through it."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self._hash.update(view)
        self._file.write(view)
        self.size += view.nbytes
        return view.nbytes

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class BlobCache:
    """Blobs on disk, by key, bounded in total size (see the module docstring).

    Args:
        directory: where the blobs live (created if missing).
        limit: the size in bytes above which the least recently used blobs go.
    """

    def __init__(self, directory: Path, limit: int = DEFAULT_CACHE_SIZE) -> None:
        self.directory = directory
        self.limit = limit
        directory.mkdir(parents=True, exist_ok=True)

    def find(self, key: str) -> Path | None:
        """The cached blob's path (marking it used), or None."""
        path = self.directory / check_key(key)
        try:
            os.utime(path)  # recently used files are evicted last
        except FileNotFoundError:
            return None
        return path

    def receive(self, fill: Callable[[IO[bytes]], str]) -> Path:
        """Add a blob: ``fill`` writes it to a new file and returns its (verified) key."""
        descriptor, name = tempfile.mkstemp(dir=self.directory, prefix=".incoming-")
        try:
            with os.fdopen(descriptor, "wb") as file:
                key = check_key(fill(file))
            path = self.directory / key
            os.replace(name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
            raise
        self.evict(keep=key)
        return path

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[None]:
        """Hold the lock of ``key``'s stripe (256 lock files in all), across processes."""
        with open(self.directory / f".lock-{check_key(key)[:2]}", "ab") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def evict(self, keep: str | None = None) -> None:
        """Remove the least recently used blobs until the cache is under 90% of its limit."""
        with open(self.directory / ".evict", "ab") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # another executor is sweeping right now
            try:
                self._sweep(keep)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _sweep(self, keep: str | None) -> None:
        entries: list[tuple[float, int, str]] = []
        total = 0
        now = time.time()
        with os.scandir(self.directory) as scan:
            for entry in scan:
                try:
                    stat = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if entry.name.startswith(".incoming-"):
                    if now - stat.st_mtime > _STALE_INCOMING:  # left by a killed executor
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(entry.path)
                elif _KEY.fullmatch(entry.name):
                    total += stat.st_size
                    entries.append((stat.st_mtime, stat.st_size, entry.name))
        if total <= self.limit:
            return
        target = int(self.limit * 0.9)
        for _, size, name in sorted(entries):
            if total <= target:
                break
            if name == keep:
                continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.directory / name)
            total -= size
            logger.debug("evicted blob %s (%d bytes) from the cache", name, size)


class BlobClient:
    """An executor's access to the blob store (implements ``serialization.BlobAccess``).

    Args:
        url: the server's base URL.
        token: sent as ``Authorization: Bearer`` when set.
        cache: the agent's shared cache.
        retry_for: seconds to keep retrying when the server cannot be reached.
        timeout: seconds a connection may stay silent.
    """

    def __init__(
        self,
        url: str,
        token: str | None,
        cache: BlobCache,
        *,
        retry_for: float = 30.0,
        timeout: float = 60.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self._url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/") + "/blobs/"
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.cache = cache
        self._retry_for = retry_for
        self._timeout = timeout
        self._local = threading.local()
        self._connections: set[http.client.HTTPConnection] = set()  # every thread's
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close every thread's connection (the client reconnects if used again)."""
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            connection.close()
        self._local = threading.local()

    def __enter__(self) -> BlobClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- BlobAccess ---------------------------------------------------------------

    def store(self, write: Callable[[BinaryWriter], None]) -> tuple[str, int]:
        """Write a blob into the cache with ``write``, then upload it."""
        size = 0

        def fill(file: IO[bytes]) -> str:
            nonlocal size
            writer = _HashingWriter(file)
            write(writer)
            size = writer.size
            return writer.hexdigest()

        path = self.cache.receive(fill)
        self._upload(path, path.name, size)
        return path.name, size

    def open(self, key: str) -> IO[bytes]:
        """The blob's content as an open file, from the cache (downloaded if needed)."""
        for _ in range(3):
            path = self.fetch(key)
            try:
                return open(path, "rb")
            except FileNotFoundError:  # evicted between fetch and open: fetch again
                continue
        raise BlobError(f"blob {key} keeps disappearing from the cache")

    def upload_file(self, path: str) -> tuple[str, int]:
        """Upload a file (hashed first: the key names the upload)."""
        digest = hashlib.sha256()
        size = 0
        with open(path, "rb") as file:
            while chunk := file.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        key = digest.hexdigest()
        self._upload(Path(path), key, size)
        return key, size

    def download_to(self, key: str, destination: str) -> None:
        """Copy the blob to ``destination``, replacing it atomically (never through a
        symlink that is there)."""
        target = Path(destination)
        for _ in range(3):
            source = self.fetch(key)
            descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=".coflux-")
            os.close(descriptor)
            try:
                shutil.copyfile(source, name)
                os.replace(name, target)
                return
            except FileNotFoundError:
                if not source.exists():
                    continue  # evicted while we copied: fetch again
                raise
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name)
        raise BlobError(f"blob {key} keeps disappearing from the cache")

    # --- the cache --------------------------------------------------------------

    def fetch(self, key: str) -> Path:
        """The blob's path in the cache, downloading it (once per agent) if needed."""
        found = self.cache.find(key)
        if found is not None:
            return found
        with self.cache.locked(key):
            found = self.cache.find(key)  # another executor may have fetched it meanwhile
            if found is not None:
                return found
            return self.cache.receive(lambda file: self._download(key, file))

    # --- HTTP -------------------------------------------------------------------

    def exists(self, key: str) -> bool:
        status, _ = self._exchange("HEAD", key)
        return status == 200

    def _upload(self, path: Path, key: str, size: int) -> None:
        if size >= _CHECK_BEFORE_UPLOAD and self.exists(key):
            return  # content-addressed: what is there is what we would send
        status, body = self._exchange("PUT", key, send=path, size=size)
        if status not in (200, 201):
            raise BlobError(f"the blob store refused blob {key} (HTTP {status}): {body!r}")

    def _download(self, key: str, file: IO[bytes]) -> str:
        def receive(response: http.client.HTTPResponse) -> str:
            file.seek(0)
            file.truncate()
            digest = hashlib.sha256()
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                file.write(chunk)
            return digest.hexdigest()

        status, got = self._exchange("GET", key, receive=receive)
        if status == 404:
            raise BlobError(f"blob {key} is not in the blob store")
        if status != 200:
            raise BlobError(f"the blob store refused to send blob {key} (HTTP {status})")
        if got != key:
            raise BlobError(f"blob {key} arrived corrupted (its sha256 is {got})")
        return key

    def _connection(self) -> http.client.HTTPConnection:
        import http.client  # ~12 ms of an executor's start, for the few that need it

        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            connection = kind(self._host, self._port, timeout=self._timeout, blocksize=CHUNK)
            self._local.connection = connection
            with self._lock:
                self._connections.add(connection)
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
            with self._lock:
                self._connections.discard(connection)

    def _exchange(
        self,
        method: str,
        key: str,
        *,
        send: Path | None = None,
        size: int = 0,
        receive: Callable[[http.client.HTTPResponse], str] | None = None,
    ) -> tuple[int, Any]:
        """One request, retried on connection failures until ``retry_for`` has passed.

        Returns:
            The status, and ``receive(response)`` for a 200 (else the error body).
        """
        path = self._prefix + check_key(key)
        deadline = time.monotonic() + self._retry_for
        delay = 0.0  # a dropped keep-alive connection is retried at once
        while True:
            connection = self._connection()
            headers = dict(self._headers)
            body: IO[bytes] | None = None
            try:
                if send is not None:
                    body = open(send, "rb")  # noqa: SIM115 (closed in finally)
                    headers["Content-Length"] = str(size)
                    headers["Content-Type"] = "application/octet-stream"
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                if response.status == 200 and receive is not None:
                    return response.status, receive(response)
                return response.status, response.read()
            except (ConnectionError, TimeoutError, _http_exception()) as e:
                self._drop_connection()
                if time.monotonic() + delay > deadline:
                    raise BlobError(f"cannot reach the blob store at {self._url}: {e}") from e
                logger.debug("blob %s %s failed (%s); retrying", method, key, e)
                time.sleep(delay)
                delay = min(2.0, max(0.1, delay * 2))
            finally:
                if body is not None:
                    body.close()


def _http_exception() -> type[Exception]:
    """``http.client``'s base exception (imported by then: a request was made)."""
    import http.client

    return http.client.HTTPException
