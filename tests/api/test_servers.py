"""``GET /api/servers`` on a server whose catalog is its own (SQLite): one server,
serving every project. (Several servers on one database: tests/integration/
test_several_servers.py.)"""

from __future__ import annotations

import httpx


async def test_a_server_alone_lists_itself_with_every_project(api: httpx.AsyncClient) -> None:
    for name in ("beta", "alpha"):
        assert (await api.post("/api/projects", json={"name": name})).status_code == 201
    view = (await api.get("/api/servers")).json()
    assert view["shared"] is False and view["unowned"] == []
    [server] = view["servers"]
    assert (server["live"], server["projects"]) == (True, ["alpha", "beta", "demo"])
