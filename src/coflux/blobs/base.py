"""The blob store interface, what makes a key valid, and how reads are verified.

A key is the lowercase hex sha256 of the content, and nothing else: validating
it with one strict pattern is what guarantees that no key can name anything
outside the store (no separators, dots or encodings get through), whatever the
backend makes of it (a file name, an object name under a prefix).

The interface is streams, not paths, so that a store need not be a file system:
``put`` takes the content as chunks and stores it only once it hashes to its
key; ``open`` hands back the size and the content as chunks.

A store never hands out content that does not hash to its key: what it serves
is verified on the way out (``open``: in full first, or as it streams through
``verified``), and a blob found corrupt is reported (``BlobCorrupt``, logged)
and put aside, so that the next upload of the right content stores it again.

A part of a blob (``open_range``, for HTTP Range requests: previews read the
first kilobytes of a large file) is verified the same way when the blob is
small enough to hash in full first; a part of a larger one cannot be without
reading all of it, so it is served as stored, and only whole reads are
guaranteed (the agent always reads whole blobs).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from coflux import protocol
from coflux.errors import BadRequest, CofluxError

KEY_PATTERN = re.compile(protocol.BLOB_KEY_PATTERN)  # always fullmatch
CHUNK = 1024 * 1024
"""The size of what stores read, write and hash at a time."""


def check_key(key: str) -> str:
    """Return ``key`` if it is a sha256 hex digest.

    Raises:
        BadRequest: anything else (including every path traversal attempt).
    """
    if not KEY_PATTERN.fullmatch(key):
        raise BadRequest("invalid_blob_key", "a blob key is 64 lowercase hex digits (sha256)")
    return key


class BlobCorrupt(CofluxError):
    """A stored blob's content no longer hashes to its key; it has been put aside."""

    def __init__(self, key: str, digest: str) -> None:
        super().__init__(f"blob {key} is corrupt: its content hashes to {digest}")
        self.key = key
        self.digest = digest


@dataclass(frozen=True, eq=False)
class StoredBlob:
    """An opened blob.

    Attributes:
        size: its length in bytes.
        chunks: its content, verified (see ``BlobStore.open``); iterating it to the
            end (or closing it) releases what the store holds open for it.
    """

    size: int
    chunks: AsyncIterator[bytes]


@dataclass(frozen=True)
class ByteRange:
    """A byte range as HTTP asks for one: ``first``-``last`` (``last`` None: to the
    end), or, with ``suffix`` set, the last ``suffix`` bytes."""

    first: int = 0
    last: int | None = None
    suffix: int | None = None

    def resolve(self, size: int) -> tuple[int, int] | None:
        """The inclusive ``(start, end)`` offsets in a blob of ``size`` bytes, or None
        when no byte of it is in the range (unsatisfiable: HTTP 416)."""
        if self.suffix is not None:
            if self.suffix <= 0 or size == 0:
                return None
            return max(0, size - self.suffix), size - 1
        if self.first >= size:
            return None
        last = size - 1 if self.last is None else min(self.last, size - 1)
        return (self.first, last) if last >= self.first else None


class RangeNotSatisfiable(CofluxError):
    """No byte of a blob of ``size`` bytes is in the range asked for."""

    def __init__(self, size: int) -> None:
        super().__init__(f"the range asked for is outside the blob's {size} bytes")
        self.size = size


@dataclass(frozen=True, eq=False)
class StoredRange:
    """A part of an opened blob.

    Attributes:
        size: the whole blob's length in bytes.
        start: the offset of the part's first byte.
        end: the offset of its last byte (inclusive, as HTTP counts).
        chunks: the part's content; iterating it to the end (or closing it)
            releases what the store holds open for it.
    """

    size: int
    start: int
    end: int
    chunks: AsyncIterator[bytes]


class BlobStore(Protocol):
    async def exists(self, key: str) -> bool:
        """Whether the store has a blob under ``key`` (not hashed: a listing).

        Raises:
            BadRequest: the key is invalid.
        """
        ...

    async def put(self, key: str, chunks: AsyncIterator[bytes], max_size: int) -> bool:
        """Store the content streamed in ``chunks`` under ``key``.

        Nothing is visible under ``key`` before the whole content has hashed to it;
        writing a blob the store already has is harmless.

        Returns:
            True if it was stored now, False if the store already had it.

        Raises:
            BadRequest: the key is invalid, the content does not hash to it, or it is
                larger than ``max_size`` (nothing is stored).
        """
        ...

    async def open(self, key: str, verify_first: int = 0) -> StoredBlob | None:
        """A stored blob's size and content, or None if it is not stored.

        A blob of at most ``verify_first`` bytes is hashed in full before this
        returns (a corrupt one raises here). A larger one is hashed as it streams:
        its last chunk comes only once the whole has matched ``key``, and a corrupt
        one raises ``BlobCorrupt`` from the stream instead of that chunk.

        Raises:
            BadRequest: the key is invalid.
            BlobCorrupt: the content does not hash to ``key`` (it was put aside).
        """
        ...

    async def open_range(
        self, key: str, requested: ByteRange, verify_first: int = 0
    ) -> StoredRange | None:
        """Part of a stored blob, or None if it is not stored.

        A blob of at most ``verify_first`` bytes is hashed in full before this
        returns, as ``open`` does; a part of a larger one is read as stored.

        Raises:
            BadRequest: the key is invalid.
            RangeNotSatisfiable: no byte of the blob is in ``requested``.
            BlobCorrupt: the (small) blob does not hash to ``key`` (put aside).
        """
        ...


async def span(chunks: AsyncIterator[bytes], start: int, length: int) -> AsyncIterator[bytes]:
    """The ``length`` bytes of ``chunks`` from offset ``start``, then ``chunks`` closed."""
    position = 0
    try:
        async for chunk in chunks:
            begin, end = max(start - position, 0), min(start + length - position, len(chunk))
            position += len(chunk)
            if end > begin:
                yield chunk[begin:end]
            if position >= start + length:
                break
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()


async def verified(
    key: str,
    chunks: AsyncIterator[bytes],
    put_aside: Callable[[str], Awaitable[None]],
) -> AsyncIterator[bytes]:
    """``chunks``, hashed on the way, with the last one held back until the whole
    has hashed to ``key``.

    A stream that does not match calls ``put_aside(digest)`` and raises instead of
    yielding its last chunk, so no reader can mistake it for the blob.

    Raises:
        BlobCorrupt: the content does not hash to ``key``.
    """
    digest = hashlib.sha256()
    held = b""
    try:
        async for chunk in chunks:
            if not chunk:
                continue
            if held:
                yield held
            # sha256 releases the GIL on large buffers: off the event loop.
            await asyncio.to_thread(digest.update, chunk)
            held = chunk
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
    if digest.hexdigest() != key:
        await put_aside(digest.hexdigest())
        raise BlobCorrupt(key, digest.hexdigest())
    if held:
        yield held


async def drain(chunks: AsyncIterator[bytes]) -> None:
    """Read ``chunks`` to the end, dropping them (an upload the store already has)."""
    async for _ in chunks:
        pass
