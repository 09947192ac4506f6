"""Hostile agent frames: the socket is closed with a named code, the project serves on.

A frame that cannot be decoded (nested thousands deep, over the size limit, a
number past its bound) closes the connection with ``CLOSE_BAD_HANDSHAKE`` (as
the first frame) or ``CLOSE_BAD_MESSAGE``; nothing reaches the project's actor,
so the project goes on answering (a 404 for an unknown repository, not a 503).
A fuzzer then sends well-formed and hostile messages after a real handshake,
naming a real execution, and checks the same. Examples: ``COFLUX_FUZZ_EXAMPLES``
(default 40: each opens a session and starts a run).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coflux import protocol
from tests.api.agent_server import (
    Server,
    serving,  # noqa: F401 (the server fixture)
)
from tests.api.agent_socket import AgentSocket
from tests.api.test_validation import RUN
from tests.support.wire import wire

EXAMPLES = int(os.environ.get("COFLUX_FUZZ_EXAMPLES", "40"))
HELLO_FIELDS: dict[str, Any] = {
    "tag": "hello", "protocol_version": protocol.PROTOCOL_VERSION, "project": "demo",
    "environment": "production", "targets": {"hello": ["greet", "shout"]},
}  # fmt: skip
NOT_HELLO = [m for m in protocol.AgentMessage.__args__ if m is not protocol.Hello]
MESSAGES = st.one_of([wire(m) for m in NOT_HELLO] + [wire(m, hostile=True) for m in NOT_HELLO])
ID_FIELDS = ("execution_id", "parent_execution_id", "from_execution_id")


def hello(**fields: Any) -> bytes:
    return json.dumps({**HELLO_FIELDS, **fields}).encode()


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def checkpoint(data: bytes) -> bytes:
    return (
        b'{"tag": "checkpoint", "execution_id": "r:1:1", "arguments": [{"format": "json", "data": '
        + data
        + b"}]}"
    )


async def welcomed(agent: AgentSocket) -> protocol.Welcome:
    await agent.send(hello())
    frame = await agent.receive()
    assert frame is not None, agent.close_reason
    welcome = protocol.decode_server_frame(frame)[0]
    assert isinstance(welcome, protocol.Welcome)
    return welcome


@pytest.mark.parametrize(
    "first",
    [
        hello(concurrency=2**63),  # ended the project's actor: an OverflowError at the commit
        hello(max_executors=2**64),
        hello(executing=["x" * (protocol.MAX_NAME + 1)]),
        nested(5_000),
        b'{"tag": "hello", "project": ' * 5_000,
        hello(provides={"k": json.loads(nested(3))}),
    ],
    ids=["concurrency", "max_executors", "long id", "deep", "deep object", "wrong shape"],
)
async def test_a_bad_hello_is_closed_as_a_bad_handshake(server: Server, first: bytes) -> None:
    async with server.agent() as agent:
        await agent.send(first)
        assert await agent.closed() == protocol.CLOSE_BAD_HANDSHAKE
        assert agent.close_reason
    assert await server.serves()
    agents = await server.api.get("/api/projects/demo/environments/production/agents")
    assert agents.json() == []


@pytest.mark.parametrize(
    "frame",
    [
        nested(5_000),
        checkpoint(nested(5_000)),
        checkpoint(nested(protocol.MAX_VALUE_DEPTH + 1)),
        checkpoint(b'"' + b"x" * protocol.MAX_FRAME_BYTES + b'"'),
        b'{"tag": "submit", "request_id": 18446744073709551616}',
        hello(),  # only the first frame may be a hello
    ],
    ids=["deep", "deep value", "value past the limit", "oversized", "huge number", "hello"],
)
async def test_a_bad_frame_after_the_handshake_is_closed_as_a_bad_message(
    server: Server, frame: bytes
) -> None:
    async with server.agent() as agent:
        await welcomed(agent)
        await agent.send(frame)
        assert await agent.closed() == protocol.CLOSE_BAD_MESSAGE
        assert agent.close_reason.startswith("bad message")
    assert await server.serves()


async def test_a_value_at_the_limit_is_accepted(server: Server) -> None:
    async with server.agent() as agent:
        await welcomed(agent)
        await agent.send(checkpoint(nested(protocol.MAX_VALUE_DEPTH)))
        assert await server.serves()
        agent.drain()
        assert agent.close_code is None  # refused by the core (no such execution), not closed


async def execution_assigned(agent: AgentSocket) -> str:
    while True:
        frame = await agent.receive()
        assert frame is not None, agent.close_reason
        for message in protocol.decode_server_frame(frame):
            if isinstance(message, protocol.Execute):
                return message.execution_id


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_fuzzed_messages_never_stop_the_project(server: Server, data: st.DataObject) -> None:
    async with server.agent() as agent:
        await welcomed(agent)
        submitted = await server.api.post("/api/projects/demo/runs", json=RUN)
        assert submitted.status_code == 201, submitted.text
        execution_id = await execution_assigned(agent)
        for message in data.draw(st.lists(MESSAGES, min_size=1, max_size=4), label="messages"):
            if isinstance(message, dict):
                # Name the execution this session really holds, now and then.
                for field in ID_FIELDS:
                    if field in message and data.draw(st.booleans(), label=field):
                        message[field] = execution_id
            await agent.send(json.dumps(message).encode())
        assert await server.serves()
        for frame in agent.drain():
            protocol.decode_server_frame(frame)  # whatever it answered is well-formed
        assert agent.close_code in (None, protocol.CLOSE_BAD_MESSAGE), agent.close_reason
