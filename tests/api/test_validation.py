"""Hostile and careless requests: each gets a clear 4xx and changes nothing."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HELLO = {
    "repository": "hello",
    "targets": [
        {"name": "greet", "type": "workflow", "parameters": [{"name": "name"}]},
        {"name": "shout", "type": "task"},
    ],
}
RUN = {"environment": "production", "repository": "hello", "target": "greet",
       "arguments": [{"format": "json", "data": "Joe"}]}  # fmt: skip


async def register(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/projects/demo/environments/production/manifests", json={"manifests": [HELLO]}
    )
    assert response.status_code == 200, response.text


async def state(api: httpx.AsyncClient) -> tuple[object, ...]:
    """Everything a refused request could have changed."""
    projects = (await api.get("/api/projects")).json()
    environments = (await api.get("/api/projects/demo/environments")).json()
    runs = (await api.get("/api/projects/demo/runs")).json()
    manifests = (await api.get("/api/projects/demo/environments/production/manifests")).json()
    return projects, environments, runs, manifests


def assert_error(response: httpx.Response, status: int, reason: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"]
    if reason is not None:
        assert error["reason"] == reason


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "reason"),
    [
        ("POST", "/api/projects", b"{not json", 400, "invalid_json"),
        ("POST", "/api/projects", b'{"name": 5}', 400, "invalid_body"),
        ("POST", "/api/projects", b'{"name": "x", "extra": 1}', 400, "invalid_body"),
        ("POST", "/api/projects", b'{"name": "../etc"}', 400, "invalid_name"),
        ("POST", "/api/projects", b'{"name": "demo"}', 409, "project_exists"),
        ("POST", "/api/projects", b"[]", 400, "invalid_body"),
        ("GET", "/api/projects/nope/environments", None, 404, "unknown_project"),
        ("POST", "/api/projects/demo/environments", b'{"name": "dev"}', 409, "environment_exists"),
        ("POST", "/api/projects/demo/environments", b'{"name": "x", "base": "nope"}', 404, "unknown_environment"),
        ("PATCH", "/api/projects/demo/environments/production", b'{"base": "dev"}', 409, "base_cycle"),
        ("PATCH", "/api/projects/demo/environments/nope", b'{"name": "y"}', 404, "unknown_environment"),
        ("POST", "/api/projects/demo/environments/production/archive", None, 409, "environment_has_children"),
        ("POST", "/api/projects/demo/runs", b'{"environment": "production"}', 400, "invalid_body"),
        ("POST", "/api/projects/demo/runs", b'{"environment": "nope", "repository": "hello", "target": "greet"}', 404, "unknown_environment"),
        ("POST", "/api/projects/demo/runs", b'{"environment": "production", "repository": "nope", "target": "greet"}', 404, "unknown_repository"),
        ("POST", "/api/projects/demo/runs", b'{"environment": "production", "repository": "hello", "target": "nope"}', 404, "unknown_target"),
        ("POST", "/api/projects/demo/runs", b'{"environment": "production", "repository": "hello", "target": "shout"}', 404, "unknown_target"),
        ("POST", "/api/projects/demo/runs", b'{"environment": "production", "repository": "hello", "target": "greet"}', 400, "wrong_argument_count"),
        ("POST", "/api/projects/demo/runs", b'{"environment": "production", "repository": "hello", "target": "greet", "arguments": [{"format": "xml"}]}', 400, "invalid_body"),
        ("POST", "/api/projects/demo/environments/production/manifests", b'{"manifests": [{"repository": "a b"}]}', 400, "invalid_repository"),
        ("GET", "/api/projects/demo/runs/nope", None, 404, "unknown_run"),
        ("GET", "/api/projects/demo/runs/nope/outline", None, 404, "unknown_run"),
        ("GET", "/api/projects/demo/runs?limit=-1", None, 400, "invalid_query"),
        ("GET", "/api/projects/demo/runs?limit=abc", None, 400, "invalid_query"),
        ("POST", "/api/projects/demo/runs/nope/cancel", None, 404, "unknown_run"),
        ("POST", "/api/projects/demo/executions/nope:1:1/cancel", None, 404, "unknown_run"),
        ("GET", "/api/nothing-here", None, 404, "not_found"),
        ("DELETE", "/api/projects", None, 405, "method_not_allowed"),
    ],
)  # fmt: skip
async def test_bad_requests_are_refused_and_change_nothing(
    api: httpx.AsyncClient, method: str, path: str, body: bytes | None, status: int, reason: str
) -> None:
    await register(api)
    before = await state(api)
    assert_error(await api.request(method, path, content=body), status, reason)
    assert await state(api) == before


async def test_oversized_body_is_refused(api: httpx.AsyncClient) -> None:
    before = await state(api)
    body = b'{"name": "' + b"x" * (17 * 1024 * 1024) + b'"}'
    assert_error(await api.post("/api/projects", content=body), 400, "body_too_large")
    assert await state(api) == before


@pytest.mark.parametrize("action", ["pause", "archive"])
async def test_submitting_to_a_paused_or_archived_environment_is_refused(
    api: httpx.AsyncClient, action: str
) -> None:
    await register(api)
    await api.post(f"/api/projects/demo/environments/dev/{action}")
    response = await api.post("/api/projects/demo/runs", json={**RUN, "environment": "dev"})
    assert response.status_code in (404, 409), response.text
    assert (await api.get("/api/projects/demo/runs")).json() == []


async def test_idempotency_key_starts_one_run(api: httpx.AsyncClient) -> None:
    await register(api)
    first = await api.post("/api/projects/demo/runs", json={**RUN, "idempotency_key": "k"})
    second = await api.post("/api/projects/demo/runs", json={**RUN, "idempotency_key": "k"})
    assert first.status_code == 201
    assert (second.json()["run_id"], second.json()["created"]) == (first.json()["run_id"], False)
    assert len((await api.get("/api/projects/demo/runs")).json()) == 1


async def test_openapi_describes_every_route(api: httpx.AsyncClient) -> None:
    document = (await api.get("/api/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    assert "post" in document["paths"]["/api/projects/{project}/runs"]
    schemas = document["components"]["schemas"]
    assert {"RunView", "RunOutline", "SubmitRun", "Manifest", "ErrorBody"} <= set(schemas)


async def test_tokens_are_required_when_configured(secured: httpx.AsyncClient) -> None:
    assert_error(await secured.get("/api/projects"), 401, "unauthorised")
    wrong = {"Authorization": "Bearer nope"}
    assert_error(await secured.post("/api/projects", json={"name": "x"}, headers=wrong), 401)
    good = {"Authorization": "Bearer s3cret"}
    assert (
        await secured.post("/api/projects", json={"name": "x"}, headers=good)
    ).status_code == 201
    assert [p["name"] for p in (await secured.get("/api/projects", headers=good)).json()] == ["x"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
async def test_arbitrary_bodies_never_cause_a_server_error(
    api: httpx.AsyncClient, body: bytes
) -> None:
    for path in ("/api/projects/demo/runs", "/api/projects/demo/environments",
                 "/api/projects/demo/environments/production/manifests"):  # fmt: skip
        response = await api.post(path, content=body)
        assert response.status_code < 500
