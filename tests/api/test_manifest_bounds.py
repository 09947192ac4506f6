"""Every number of a target's options is bounded, wherever options come in.

Options arrive in manifests (``POST .../manifests``, which agents use to
register) and in an agent's calls (``Submit.options``); ``Hello`` and
``Declare`` carry only names. A negative or out-of-range retry limit, delay,
cache age or parameter position is refused at decode time: a 400 naming the
field over HTTP, the socket closed with the bad-message code from an agent.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from coflux import protocol
from tests.api.agent_server import (
    Server,
    serving,  # noqa: F401 (the server fixture)
)
from tests.api.test_agent_frames import execution_assigned, welcomed
from tests.api.test_validation import RUN, assert_error, register, state

MANIFESTS = "/api/projects/demo/environments/production/manifests"
BEYOND = protocol.MAX_PARAMETERS

BAD_OPTIONS: list[tuple[dict[str, Any], str]] = [
    ({"retries": {"limit": -1}}, "limit"),
    ({"retries": {"limit": protocol.MAX_RETRIES + 1}}, "limit"),
    ({"retries": {"limit": 1, "delay_min": -1.0}}, "delay_min"),
    ({"retries": {"limit": 1, "delay_max": -0.5}}, "delay_max"),
    ({"retries": {"limit": 1, "delay_max": protocol.MAX_SECONDS * 2}}, "delay_max"),
    ({"delay": -1.0}, "delay"),
    ({"cache": {"max_age": -1.0}}, "max_age"),
    ({"cache": {"params": [-1]}}, "params"),
    ({"cache": {"params": [BEYOND]}}, "params"),
    ({"defer": {"params": [-1]}}, "params"),
    ({"wait": [-1]}, "wait"),
    ({"wait": [BEYOND]}, "wait"),
    ({"memo": [-2]}, "memo"),
    ({"memo": [BEYOND]}, "memo"),
]
IDS = [f"{next(iter(o))}-{field}-{i}" for i, (o, field) in enumerate(BAD_OPTIONS)]


@pytest.mark.parametrize(("options", "field"), BAD_OPTIONS, ids=IDS)
async def test_a_manifest_with_an_option_out_of_range_is_refused(
    api: httpx.AsyncClient, options: dict[str, Any], field: str
) -> None:
    await register(api)
    before = await state(api)
    target = {"name": "t", "type": "task", "options": options}
    response = await api.post(
        MANIFESTS, json={"manifests": [{"repository": "r", "targets": [target]}]}
    )
    assert_error(response, 400, "invalid_body")
    assert field in response.json()["error"]["message"]
    assert await state(api) == before


@pytest.mark.parametrize(("options", "field"), BAD_OPTIONS, ids=IDS)
async def test_an_agents_call_with_an_option_out_of_range_is_a_bad_message(
    server: Server, options: dict[str, Any], field: str
) -> None:
    async with server.agent() as agent:
        await welcomed(agent)
        submitted = await server.api.post("/api/projects/demo/runs", json=RUN)
        run_id = submitted.json()["run_id"]
        execution_id = await execution_assigned(agent)
        call = protocol.Submit(
            request_id=1, parent_execution_id=execution_id, call_index=0,
            repository="hello", target="shout", type="task", arguments=(),
        )  # fmt: skip
        fields = json.loads(protocol.encode_json(call))
        await agent.send(json.dumps({**fields, "options": options}).encode())
        assert await agent.closed() == protocol.CLOSE_BAD_MESSAGE
        assert field in agent.close_reason
    run = (await server.api.get(f"/api/projects/demo/runs/{run_id}")).json()
    assert len(run["steps"]) == 1
    assert await server.serves()
