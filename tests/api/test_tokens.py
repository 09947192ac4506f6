"""Tokens: every route by every kind of caller, generated from the route table.

The server has an admin token and two projects: ``alpha`` (environments
production and dev, with a queued run in production) and ``beta``. Each route
is called with no token, a wrong one, a revoked one, beta's, alpha's read-only
one, an alpha token limited to dev, alpha's full one, and the admin token; the
expected answer comes from a small oracle of the rules in docs/security.md, so
a route added to the table without the right protection fails here.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from coflux import protocol
from coflux.server.app import API, create_app
from tests.api.agent_socket import AgentSocket

ADMIN = "admin-token-for-tests"
MANIFEST = {
    "repository": "hello",
    "targets": [
        {"name": "greet", "type": "workflow", "parameters": [{"name": "name"}]},
        {"name": "watch", "type": "sensor"},
    ],
}
BLOB = b"some bytes"
BLOB_KEY = "5d5b09f6dcb2d53a5fffc60c4ac0d55fabdf556069d6631545f42aa6e3500f2e"


@dataclass(frozen=True)
class Caller:
    name: str
    token: str | None
    admin: bool = False
    project: str | None = None  # the project a project token is for
    environments: tuple[str, ...] | None = None
    read_only: bool = False
    valid: bool = True

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@dataclass
class World:
    client: httpx.AsyncClient
    app: Any
    callers: list[Caller]
    ids: dict[str, str]


async def _create(client: httpx.AsyncClient, path: str, body: Any) -> dict[str, Any]:
    response = await client.post(path, json=body, headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    app = create_app(tmp_path, session_timeout=5, admin_tokens=frozenset({ADMIN}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for project in ("alpha", "beta"):
                await _create(client, "/api/projects", {"name": project})
                await _create(
                    client, f"/api/projects/{project}/environments", {"name": "production"}
                )
            await _create(client, "/api/projects/alpha/environments", {"name": "dev"})
            await _create(
                client,
                "/api/projects/alpha/environments/production/manifests",
                {"manifests": [MANIFEST]},
            )
            run = await _create(
                client,
                "/api/projects/alpha/runs",
                {"environment": "production", "repository": "hello", "target": "greet",
                 "arguments": [{"format": "json", "data": "Joe"}]},
            )  # fmt: skip
            sensor = await _create(
                client,
                "/api/projects/alpha/sensors",
                {"environment": "production", "repository": "hello", "target": "watch"},
            )

            async def token(project: str, **options: Any) -> tuple[str, str]:
                created = await _create(client, "/api/tokens", {"project": project, **options})
                return created["token"], created["info"]["id"]

            revoked, revoked_id = await token("alpha")
            await _create(client, f"/api/tokens/{revoked_id}/revoke", None)
            beta, _ = await token("beta")
            read_only, _ = await token("alpha", read_only=True)
            dev_only, _ = await token("alpha", environments=["dev"])
            full, full_id = await token("alpha")
            alpha_id = next(
                p["id"] for p in (await client.get("/api/projects", headers={"Authorization": f"Bearer {ADMIN}"})).json()
                if p["name"] == "alpha"
            )  # fmt: skip
            callers = [
                Caller("none", None, valid=False),
                Caller("wrong", "cfx_aaaaaaaaaaaa_not-a-secret", valid=False),
                Caller("revoked", revoked, valid=False),
                Caller("other-project", beta, project="beta"),
                Caller("read-only", read_only, project="alpha", read_only=True),
                Caller("dev-only", dev_only, project="alpha", environments=("dev",)),
                Caller("project", full, project="alpha"),
                Caller("admin", ADMIN, admin=True),
            ]
            run_id = run["run_id"]
            ids = {
                "project": "alpha", "environment": "production", "run_id": run_id,
                "sensor_id": sensor["sensor_id"], "step_id": f"{run_id}:1",
                "execution_id": f"{run_id}:1:1", "asset_id": "nosuchasset1",
                "input_id": "nosuchrun.input",
                "token_id": full_id, "alpha_id": alpha_id,
            }  # fmt: skip
            yield World(client, app, callers, ids)


# A body each write route accepts, so that only the token decides the answer.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/tokens"): {"project": "alpha"},
    ("POST", "/api/projects"): {"name": "gamma"},
    ("POST", "/api/projects/{project}/environments"): {"name": "staging"},
    ("PATCH", "/api/projects/{project}/environments/{environment}"): {"base": None},
    ("POST", "/api/projects/{project}/environments/{environment}/manifests"): {"manifests": [MANIFEST]},
    ("POST", "/api/projects/{project}/runs"): {
        "environment": "production", "repository": "hello", "target": "greet",
        "arguments": [{"format": "json", "data": "Ann"}],
    },
    ("POST", "/api/projects/{project}/sensors"): {
        "environment": "production", "repository": "hello", "target": "watch",
    },
    ("POST", "/api/projects/{project}/steps/{step_id}/rerun"): {},
}  # fmt: skip
PUBLIC = {("GET", "/api/auth"), ("GET", "/api/openapi.json")}
ADMIN_ONLY = {("POST", "/api/projects"), ("POST", "/api/tokens"), ("GET", "/api/tokens"),
              ("POST", "/api/tokens/{token_id}/revoke"), ("GET", "/api/servers")}  # fmt: skip
# Routes that every valid token may use (their answers are filtered to what it sees).
ANY_TOKEN = {("GET", "/api/projects"), ("GET", "/blobs/{key}"), ("PUT", "/blobs/{key}")}


def expected(caller: Caller, method: str, path: str) -> str:
    """'ok' (neither 401 nor 403), '401' or '403', by the rules of docs/security.md."""
    route = (method, path)
    if route in PUBLIC:
        return "ok"
    if not caller.valid:
        return "401"
    if caller.admin:
        return "ok"
    if route in ADMIN_ONLY:
        return "403"
    write = method not in ("GET", "HEAD")
    if write and caller.read_only:
        return "403"
    if route in ANY_TOKEN:
        return "ok"
    if caller.project != "alpha":
        return "403"
    if caller.environments is not None:
        # Everything of the world's run and its environment is in production; listing
        # the project's environments, runs and sensors is filtered instead.
        touches_production = "{environment}" in path or any(
            f"{{{name}}}" in path for name in ("run_id", "sensor_id", "step_id", "execution_id")
        )
        body = BODIES.get(route) or {}
        if (
            touches_production
            or body.get("environment") == "production"
            or route == ("POST", "/api/projects/{project}/environments")
        ):
            return "403"
    return "ok"


HTTP_ROUTES = [(r.method, r.path) for r in API] + [
    ("GET", "/api/openapi.json"),
    ("GET", "/blobs/{key}"),
    ("PUT", "/blobs/{key}"),
    ("GET", "/api/projects/{project}/assets/{asset_id}/files/{path}"),
]


def _url(path: str, ids: dict[str, str]) -> str:
    return re.sub(
        r"{(\w+)}", lambda m: {"key": BLOB_KEY, "path": "a.txt"}.get(m[1]) or ids[m[1]], path
    )


def test_every_route_of_the_table_is_in_the_matrix() -> None:
    routes = {(r.method, r.path) for r in API}
    assert routes <= set(HTTP_ROUTES)
    assert {m for m, _ in routes} <= {"GET", "POST", "PATCH", "PUT", "DELETE"}


async def test_every_http_route_with_every_caller(world: World) -> None:
    # Safe routes first, then the ones that change things (revoking a token, pausing)
    # last, so that one call does not change what the others see.
    order = sorted(HTTP_ROUTES, key=lambda r: (r[0] != "GET", "revoke" in r[1], "archive" in r[1]))
    failures = []
    for method, path in order:
        for caller in world.callers:
            if path.endswith("/revoke") and caller.name in ("project", "admin"):
                continue  # would revoke the 'project' caller's own token mid-matrix
            if path.endswith("/archive") and caller.admin:
                continue  # would archive production for the callers after it
            body = BODIES.get((method, path))
            kwargs: dict[str, Any] = {"headers": caller.headers}
            if method == "PUT":
                kwargs["content"] = BLOB
            elif body is not None:
                kwargs["json"] = body
            response = await world.client.request(method, _url(path, world.ids), **kwargs)
            want = expected(caller, method, path)
            got = str(response.status_code) if response.status_code in (401, 403) else "ok"
            if got != want:
                failures.append(
                    f"{method} {path} as {caller.name}: {response.status_code} {response.text[:120]}"
                )
            if response.status_code in (401, 403):
                assert response.json()["error"]["reason"] in (
                    "unauthorised",
                    "forbidden",
                    "read_only",
                    "admin_only",
                ), response.text
    assert not failures, "\n".join(failures)


async def test_lists_show_only_what_a_token_sees(world: World) -> None:
    by_name = {c.name: c for c in world.callers}
    projects = await world.client.get("/api/projects", headers=by_name["other-project"].headers)
    assert [p["name"] for p in projects.json()] == ["beta"]
    dev = by_name["dev-only"].headers
    environments = await world.client.get("/api/projects/alpha/environments", headers=dev)
    assert [e["name"] for e in environments.json()] == ["dev"]
    assert (await world.client.get("/api/projects/alpha/runs", headers=dev)).json() == []
    assert (await world.client.get("/api/projects/alpha/sensors", headers=dev)).json() == []
    full = await world.client.get("/api/projects/alpha/runs", headers=by_name["project"].headers)
    assert {r["id"] for r in full.json()} == {world.ids["run_id"], world.ids["sensor_id"]}


async def test_auth_says_who_is_asking(world: World) -> None:
    by_name = {c.name: c for c in world.callers}
    nobody = (await world.client.get("/api/auth")).json()
    assert nobody == {"required": True, "authenticated": False, "admin": False, "token": None}
    revoked = (await world.client.get("/api/auth", headers=by_name["revoked"].headers)).json()
    assert revoked["authenticated"] is False
    reader = (await world.client.get("/api/auth", headers=by_name["read-only"].headers)).json()
    assert reader["authenticated"] and not reader["admin"]
    assert reader["token"]["read_only"] is True
    assert reader["token"]["project"] == world.ids["alpha_id"]
    admin = (await world.client.get("/api/auth", headers=by_name["admin"].headers)).json()
    assert admin["admin"] is True and admin["token"] is None


async def test_tokens_are_stored_hashed_and_listed_without_secrets(
    world: World, tmp_path: Path
) -> None:
    listed = await world.client.get("/api/tokens", headers={"Authorization": f"Bearer {ADMIN}"})
    secrets = [c.token for c in world.callers if c.token and c.token.startswith("cfx_")]
    stored = (tmp_path / "tokens.sqlite").read_bytes()
    for secret in secrets:
        assert secret not in listed.text
        assert secret.encode() not in stored
        assert secret.split("_", 2)[2].encode() not in stored
    assert len(listed.json()) == 5
    assert sum(t["revoked_at"] is not None for t in listed.json()) == 1


async def test_creating_tokens_is_refused_on_an_open_server(tmp_path: Path) -> None:
    app = create_app(tmp_path, session_timeout=5, admin_tokens=frozenset())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.post("/api/projects", json={"name": "alpha"})).status_code == 201
            response = await client.post("/api/tokens", json={"project": "alpha"})
            assert response.status_code == 409
            assert response.json()["error"]["reason"] == "tokens_not_enforced"
            assert (await client.get("/api/tokens")).json() == []


async def test_a_token_for_an_unknown_environment_is_refused(world: World) -> None:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    response = await world.client.post(
        "/api/tokens", json={"project": "alpha", "environments": ["nope"]}, headers=admin
    )
    assert response.status_code == 404
    assert len((await world.client.get("/api/tokens", headers=admin)).json()) == 5


def _hello(project: str, environment: str) -> bytes:
    hello = protocol.Hello(
        protocol_version=protocol.PROTOCOL_VERSION, project=project, environment=environment,
        concurrency=1, targets={},
    )  # fmt: skip
    return protocol.encode_frame([hello])


@pytest.mark.parametrize(
    ("caller_name", "environment", "admitted"),
    [
        ("none", "production", False),
        ("wrong", "production", False),
        ("revoked", "production", False),
        ("other-project", "production", False),
        ("read-only", "production", False),
        ("dev-only", "production", False),
        ("dev-only", "dev", True),
        ("project", "production", True),
        ("admin", "production", True),
    ],
)
async def test_agents_join_only_where_their_token_may_write(
    world: World, caller_name: str, environment: str, admitted: bool
) -> None:
    caller = next(c for c in world.callers if c.name == caller_name)
    async with AgentSocket(world.app, headers=caller.headers) as socket:
        await socket.send(_hello("alpha", environment))
        first = await socket.receive()
        if admitted:
            assert first is not None
            messages = protocol.decode_server_frame(first)
            assert any(isinstance(m, protocol.Welcome) for m in messages)
        else:
            assert first is None
            assert socket.close_code == protocol.CLOSE_UNAUTHORISED
    agents = await world.client.get(
        f"/api/projects/alpha/environments/{environment}/agents",
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    # A refused agent left no session behind (an admitted one stays until it times out).
    assert bool(agents.json()) is admitted


@pytest.mark.parametrize(
    ("caller_name", "subscription", "admitted"),
    [
        ("none", "project", False),
        ("revoked", "run", False),
        ("other-project", "project", False),
        ("other-project", "run", False),
        ("dev-only", "run", False),
        ("dev-only", "project", True),
        ("read-only", "run", True),
        ("admin", "run", True),
    ],
)
async def test_live_subscriptions_follow_the_token(
    world: World, caller_name: str, subscription: str, admitted: bool
) -> None:
    caller = next(c for c in world.callers if c.name == caller_name)
    request: dict[str, str] = {"subscribe": subscription, "project": "alpha"}
    if subscription == "run":
        request["run_id"] = world.ids["run_id"]
    async with AgentSocket(world.app, "/api/live", headers=caller.headers) as socket:
        await socket.send(msgspec.json.encode(request).decode())
        first = await socket.receive()
        assert first is not None
        answer = msgspec.json.decode(first)
        if admitted:
            assert "snapshot" in answer
        else:
            assert answer["error"]["reason"] in ("unauthorised", "forbidden")
            assert await socket.closed() == protocol.CLOSE_UNAUTHORISED


async def test_a_browser_may_send_its_token_as_a_subprotocol(world: World) -> None:
    import base64

    encoded = base64.urlsafe_b64encode(ADMIN.encode()).decode().rstrip("=")
    headers = {"Sec-WebSocket-Protocol": f"coflux, coflux.token.{encoded}"}
    socket = AgentSocket(world.app, "/api/live", headers=headers)
    async with socket:
        assert socket.accepted.get("subprotocol") == "coflux"
        await socket.send('{"subscribe": "project", "project": "alpha"}')
        first = await socket.receive()
        assert first is not None and b"snapshot" in first
