"""The embedded blob store: one file per blob under the server's data directory.

Files live at ``<root>/<first two hex digits>/<key>``. A blob is written to a
temporary file in the same directory while its hash is computed, then renamed
into place only if the hash matches the key, so a reader never sees a partial
or wrong blob, and writing the same blob twice is harmless.

The request body arrives in small chunks; they are gathered into 1 MiB writes,
hashed and written in a worker thread, so a large upload neither blocks the
event loop nor costs a thread hop per chunk. Reads, too, go 1 MiB at a time in
a worker thread.

What is read back is hashed too (``open``): a disk, a backup restore or a
person can damage a file after it was written. A blob found corrupt is logged
and moved into ``<root>/corrupt/`` (kept for inspection, as ``<key>.<time>``),
so the store no longer has it and the next upload of the right content is
stored as new.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import os
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

from coflux.blobs.base import (
    CHUNK,
    BlobCorrupt,
    ByteRange,
    RangeNotSatisfiable,
    StoredBlob,
    StoredRange,
    check_key,
    drain,
    verified,
)
from coflux.errors import BadRequest

logger = logging.getLogger(__name__)

CORRUPT = "corrupt"  # the directory under the root where corrupt blobs are put aside


class FilesystemBlobStore:
    """Blobs as files under ``root`` (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _location(self, key: str) -> Path:
        check_key(key)
        return self._root / key[:2] / key

    async def exists(self, key: str) -> bool:
        # One stat of a local file: cheaper than the hop to a thread would be.
        return self._location(key).is_file()

    async def open(self, key: str, verify_first: int = 0) -> StoredBlob | None:
        location = self._location(key)
        try:
            file = await asyncio.to_thread(_open, location)
        except FileNotFoundError:
            return None
        try:
            read = os.fstat(file.fileno())
            if read.st_size <= verify_first:
                digest = await asyncio.to_thread(_digest, file)
                if digest != key:
                    self._put_aside(key, location, read, digest)
                    raise BlobCorrupt(key, digest)
                file.seek(0)
                return StoredBlob(read.st_size, _read(file))
        except BaseException:
            file.close()
            raise

        async def put_aside(digest: str) -> None:
            await asyncio.to_thread(self._put_aside, key, location, read, digest)

        return StoredBlob(read.st_size, verified(key, _read(file), put_aside))

    async def open_range(
        self, key: str, requested: ByteRange, verify_first: int = 0
    ) -> StoredRange | None:
        location = self._location(key)
        try:
            file = await asyncio.to_thread(_open, location)
        except FileNotFoundError:
            return None
        try:
            read = os.fstat(file.fileno())
            found = requested.resolve(read.st_size)
            if found is None:
                raise RangeNotSatisfiable(read.st_size)
            if read.st_size <= verify_first:
                digest = await asyncio.to_thread(_digest, file)
                if digest != key:
                    self._put_aside(key, location, read, digest)
                    raise BlobCorrupt(key, digest)
            start, end = found
            file.seek(start)
        except BaseException:
            file.close()
            raise
        return StoredRange(read.st_size, start, end, _read(file, end - start + 1))

    def _put_aside(self, key: str, path: Path, read: os.stat_result, digest: str) -> None:
        """Move the corrupt file that was read out of the store (blocking), and log it."""
        destination = self._root / CORRUPT / f"{key}.{time.time_ns()}"
        destination.parent.mkdir(exist_ok=True)
        moved = False
        with contextlib.suppress(FileNotFoundError):
            current = path.stat()
            # Only the file that was read: a good upload may have replaced it since.
            if (current.st_dev, current.st_ino) == (read.st_dev, read.st_ino):
                os.replace(path, destination)
                moved = True
        logger.error(
            "blob %s is corrupt: the content of %s hashes to %s; %s", key, path, digest,
            f"moved it to {destination}" if moved else "it was replaced or removed meanwhile",
        )  # fmt: skip

    async def put(self, key: str, chunks: AsyncIterator[bytes], max_size: int) -> bool:
        location = self._location(key)
        if location.is_file():
            await drain(chunks)  # the content is already here
            return False
        location.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        descriptor, temporary = tempfile.mkstemp(dir=location.parent, prefix=".incoming-")
        try:
            with os.fdopen(descriptor, "wb") as file:
                pending: list[bytes] = []
                pending_size = 0
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_size:
                        raise BadRequest(
                            "blob_too_large", f"a blob may be at most {max_size} bytes"
                        )
                    pending.append(chunk)
                    pending_size += len(chunk)
                    if pending_size >= CHUNK:
                        await asyncio.to_thread(_write, file, digest, pending)
                        pending, pending_size = [], 0
                await asyncio.to_thread(_write, file, digest, pending, sync=True)
            if digest.hexdigest() != key:
                raise BadRequest(
                    "blob_hash_mismatch", f"the content's sha256 is {digest.hexdigest()}, not {key}"
                )
            os.replace(temporary, location)
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)


def _open(path: Path) -> io.BufferedReader:
    return open(path, "rb")  # the caller closes it


def _digest(file: io.BufferedReader) -> str:
    return hashlib.file_digest(file, "sha256").hexdigest()


async def _read(file: IO[bytes], length: int | None = None) -> AsyncIterator[bytes]:
    """The file's content from where it stands (``length`` bytes of it, if given),
    then the file closed."""
    left = length
    with file:
        while left is None or left > 0:
            chunk = await asyncio.to_thread(file.read, CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk


def _write(file: IO[bytes], digest: hashlib._Hash, chunks: list[bytes], sync: bool = False) -> None:
    data = b"".join(chunks)
    digest.update(data)
    file.write(data)
    if sync:
        file.flush()
        os.fsync(file.fileno())
