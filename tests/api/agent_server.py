"""The in-process app with an agent's project ready, as a fixture other modules import.

``from tests.api.agent_server import serving`` gives a module the ``server``
fixture (named so by the decorator, so no test parameter shadows the import):
project 'demo', environment 'production' and the ``hello`` manifest, with
``Server.agent()`` for raw agent sockets (as in ``test_agent_frames``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from coflux.server.app import create_app
from tests.api.agent_socket import AgentSocket
from tests.api.test_validation import HELLO, RUN


class Server:
    def __init__(self, app: Starlette, api: httpx.AsyncClient) -> None:
        self.app = app
        self.api = api

    def agent(self) -> AgentSocket:
        return AgentSocket(self.app)

    async def serves(self) -> bool:
        """Whether the project's actor still answers (it handles every submission)."""
        body = {**RUN, "repository": "nope"}
        response = await self.api.post("/api/projects/demo/runs", json=body)
        assert response.status_code in (404, 503), response.text
        return response.status_code == 404


@pytest.fixture(name="server")
async def serving(tmp_path: Path) -> AsyncIterator[Server]:
    app = create_app(tmp_path, session_timeout=5, admin_tokens=frozenset())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            assert (await api.post("/api/projects", json={"name": "demo"})).status_code == 201
            body = {"name": "production"}
            assert (await api.post("/api/projects/demo/environments", json=body)).status_code == 201
            path = "/api/projects/demo/environments/production/manifests"
            assert (await api.post(path, json={"manifests": [HELLO]})).status_code == 200
            yield Server(app, api)
