"""The server's blob endpoints and asset checks on top of each store: what a
client sees through ``/blobs/{key}`` is the same whichever store is behind it."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from coflux import protocol
from coflux.blobs.s3 import S3BlobStore
from coflux.errors import BadRequest
from coflux.server.api import blobs as blob_api
from coflux.server.api.assets import asset_of
from coflux.server.app import create_app
from tests.blobs.conftest import Backend
from tests.support.cluster import free_port

CONTENT = b"the right content " * 1000


def key_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@pytest.fixture
async def api(backend: Backend, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The real app in-process, its blobs in the backend's store."""
    app = create_app(tmp_path / "server", session_timeout=5, admin_tokens=frozenset())
    app.state.context.blobs = backend.store
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_put_head_and_get(api: httpx.AsyncClient) -> None:
    key = key_of(CONTENT)
    assert (await api.head(f"/blobs/{key}")).status_code == 404
    assert (await api.put(f"/blobs/{key}", content=CONTENT)).status_code == 201
    assert (await api.put(f"/blobs/{key}", content=CONTENT)).status_code == 200
    head = await api.head(f"/blobs/{key}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(CONTENT))
    got = await api.get(f"/blobs/{key}")
    assert got.status_code == 200 and got.content == CONTENT
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["etag"] == f'"{key}"'


async def test_content_that_does_not_match_is_a_400_and_not_stored(
    api: httpx.AsyncClient, backend: Backend
) -> None:
    key = key_of(b"expected")
    response = await api.put(f"/blobs/{key}", content=CONTENT)
    assert response.status_code == 400
    assert response.json()["error"]["reason"] == "blob_hash_mismatch"
    assert (await api.get(f"/blobs/{key}")).status_code == 404
    assert backend.stored() == []


async def test_a_corrupt_blob_is_a_500_then_gone_until_uploaded_again(
    api: httpx.AsyncClient, backend: Backend
) -> None:
    key = key_of(CONTENT)
    assert (await api.put(f"/blobs/{key}", content=CONTENT)).status_code == 201
    backend.corrupt(key)
    response = await api.get(f"/blobs/{key}")
    assert response.status_code == 500
    assert response.json()["error"]["reason"] == "blob_corrupt"
    assert (await api.get(f"/blobs/{key}")).status_code == 404
    assert len(backend.put_aside()) == 1
    assert (await api.put(f"/blobs/{key}", content=CONTENT)).status_code == 201
    assert (await api.get(f"/blobs/{key}")).content == CONTENT


async def test_head_of_a_corrupt_blob_is_not_200(api: httpx.AsyncClient, backend: Backend) -> None:
    key = key_of(CONTENT)
    assert (await api.put(f"/blobs/{key}", content=CONTENT)).status_code == 201
    backend.corrupt(key)
    assert (await api.head(f"/blobs/{key}")).status_code == 500
    assert (await api.head(f"/blobs/{key}")).status_code == 404


async def test_a_large_corrupt_blob_breaks_off_before_its_end(
    api: httpx.AsyncClient, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blob_api, "VERIFY_FIRST", 1024)
    content = os.urandom(3 * 1024 * 1024)  # three chunks: streamed, hashed on the way
    key = key_of(content)
    assert (await api.put(f"/blobs/{key}", content=content)).status_code == 201
    assert (await api.get(f"/blobs/{key}")).content == content
    backend.corrupt(key)
    received = b""
    with pytest.raises(Exception, match="corrupt"):  # whatever the transport makes of it
        async with api.stream("GET", f"/blobs/{key}") as response:
            assert response.headers["content-length"] == str(len(content))
            async for chunk in response.aiter_bytes():
                received += chunk
    assert len(received) < len(content)
    assert len(backend.put_aside()) == 1


async def test_an_asset_is_recorded_only_if_the_store_has_its_blobs(backend: Backend) -> None:
    store = backend.store
    present, missing = key_of(b"present"), key_of(b"missing")
    assert await store.put(present, _once(b"present"), max_size=100) is True
    entries = tuple(
        protocol.AssetEntry(f"data/{i}.txt", 7, present) for i in range(100)
    )  # more than are asked about at once, all naming one blob
    request = protocol.PersistAsset(1, "R:1:1", "asset0001", "directory", "data", entries)
    asset = await asset_of(request, store)
    assert asset.file_count == 100
    gap = (*entries, protocol.AssetEntry("data/gap.txt", 7, missing))
    with pytest.raises(BadRequest) as refused:
        await asset_of(
            protocol.PersistAsset(2, "R:1:1", "asset0002", "directory", "data", gap), store
        )
    assert refused.value.reason == "unknown_blob" and "data/gap.txt" in str(refused.value)


async def _once(content: bytes) -> AsyncIterator[bytes]:
    yield content


# --- S3 only -------------------------------------------------------------------------


async def test_an_unreachable_object_store_is_a_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    app = create_app(tmp_path, session_timeout=5, admin_tokens=frozenset())
    app.state.context.blobs = S3BlobStore("s3://bucket/blobs", retries=0)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            key = key_of(CONTENT)
            for method in ("PUT", "GET", "HEAD"):
                body = CONTENT if method == "PUT" else None
                response = await api.request(method, f"/blobs/{key}", content=body)
                assert response.status_code == 503, (method, response.text)
            body = (await api.get(f"/blobs/{key}")).json()
            assert body["error"]["reason"] == "blob_store_unavailable"


# --- the headers of a named file -------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("report.csv", 'attachment; filename="report.csv"'),
        ("résumé v2.txt", "attachment; filename*=utf-8''r%C3%A9sum%C3%A9%20v2.txt"),
        ('say "hi".txt', "attachment; filename*=utf-8''say%20%22hi%22.txt"),
    ],
)
async def test_a_named_file_is_served_with_its_name(
    backend: Backend, filename: str, expected: str
) -> None:
    store = backend.store
    key = key_of(CONTENT)
    await store.put(key, _once(CONTENT), max_size=10**6)

    async def endpoint(request: Request) -> Response:
        response = await blob_api.serve_blob(
            request, store, key, media_type="text/plain", filename=filename,
            headers={"X-Content-Type-Options": "nosniff"},
        )  # fmt: skip
        assert response is not None
        return response

    app = Starlette(routes=[Route("/file", endpoint, methods=["GET", "HEAD"])])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        for method in ("GET", "HEAD"):
            response = await client.request(method, "/file")
            assert response.headers["content-disposition"] == expected
            assert response.headers["content-type"] == "text/plain; charset=utf-8"
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["content-length"] == str(len(CONTENT))
        assert (await client.get("/file")).content == CONTENT
