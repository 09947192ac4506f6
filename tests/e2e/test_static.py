"""How the server serves Studio's build: files, the app for client-side routes, and
the message that says how to build it when it is not built."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from coflux.server import app as app_module
from coflux.server.app import create_app


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(tmp_path / "data", session_timeout=5, admin_tokens=frozenset())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    static = tmp_path / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text("<!doctype html><title>Studio</title>")
    (static / "assets" / "app-1234.js").write_text("console.log('studio')")
    (tmp_path / "secret.txt").write_text("outside")
    monkeypatch.setattr(app_module, "STATIC", static)
    return static


async def test_client_routes_get_the_app_and_files_are_served(
    built: Path, client: httpx.AsyncClient
) -> None:
    for path in ("/", "/projects/p/environments/e/runs/r/steps/2", "/projects/p?view=logs"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "<title>Studio</title>" in response.text
        assert response.headers["cache-control"] == "no-cache"
    script = await client.get("/assets/app-1234.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "immutable" in script.headers["cache-control"]


async def test_api_and_blob_paths_never_get_the_app(built: Path, client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/nothing-here")).json()["error"]["reason"] == "not_found"
    assert (await client.delete("/api/projects")).status_code == 405
    assert (await client.get("/blobs")).json()["error"]["reason"] == "not_found"
    missing = await client.get("/assets/gone-5678.js")
    assert missing.status_code == 404 and missing.json()["error"]["reason"] == "not_found"


async def test_no_file_outside_the_build_is_served(built: Path, client: httpx.AsyncClient) -> None:
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"):
        response = await client.get(path)
        assert "outside" not in response.text, path


async def test_without_a_build_the_server_says_how_to_build_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: httpx.AsyncClient
) -> None:
    monkeypatch.setattr(app_module, "STATIC", tmp_path / "not-built")
    for path in ("/", "/projects/p"):
        response = await client.get(path)
        assert response.status_code == 200
        assert "npm ci &amp;&amp; npm run build" in response.text
