"""Bodies past the protocol's bounds: a 400 naming the field, and nothing changed.

``test_validation.py`` covers malformed JSON, wrong types and oversized bodies;
these are the bounds on top (numbers the store could not hold, names too long,
blob keys that are no sha256, trees nested too deep).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from coflux import protocol
from tests.api.test_validation import RUN, assert_error, register, state

RUNS = "/api/projects/demo/runs"
MANIFESTS = "/api/projects/demo/environments/production/manifests"


def run(**value: Any) -> dict[str, Any]:
    return {**RUN, "arguments": [{"format": "json", "data": 1, **value}]}


def manifest(**options: Any) -> dict[str, Any]:
    target = {"name": "t", "type": "task", "options": options}
    return {"manifests": [{"repository": "bounded", "targets": [target]}]}


def nested(depth: int) -> Any:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("path", "body", "reason", "fragment"),
    [
        (RUNS, run(size=2**63), "invalid_body", "size"),
        (RUNS, run(size=-1), "invalid_body", "size"),
        (RUNS, run(blob="../../etc/passwd", data=None), "invalid_body", "blob"),
        (RUNS, run(label="x" * (protocol.MAX_NAME + 1)), "invalid_body", "label"),
        (RUNS, {**RUN, "idempotency_key": "k" * (protocol.MAX_NAME + 1)}, "invalid_body",
         "idempotency_key"),
        (RUNS, {**RUN, "target": "t" * (protocol.MAX_NAME + 1)}, "invalid_body", "target"),
        (RUNS, run(data=nested(protocol.MAX_VALUE_DEPTH + 1)), "too_deep", "nested"),
        (RUNS, run(data={"a": nested(protocol.MAX_VALUE_DEPTH)}), "too_deep", "nested"),
        (MANIFESTS, manifest(retries={"limit": 2**63}), "invalid_body", "limit"),
        (MANIFESTS, manifest(delay=-1.0), "invalid_body", "delay"),
        (MANIFESTS, manifest(cache={"max_age": 1e300}), "invalid_body", "max_age"),
        (MANIFESTS, manifest(wait=[2**63]), "invalid_body", "wait"),
        (MANIFESTS, manifest(memo=[-1]), "invalid_body", "memo"),
        ("/api/projects", {"name": "p" * (protocol.MAX_NAME + 1)}, "invalid_body", "name"),
        ("/api/projects/demo/environments", {"name": "e", "base": "b" * 2000}, "invalid_body",
         "base"),
        ("/api/projects/demo/sensors", {"environment": "production", "repository": "hello",
         "target": "greet", "arguments": [{"format": "json", "data": nested(500)}]}, "too_deep",
         "nested"),
    ],
)  # fmt: skip
async def test_bodies_past_the_bounds_are_refused_and_change_nothing(
    api: httpx.AsyncClient, path: str, body: dict[str, Any], reason: str, fragment: str
) -> None:
    await register(api)
    before = await state(api)
    response = await api.post(path, content=json.dumps(body).encode())
    assert_error(response, 400, reason)
    assert fragment in response.json()["error"]["message"]
    assert await state(api) == before


@pytest.mark.parametrize("path", [RUNS, MANIFESTS, "/api/projects"])
async def test_bodies_nested_thousands_deep_are_refused(api: httpx.AsyncClient, path: str) -> None:
    # Deeper than msgspec's own limit (Python's recursion limit): a 500 before.
    await register(api)
    before = await state(api)
    for body in (b"[" * 10_000 + b"]" * 10_000, json.dumps(run(data="X")).encode()):
        deep = body.replace(b'"X"', b"[" * 10_000 + b"]" * 10_000)
        assert_error(await api.post(path, content=deep), 400)
    assert await state(api) == before


async def test_a_value_at_the_depth_limit_is_accepted(api: httpx.AsyncClient) -> None:
    await register(api)
    response = await api.post(RUNS, json=run(data=nested(protocol.MAX_VALUE_DEPTH)))
    assert response.status_code == 201, response.text
