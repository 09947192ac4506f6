"""Tasks of the values benchmark, hosted by one agent."""

from __future__ import annotations

import hashlib

import coflux as cf


@cf.task
def make(size: int) -> bytes:
    """A result of ``size`` bytes (made in one allocation)."""
    return b"\x5a" * size


@cf.task
def consume(data: bytes) -> dict[str, object]:
    """What arrived: its size, type and sha256."""
    return {
        "size": len(data),
        "type": type(data).__name__,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
