from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from coflux.server.app import create_app


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The real app in-process, with project 'demo' and environments production <- dev."""
    app = create_app(tmp_path, session_timeout=5, admin_tokens=frozenset())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.post("/api/projects", json={"name": "demo"})).status_code == 201
            for name, base in (("production", None), ("dev", "production")):
                body = {"name": name, "base": base}
                assert (
                    await client.post("/api/projects/demo/environments", json=body)
                ).status_code == 201
            yield client


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(tmp_path, session_timeout=5, admin_tokens=frozenset({"s3cret"}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
