"""Blobs are verified when served: content that no longer hashes to its key is
never served as the blob.

A blob file damaged on disk was served with 200. Now a small one is hashed
before the answer (500 ``blob_corrupt``), a large one while it streams (the
answer breaks off before its end, so no client takes it for the blob); either
way the corruption is logged with the key and path and the file is moved into
``blobs/corrupt/``, so the next upload of the right content stores it again.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import httpx
import pytest

from coflux.server.api import blobs as blob_api
from tests.api.agent_server import (
    Server,
    serving,  # noqa: F401 (the server fixture)
)
from tests.api.test_handles import _persist_asset, _running

CONTENT = b"the right content " * 1000


def key_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def corrupt(data_dir: Path, key: str) -> Path:
    path = data_dir / "blobs" / key[:2] / key
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # one flipped byte, the same size
    path.write_bytes(bytes(damaged))
    return path


def quarantined(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "blobs" / "corrupt").glob("*"))


async def test_a_corrupt_blob_is_refused_reported_and_healed_by_a_new_upload(
    api: httpx.AsyncClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = key_of(CONTENT)
    assert (await api.put(f"/blobs/{key}", content=CONTENT)).status_code == 201
    path = corrupt(tmp_path, key)
    bad = path.read_bytes()
    with caplog.at_level(logging.ERROR):
        response = await api.get(f"/blobs/{key}")
    assert response.status_code == 500
    assert response.json()["error"]["reason"] == "blob_corrupt"
    assert bad not in response.content
    assert any(key in r.getMessage() and str(path) in r.getMessage() for r in caplog.records)
    [moved] = quarantined(tmp_path)
    assert moved.read_bytes() == bad and not path.exists()
    assert (await api.get(f"/blobs/{key}")).status_code == 404
    assert (await api.put(f"/blobs/{key}", content=CONTENT)).status_code == 201
    healed = await api.get(f"/blobs/{key}")
    assert healed.status_code == 200 and healed.content == CONTENT


async def test_head_of_a_corrupt_blob_is_not_200(api: httpx.AsyncClient, tmp_path: Path) -> None:
    # An agent asks HEAD before uploading a large blob, and skips the upload on 200.
    key = key_of(CONTENT)
    assert (await api.put(f"/blobs/{key}", content=CONTENT)).status_code == 201
    corrupt(tmp_path, key)
    assert (await api.head(f"/blobs/{key}")).status_code == 500
    assert (await api.head(f"/blobs/{key}")).status_code == 404


async def test_a_large_corrupt_blob_breaks_off_before_its_end(
    api: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blob_api, "VERIFY_FIRST", 1024)
    content = bytes(range(256)) * 4096  # 1 MiB: streamed, hashed on the way
    key = key_of(content)
    assert (await api.put(f"/blobs/{key}", content=content)).status_code == 201
    good = await api.get(f"/blobs/{key}")
    assert good.status_code == 200 and good.content == content
    corrupt(tmp_path, key)
    received = b""
    with pytest.raises(Exception, match="corrupt"):  # whatever the transport makes of it
        async with api.stream("GET", f"/blobs/{key}") as response:
            async for chunk in response.aiter_bytes():
                received += chunk
    assert len(received) < len(content)
    assert len(quarantined(tmp_path)) == 1
    assert (await api.put(f"/blobs/{key}", content=content)).status_code == 201
    assert (await api.get(f"/blobs/{key}")).content == content


async def test_an_asset_file_whose_blob_is_corrupt_is_not_served(
    server: Server, tmp_path: Path
) -> None:
    async with server.agent() as agent:
        _, execution_id = await _running(server, agent)
        asset_id = await _persist_asset(server, agent, execution_id)
    asset = (await server.api.get(f"/api/projects/demo/assets/{asset_id}")).json()
    [entry] = asset["entries"]
    url = f"/api/projects/demo/assets/{asset_id}/files/{entry['path']}"
    assert (await server.api.get(url)).status_code == 200
    corrupt(tmp_path, entry["blob"])
    response = await server.api.get(url)
    assert response.status_code == 500, response.text
    assert response.json()["error"]["reason"] == "blob_corrupt"
