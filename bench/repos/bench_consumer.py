"""The workflow of the values benchmark, hosted by another agent than its tasks."""

from __future__ import annotations

import hashlib

import coflux as cf


@cf.stub("bench_producer")
def make(size: int) -> bytes: ...


@cf.stub("bench_producer")
def consume(data: bytes) -> dict[str, object]: ...


@cf.workflow
def transfer(size: int) -> dict[str, object]:
    """``make`` (agent 1) -> this workflow (agent 2) -> ``consume`` (agent 1)."""
    data = make(size)
    received = consume(data)
    return {**received, "intact": received["sha256"] == hashlib.sha256(data).hexdigest()}
