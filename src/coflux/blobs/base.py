"""The blob store interface, and what makes a key valid.

A key is the lowercase hex sha256 of the content, and nothing else: validating
it with one strict pattern is what guarantees that no key can name a path
outside the store (no separators, dots or encodings get through).

A store never hands out content that does not hash to its key: what it serves
is verified on the way out (``verify``, ``chunks``), and a blob found corrupt
is reported (``BlobCorrupt``, logged) and put aside, so that the next upload of
the right content stores it again.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Protocol

from coflux import protocol
from coflux.errors import BadRequest, CofluxError

KEY_PATTERN = re.compile(protocol.BLOB_KEY_PATTERN)  # always fullmatch


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


class BlobStore(Protocol):
    async def put(self, key: str, chunks: AsyncIterator[bytes], max_size: int) -> bool:
        """Store the content streamed in ``chunks`` under ``key``.

        Returns:
            True if it was stored now, False if the store already had it.

        Raises:
            BadRequest: the key is invalid, the content does not hash to it, or it is
                larger than ``max_size`` (nothing is stored).
        """
        ...

    def path(self, key: str) -> Path | None:
        """Where a stored blob can be read from, or None if it is not stored."""
        ...

    def verify(self, key: str) -> Path | None:
        """Hash a stored blob (blocking): its path if it is intact, None if not stored.

        Raises:
            BlobCorrupt: its content does not hash to ``key`` (it was put aside).
        """
        ...

    def chunks(self, key: str) -> Iterator[bytes]:
        """A stored blob's content (blocking reads), hashed on the way: the last
        chunk comes only once the whole has matched ``key``.

        Raises:
            FileNotFoundError: the blob is not stored.
            BlobCorrupt: instead of the last chunk, if the content does not hash
                to ``key`` (it was put aside).
        """
        ...
