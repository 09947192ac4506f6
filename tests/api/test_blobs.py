"""The embedded blob store over HTTP: content-addressed, verified, and confined."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest


def key_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


async def test_put_then_get_round_trips_and_put_is_idempotent(api: httpx.AsyncClient) -> None:
    content = b"some bytes \x00\xff" * 1000
    key = key_of(content)
    assert (await api.put(f"/blobs/{key}", content=content)).status_code == 201
    assert (await api.put(f"/blobs/{key}", content=content)).status_code == 200
    fetched = await api.get(f"/blobs/{key}")
    assert fetched.status_code == 200 and fetched.content == content


async def test_content_that_does_not_match_its_key_is_refused(api: httpx.AsyncClient) -> None:
    key = key_of(b"expected")
    response = await api.put(f"/blobs/{key}", content=b"something else")
    assert response.status_code == 400
    assert response.json()["error"]["reason"] == "blob_hash_mismatch"
    assert (await api.get(f"/blobs/{key}")).status_code == 404


async def test_unknown_blob_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get(f"/blobs/{key_of(b'never stored')}")
    assert response.status_code == 404 and response.json()["error"]["reason"] == "unknown_blob"


@pytest.mark.parametrize(
    "key",
    [
        "...", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fpasswd", "..%5C..%5Cwindows",
        "%2Fetc%2Fpasswd", "A" * 64, "0" * 63, "0" * 65, "g" * 64, "0" * 62 + "/x",
        "%00" + "0" * 61, "0" * 64 + "%00", ".%2e/" + "0" * 64,
    ],
)  # fmt: skip
async def test_keys_that_are_not_sha256_hex_are_refused(
    api: httpx.AsyncClient, key: str, tmp_path: Path
) -> None:
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    put = await api.put(f"/blobs/{key}", content=b"x")
    get = await api.get(f"/blobs/{key}")
    for response in (put, get):
        # 405: a client may normalise a dot segment away, leaving "/" (GET only).
        assert response.status_code in (400, 404, 405), response.text
        reason = response.json()["error"]["reason"]
        assert reason in ("invalid_blob_key", "not_found", "method_not_allowed")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
