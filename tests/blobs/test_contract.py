"""The blob store contract, run against every store (the filesystem store, and the
S3 store against moto): what a store keeps, refuses, verifies and isolates."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import tracemalloc
from collections.abc import AsyncIterator, Iterator

import pytest

from coflux.blobs.base import BlobCorrupt, StoredBlob
from coflux.blobs.s3 import PART
from coflux.errors import BadRequest
from tests.blobs.conftest import Backend

SMALL = b"a small blob \x00\xff" * 100
LARGE = 2 * PART + 12345  # several parts of a multipart upload


def key_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


async def chunks(content: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start : start + size]


async def read(blob: StoredBlob | None) -> bytes:
    assert blob is not None
    return b"".join([chunk async for chunk in blob.chunks])


async def test_what_is_put_comes_back_whole(backend: Backend) -> None:
    store = backend.store
    for content in (SMALL, os.urandom(LARGE)):
        key = key_of(content)
        assert await store.exists(key) is False
        assert await store.put(key, chunks(content), max_size=10**9) is True
        assert await store.exists(key) is True
        for verify_first in (0, len(content), 10**9):  # streamed, or hashed first
            blob = await store.open(key, verify_first=verify_first)
            assert blob is not None and blob.size == len(content)
            assert await read(blob) == content
    assert sorted(backend.stored()) == sorted([key_of(SMALL), key])


async def test_an_unknown_blob_is_not_there(backend: Backend) -> None:
    store = backend.store
    assert await store.exists(key_of(b"never stored")) is False
    assert await store.open(key_of(b"never stored")) is None
    assert await store.open(key_of(b"never stored"), verify_first=10**9) is None


@pytest.mark.parametrize("size", [len(SMALL), LARGE])
async def test_a_second_put_is_harmless(backend: Backend, size: int) -> None:
    store = backend.store
    content = os.urandom(size)
    key = key_of(content)
    assert await store.put(key, chunks(content), max_size=10**9) is True
    assert await store.put(key, chunks(content), max_size=10**9) is False
    assert await read(await store.open(key)) == content
    assert backend.stored() == [key] and backend.leftovers() == []


@pytest.mark.parametrize("size", [len(SMALL), LARGE])
async def test_puts_of_one_blob_at_once_all_succeed_and_store_it_once(
    backend: Backend, size: int
) -> None:
    # Each asks whether the blob is there before any has stored it: the writes
    # themselves must not clash (a conditional PUT for one part; for a multipart
    # upload, the same verified bytes completed twice).
    store = backend.store
    content = os.urandom(size)
    key = key_of(content)
    created = await asyncio.gather(
        *(store.put(key, chunks(content), max_size=10**9) for _ in range(3))
    )
    assert True in created
    assert await read(await store.open(key, verify_first=10**9)) == content
    assert backend.stored() == [key] and backend.leftovers() == []


@pytest.mark.parametrize("size", [len(SMALL), LARGE])
async def test_content_that_does_not_hash_to_its_key_is_refused_and_not_stored(
    backend: Backend, size: int
) -> None:
    store = backend.store
    content = os.urandom(size)
    key = key_of(b"something else")
    with pytest.raises(BadRequest) as refused:
        await store.put(key, chunks(content), max_size=10**9)
    assert refused.value.reason == "blob_hash_mismatch"
    assert await store.exists(key) is False
    assert await store.open(key) is None
    assert backend.stored() == [] and backend.leftovers() == []


@pytest.mark.parametrize("size", [len(SMALL), LARGE])
async def test_a_blob_larger_than_allowed_is_refused_and_not_stored(
    backend: Backend, size: int
) -> None:
    store = backend.store
    content = os.urandom(size)
    with pytest.raises(BadRequest) as refused:
        await store.put(key_of(content), chunks(content), max_size=size - 1)
    assert refused.value.reason == "blob_too_large"
    assert backend.stored() == [] and backend.leftovers() == []


async def test_a_corrupt_blob_hashed_first_is_refused_put_aside_and_healed(
    backend: Backend,
) -> None:
    store = backend.store
    key = key_of(SMALL)
    await store.put(key, chunks(SMALL), max_size=10**9)
    backend.corrupt(key)
    with pytest.raises(BlobCorrupt) as corrupt:
        await store.open(key, verify_first=10**9)
    assert corrupt.value.key == key
    assert backend.put_aside() != [] and backend.stored() == []
    assert await store.exists(key) is False
    assert await store.open(key) is None
    assert await store.put(key, chunks(SMALL), max_size=10**9) is True  # stored anew
    assert await read(await store.open(key, verify_first=10**9)) == SMALL


async def test_a_corrupt_blob_streamed_breaks_off_before_its_end(backend: Backend) -> None:
    store = backend.store
    content = os.urandom(LARGE)
    key = key_of(content)
    await store.put(key, chunks(content), max_size=10**9)
    backend.corrupt(key)
    blob = await store.open(key, verify_first=0)
    assert blob is not None and blob.size == len(content)
    received = 0
    with pytest.raises(BlobCorrupt):
        async for chunk in blob.chunks:
            received += len(chunk)
    assert received < len(content)  # the last chunk was never handed out
    assert backend.put_aside() != [] and backend.stored() == []
    assert await store.put(key, chunks(content), max_size=10**9) is True
    assert await read(await store.open(key)) == content


BAD_KEYS = [
    "../../etc/passwd", "..%2F..%2Fetc", "0" * 63, "0" * 65, "A" * 64, "g" * 64,
    "0" * 62 + "/x", "0" * 64 + "\n", "/" + "0" * 63, "corrupt/" + "0" * 56, "",
]  # fmt: skip


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_keys_that_are_not_sha256_hex_are_refused(backend: Backend, key: str) -> None:
    store = backend.store
    for attempt in (
        store.exists(key), store.open(key), store.put(key, chunks(b"x"), max_size=10),
    ):  # fmt: skip
        with pytest.raises(BadRequest) as refused:
            await attempt
        assert refused.value.reason == "invalid_blob_key"
    assert backend.stored() == [] and backend.leftovers() == []


async def test_stores_in_different_places_do_not_see_each_others_blobs(backend: Backend) -> None:
    # For S3: prefixes of one bucket, one of them nested in the other's.
    one, other, nested = backend.make("blobs"), backend.make("blobs-2"), backend.make("blobs/x")
    key = key_of(SMALL)
    assert await one.put(key, chunks(SMALL), max_size=10**9) is True
    for elsewhere in (other, nested):
        assert await elsewhere.exists(key) is False
        assert await elsewhere.open(key) is None
    assert await other.put(key, chunks(SMALL), max_size=10**9) is True  # its own copy
    backend.corrupt(key)  # damages the first store's copy only
    with pytest.raises(BlobCorrupt):
        await one.open(key, verify_first=10**9)
    assert await read(await other.open(key, verify_first=10**9)) == SMALL


# --- memory ------------------------------------------------------------------------

HUGE = 64 * 1024 * 1024
BOUND = HUGE // 2  # what the store may hold at once, well short of the blob


def generated(seed: int, size: int, chunk: int = 65536) -> Iterator[bytes]:
    """Content made on the fly, never whole in memory."""
    rng = random.Random(seed)
    for _ in range(size // chunk):
        yield rng.randbytes(chunk)


async def agenerated(seed: int, size: int) -> AsyncIterator[bytes]:
    for chunk in generated(seed, size):
        yield chunk


async def test_a_large_blob_streams_through_in_bounded_memory(backend: Backend) -> None:
    store = backend.store
    digest = hashlib.sha256()
    for chunk in generated(7, HUGE):
        digest.update(chunk)
    key = digest.hexdigest()
    tracemalloc.start()
    try:
        assert await store.put(key, agenerated(7, HUGE), max_size=10**9) is True
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        blob = await store.open(key)
        assert blob is not None and blob.size == HUGE
        read_back = hashlib.sha256()
        async for chunk in blob.chunks:
            read_back.update(chunk)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert read_back.hexdigest() == key
    # Python's allocations only: what the store gathers, holds back or keeps a
    # reference to. (obstore's own buffers are not seen here: bench/blobs_rss.py
    # measures the whole process.)
    assert put_peak < BOUND, f"the store held {put_peak} bytes while storing {HUGE}"
    assert read_peak < BOUND, f"the store held {read_peak} bytes while reading {HUGE}"
