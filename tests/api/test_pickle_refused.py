"""Arguments from outside an execution never carry a pickle: a 400 naming the argument,
and nothing recorded (docs/values.md, "Trust model"). Before, each of these started a
run or a sensor whose executor would unpickle the argument
(tests/integration/test_pickle_trust.py shows that against a real agent)."""

from __future__ import annotations

import base64
import pickle
from typing import Any

import httpx
import pytest

from tests.api.test_validation import HELLO, assert_error, state

PAYLOAD = base64.b64encode(pickle.dumps(("any", "pickle"))).decode()
TAG = {"$": "pickle", "t": "builtins.tuple", "v": PAYLOAD}
SENSOR = {"name": "watch", "type": "sensor", "parameters": [{"name": "value"}]}
PLAIN = {"format": "json", "data": "Joe"}


async def register_sensor(api: httpx.AsyncClient) -> None:
    manifest = {**HELLO, "targets": [*HELLO["targets"], SENSOR]}
    response = await api.post(
        "/api/projects/demo/environments/production/manifests", json={"manifests": [manifest]}
    )
    assert response.status_code == 200, response.text


def body(target: str, *arguments: dict[str, Any]) -> dict[str, Any]:
    return {"environment": "production", "repository": "hello", "target": target,
            "arguments": list(arguments)}  # fmt: skip


async def sensors(api: httpx.AsyncClient) -> Any:
    return (await api.get("/api/projects/demo/sensors")).json()


@pytest.mark.parametrize(
    ("argument", "reason", "message"),
    [
        ({"format": "pickle", "data": PAYLOAD}, "pickle_refused", "arguments[0] is a pickle"),
        ({"format": "json", "data": TAG}, "pickle_refused", "arguments[0] is a pickle"),
        ({"format": "json", "data": {"a": [1, TAG]}}, "pickle_refused",
         "arguments[0] holds a pickle at $.a[1]"),
        ({"format": "json", "data": {"$": "tuple", "v": [TAG]}}, "pickle_refused",
         "arguments[0] holds a pickle at $.v[0]"),
        # Decoding a pydantic tag imports the module it names (any module the agent has).
        ({"format": "json", "data": {"k": {"$": "pydantic", "t": "antigravity.Model", "v": {}}}},
         "import_refused", "arguments[0] names a pydantic class to import at $.k"),
        ({"format": "json", "blob": "ab" * 32, "size": 300}, "blob_refused",
         "arguments[0] refers to the blob store"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("route", ["runs", "sensors"])
async def test_outside_arguments_that_would_be_unpickled_are_refused(
    api: httpx.AsyncClient, route: str, argument: dict[str, Any], reason: str, message: str
) -> None:
    await register_sensor(api)
    before = await state(api), await sensors(api)
    if route == "runs":
        response = await api.post("/api/projects/demo/runs", json=body("greet", argument))
    else:
        response = await api.post("/api/projects/demo/sensors", json=body("watch", argument))
    assert_error(response, 400, reason)
    assert response.json()["error"]["message"].startswith(message)
    assert (await state(api), await sensors(api)) == before


async def test_the_refusal_names_the_argument_that_holds_the_pickle(
    api: httpx.AsyncClient,
) -> None:
    two = {**HELLO["targets"][0], "name": "pair", "parameters": [{"name": "a"}, {"name": "b"}]}
    manifest = {**HELLO, "targets": [*HELLO["targets"], two]}
    registered = await api.post(
        "/api/projects/demo/environments/production/manifests", json={"manifests": [manifest]}
    )
    assert registered.status_code == 200, registered.text
    before = await state(api)
    response = await api.post(
        "/api/projects/demo/runs", json=body("pair", PLAIN, {"format": "json", "data": [TAG]})
    )
    assert_error(response, 400, "pickle_refused")
    assert response.json()["error"]["message"].startswith("arguments[1] holds a pickle at $[0]")
    assert await state(api) == before


async def test_json_arguments_still_start_runs_and_sensors(api: httpx.AsyncClient) -> None:
    # An escaped plain dict with a "$" key is data, not a tag: accepted.
    await register_sensor(api)
    escaped = {"format": "json", "data": {"$": "dict", "v": [["$", "pickle"], ["v", PAYLOAD]]}}
    for argument in (PLAIN, escaped):
        started = await api.post("/api/projects/demo/runs", json=body("greet", argument))
        assert started.status_code == 201, started.text
    sensor = await api.post("/api/projects/demo/sensors", json=body("watch", escaped))
    assert sensor.status_code == 201, sensor.text
    assert len((await api.get("/api/projects/demo/runs")).json()) == 3
