"""The agent WebSocket refuses other protocol versions and malformed messages, by name."""

from __future__ import annotations

import asyncio

import pytest
import websockets

from coflux import protocol
from tests.support.cluster import Cluster


async def close_of(cluster: Cluster, *frames: bytes | str) -> tuple[int, str]:
    async with websockets.connect(f"ws://{cluster.server.host}/api/agent") as ws:
        for frame in frames:
            await ws.send(frame)
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        assert ws.close_code is not None
        return ws.close_code, ws.close_reason or ""


def hello(**overrides: object) -> bytes:
    fields: dict[str, object] = {
        "protocol_version": protocol.PROTOCOL_VERSION, "project": "test",
        "environment": "production", "targets": {"hello": ("print_greeting",)},
    }  # fmt: skip
    fields.update(overrides)
    return protocol.encode_json(protocol.Hello(**fields))  # type: ignore[arg-type]


async def test_another_protocol_version_is_closed_with_a_reason(cluster: Cluster) -> None:
    code, reason = await close_of(cluster, hello(protocol_version=99))
    assert code == protocol.CLOSE_PROTOCOL_MISMATCH
    assert "protocol version" in reason and "99" in reason


@pytest.mark.parametrize(
    ("frames", "code", "fragment"),
    [
        ((b"not json",), protocol.CLOSE_BAD_HANDSHAKE, "hello"),
        ((b'{"tag": "hello"}',), protocol.CLOSE_BAD_HANDSHAKE, "hello"),
        (
            (protocol.encode_json(protocol.Declare(targets={})),),
            protocol.CLOSE_BAD_HANDSHAKE,
            "hello",
        ),
    ],
)
async def test_a_bad_handshake_is_closed_with_a_reason(
    cluster: Cluster, frames: tuple[bytes, ...], code: int, fragment: str
) -> None:
    got_code, reason = await close_of(cluster, *frames)
    assert got_code == code and fragment in reason


async def test_unknown_project_and_environment_are_refused(cluster: Cluster) -> None:
    code, reason = await close_of(cluster, hello(project="nope"))
    assert code == protocol.CLOSE_UNKNOWN_PROJECT and "nope" in reason
    code, reason = await close_of(cluster, hello(environment="nope"))
    assert code == protocol.CLOSE_UNKNOWN_ENVIRONMENT and "nope" in reason


async def test_a_malformed_message_after_the_handshake_closes_the_session(cluster: Cluster) -> None:
    async with websockets.connect(f"ws://{cluster.server.host}/api/agent") as ws:
        await ws.send(hello())
        (welcome,) = protocol.decode_server_frame(await ws.recv())
        assert isinstance(welcome, protocol.Welcome)
        await ws.send(b'{"tag": "complete", "execution_id": 5}')
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        assert ws.close_code == protocol.CLOSE_BAD_MESSAGE
    # The server is unharmed.
    assert cluster.cli("runs", "list").returncode == 0


def test_an_agent_of_another_version_exits_with_the_reason(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real agent, made to speak version 99 through an environment-independent hook:
    # we run it with a sitecustomize that patches the constant before the agent starts.
    import tempfile
    from pathlib import Path

    hook = Path(tempfile.mkdtemp()) / "sitecustomize.py"
    hook.write_text("import coflux.protocol as p\np.PROTOCOL_VERSION = 99\n")
    env = cluster.env(PYTHONPATH=str(hook.parent))
    from tests.support.cluster import EXAMPLES, Process, coflux_command

    agent = Process(coflux_command("agent", str(EXAMPLES / "hello.py")), env, cluster.workdir)
    agent.start()
    cluster.agents.append(agent)
    assert agent.popen.wait(30) == 1
    assert "protocol version mismatch" in agent.output.text()
