"""The embedded blob store: one file per blob under the server's data directory.

Files live at ``<root>/<first two hex digits>/<key>``. A blob is written to a
temporary file in the same directory while its hash is computed, then renamed
into place only if the hash matches the key, so a reader never sees a partial
or wrong blob, and writing the same blob twice is harmless.

The request body arrives in small chunks; they are gathered into 1 MiB writes,
hashed and written in a worker thread, so a large upload neither blocks the
event loop nor costs a thread hop per chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

from coflux.blobs.base import check_key
from coflux.errors import BadRequest

_WRITE_SIZE = 1024 * 1024


class FilesystemBlobStore:
    def __init__(self, root: Path) -> None:
        self._root = root

    def _location(self, key: str) -> Path:
        check_key(key)
        return self._root / key[:2] / key

    def path(self, key: str) -> Path | None:
        location = self._location(key)
        return location if location.is_file() else None

    async def put(self, key: str, chunks: AsyncIterator[bytes], max_size: int) -> bool:
        location = self._location(key)
        if location.is_file():
            async for _ in chunks:  # drain the request; the content is already here
                pass
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
                    if pending_size >= _WRITE_SIZE:
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


def _write(file: IO[bytes], digest: hashlib._Hash, chunks: list[bytes], sync: bool = False) -> None:
    data = b"".join(chunks)
    digest.update(data)
    file.write(data)
    if sync:
        file.flush()
        os.fsync(file.fileno())
