"""The blob store interface, and what makes a key valid.

A key is the lowercase hex sha256 of the content, and nothing else: validating
it with one strict pattern is what guarantees that no key can name a path
outside the store (no separators, dots or encodings get through).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

from coflux.errors import BadRequest

KEY_PATTERN = re.compile(r"^[0-9a-f]{64}$")


def check_key(key: str) -> str:
    """Return ``key`` if it is a sha256 hex digest.

    Raises:
        BadRequest: anything else (including every path traversal attempt).
    """
    if not KEY_PATTERN.fullmatch(key):
        raise BadRequest("invalid_blob_key", "a blob key is 64 lowercase hex digits (sha256)")
    return key


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
