"""Names and blob keys are checked in full: a trailing newline is refused too.

Python's ``$`` matches before a final newline, so a pattern checked with
``re.match`` (or msgspec's ``pattern=``, which searches) let "abc\\n" through:
projects, environments, repositories and targets were created with it, and a
value's blob key could be a sha256 followed by a newline. Each is now a 400
naming the field, and nothing changes.
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from coflux import protocol
from tests.api.agent_server import (
    Server,
    serving,  # noqa: F401 (the server fixture)
)
from tests.api.agent_socket import AgentSocket
from tests.api.test_agent_frames import execution_assigned, welcomed
from tests.api.test_validation import RUN, assert_error, register, state

KEY = hashlib.sha256(b"content").hexdigest()
MANIFESTS = "/api/projects/demo/environments/production/manifests"


def manifest(repository: str = "named", target: str = "t") -> dict[str, Any]:
    return {
        "manifests": [{"repository": repository, "targets": [{"name": target, "type": "task"}]}]
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "reason"),
    [
        ("POST", "/api/projects", {"name": "abc\n"}, "invalid_name"),
        ("POST", "/api/projects/demo/environments", {"name": "staging\n"}, "invalid_name"),
        ("PATCH", "/api/projects/demo/environments/dev", {"name": "dev2\n"}, "invalid_name"),
        ("POST", MANIFESTS, manifest(repository="named\n"), "invalid_repository"),
        ("POST", MANIFESTS, manifest(repository="a.b\n"), "invalid_repository"),
        ("POST", MANIFESTS, manifest(target="t\n"), "invalid_target"),
        ("POST", "/api/projects/demo/runs",
         {**RUN, "arguments": [{"format": "json", "blob": KEY + "\n"}]}, "invalid_body"),
        ("POST", "/api/projects/demo/sensors",
         {**RUN, "arguments": [{"format": "json", "blob": KEY + "\n"}]}, "invalid_body"),
    ],
)  # fmt: skip
async def test_a_trailing_newline_is_refused_and_changes_nothing(
    api: httpx.AsyncClient, method: str, path: str, body: dict[str, Any], reason: str
) -> None:
    await register(api)
    before = await state(api)
    response = await api.request(method, path, json=body)
    assert_error(response, 400, reason)
    assert await state(api) == before


async def test_the_same_names_without_the_newline_are_accepted(api: httpx.AsyncClient) -> None:
    assert (await api.post("/api/projects", json={"name": "abc"})).status_code == 201
    created = await api.post("/api/projects/demo/environments", json={"name": "staging"})
    assert created.status_code == 201
    assert (await api.post(MANIFESTS, json=manifest(repository="a.b"))).status_code == 200


@pytest.mark.parametrize(
    ("repository", "target"), [("hello\n", "greet"), ("hello", "shout\n")], ids=["repo", "target"]
)
async def test_an_agent_call_with_a_trailing_newline_is_refused(
    server: Server, repository: str, target: str
) -> None:
    async with server.agent() as agent:
        await welcomed(agent)
        submitted = await server.api.post("/api/projects/demo/runs", json=RUN)
        assert submitted.status_code == 201, submitted.text
        run_id = submitted.json()["run_id"]
        execution_id = await execution_assigned(agent)
        call = protocol.Submit(
            request_id=7, parent_execution_id=execution_id, call_index=0,
            repository=repository, target=target, type="task", arguments=(),
        )  # fmt: skip
        await agent.send(protocol.encode_json(call))
        reply = await _reply(agent)
        assert isinstance(reply, protocol.Submitted) and reply.request_id == 7
        assert reply.execution_id is None and reply.error is not None
        assert "invalid" in reply.error.message
    run = (await server.api.get(f"/api/projects/demo/runs/{run_id}")).json()
    assert len(run["steps"]) == 1  # no step was added


async def _reply(agent: AgentSocket) -> protocol.ServerMessage:
    while True:
        frame = await agent.receive()
        assert frame is not None, agent.close_reason
        for message in protocol.decode_server_frame(frame):
            if not isinstance(message, protocol.Execute):
                return message


def test_a_blob_key_followed_by_a_newline_is_not_a_blob_key() -> None:
    encoded = protocol.encode_json(protocol.Value(format="json", blob=KEY))
    assert protocol.decode_agent_frame(
        b'{"tag": "checkpoint", "execution_id": "r:1:1", "arguments": [' + encoded + b"]}"
    )
    with pytest.raises(protocol.ProtocolError, match="blob"):
        protocol.decode_agent_frame(
            b'{"tag": "checkpoint", "execution_id": "r:1:1", "arguments": '
            b'[{"format": "json", "blob": "' + KEY.encode() + b'\\n"}]}'
        )
