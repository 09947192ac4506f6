"""A schema-driven fuzzer of the HTTP API: schemathesis, from ``/api/openapi.json``.

For every route of the OpenAPI document, schemathesis generates requests that
fit its schema (positive) and requests that do not (negative), and each is sent
to the real app in-process. Every answer must be: no 5xx, within a time bound
(no hang), conforming to the document (status, content type, body schema),
a 4xx for data the schema forbids, and, when it is a 4xx, a request that changed
nothing (the state a client can see is the same before and after).

Examples per route and mode: ``COFLUX_FUZZ_EXAMPLES`` (default 25), so the
suite stays fast while a longer hunt is one variable away.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import os
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from coflux import protocol
from coflux.server.app import API, _package_version
from coflux.server.openapi import build_openapi
from tests.api.test_validation import register

EXAMPLES = int(os.environ.get("COFLUX_FUZZ_EXAMPLES", "25"))
# Only a hang detector: every route answers at once, or after its ``wait``
# (clamped below), so a request that takes this long is stuck.
HANG = 30.0
MAX_WAIT = 0.2  # seconds a fuzzed ``wait`` may ask for (the routes allow 60)

DOCUMENT = build_openapi(API, _package_version())
SCHEMA = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT))  # it edits what it is given


def _negatable(operation: dict[str, Any]) -> bool:
    # Data that breaks the schema exists only for bodies and typed query parameters.
    typed = [p for p in operation["parameters"] if p["schema"]["type"] != "string"]
    return "requestBody" in operation or bool(typed)


POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
OPERATIONS = [
    (method.upper(), path, mode)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    for mode in ([POSITIVE, NEGATIVE] if _negatable(operation) else [POSITIVE])
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Known names for the path parameters, so that generated requests also reach
# past the project and environment look-ups into the handlers.
KNOWN = {"project": st.just("demo"), "environment": st.sampled_from(["production", "dev"])}


async def snapshot(api: httpx.AsyncClient) -> Any:
    """What a client can see of the server's state (every project's, not only demo's)."""
    projects = (await api.get("/api/projects")).json()
    seen: list[Any] = [projects]
    for project in projects:
        base = f"/api/projects/{project['id']}"
        environments = (await api.get(base + "/environments")).json()
        seen += [environments, (await api.get(base + "/runs")).json()]
        seen.append((await api.get(base + "/sensors")).json())
        for environment in environments:
            path = f"{base}/environments/{environment['name']}/manifests"
            seen.append((await api.get(path)).json())
    return seen


def cases(method: str, path: str, mode: GenerationMode) -> st.SearchStrategy[Any]:
    operation = SCHEMA[path][method]
    fixed = {name: value for name, value in KNOWN.items() if "{" + name + "}" in path}
    generated = operation.as_strategy(generation_mode=mode)
    if not fixed:
        return generated
    known = st.fixed_dictionaries(fixed).flatmap(
        lambda names: operation.as_strategy(generation_mode=mode, path_parameters=names)
    )
    return generated | known


def clamp_wait(case: Any) -> None:
    # A long ``wait`` on a real run holds the request by design; keep it short.
    query = case.query
    if query and isinstance(query.get("wait"), int | float) and math.isfinite(query["wait"]):
        query["wait"] = min(query["wait"], MAX_WAIT)


@pytest.mark.parametrize(
    ("method", "path", "mode"), OPERATIONS, ids=[f"{m} {p} {mode}" for m, p, mode in OPERATIONS]
)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_generated_requests_are_answered_within_the_document(
    api: httpx.AsyncClient, method: str, path: str, mode: GenerationMode, data: st.DataObject
) -> None:
    if (await api.get("/api/projects/demo/environments/production/manifests")).json() == []:
        await register(api)
    case = data.draw(cases(method, path, mode))
    clamp_wait(case)
    kwargs = case.as_transport_kwargs(base_url=str(api.base_url))
    request = api.build_request(
        kwargs["method"],
        kwargs["url"],
        params=kwargs.get("params"),
        headers=kwargs.get("headers"),
        content=_content(kwargs),
    )
    mutating = method != "GET"
    before = await snapshot(api) if mutating else None
    response = await asyncio.wait_for(api.send(request), HANG)
    case.validate_response(response, checks=CHECKS)
    if mutating and 400 <= response.status_code < 500:
        assert await snapshot(api) == before, f"{case.as_curl_command()} changed the state"


def _content(kwargs: dict[str, Any]) -> bytes | None:
    # schemathesis prepares a body for ``requests``: JSON, raw data, or nothing.
    if "json" in kwargs:
        return json.dumps(kwargs["json"]).encode()
    raw = kwargs.get("data")
    if raw is None:
        return None
    return raw if isinstance(raw, bytes) else str(raw).encode()


async def test_the_fuzzed_document_is_the_served_one(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/openapi.json")).json() == json.loads(json.dumps(DOCUMENT))


async def test_the_document_shows_the_protocols_bounds(api: httpx.AsyncClient) -> None:
    schemas = (await api.get("/api/openapi.json")).json()["components"]["schemas"]
    assert schemas["Value"]["properties"]["size"] == {
        "type": "integer", "minimum": 0, "maximum": protocol.MAX_SAFE_INT, "default": 0,
    }  # fmt: skip
    retries = schemas["RetryOptions"]["properties"]["limit"]  # a number, or null: no limit
    assert {"type": "null"} in retries["anyOf"]
    assert [s["maximum"] for s in retries["anyOf"] if "maximum" in s] == [protocol.MAX_RETRIES]
    assert schemas["CreateProject"]["properties"]["name"]["maxLength"] == protocol.MAX_NAME
