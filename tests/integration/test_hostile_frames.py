"""Hostile agent frames against the real server (uvicorn's WebSocket layer included).

A frame past the gateway's size limit, or nested thousands deep, is closed with
the protocol's bad-message code, and a hello out of bounds as a bad handshake;
the project serves on.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from coflux import protocol
from tests.support.cluster import Cluster

HELLO = {"tag": "hello", "protocol_version": protocol.PROTOCOL_VERSION, "project": "test",
         "environment": "production", "targets": {"hello": ["print_greeting"]}}  # fmt: skip


async def close_of(cluster: Cluster, *frames: bytes) -> int:
    url = f"ws://{cluster.server.host}/api/agent"
    async with websockets.connect(url, max_size=None) as ws:
        for frame in frames:
            await ws.send(frame)
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 30)
        assert ws.close_code is not None
        return ws.close_code


def serves(cluster: Cluster) -> bool:
    response = cluster.api("GET", "/api/projects/test/environments/production/agents")
    return response.status_code == 200


@pytest.mark.parametrize(
    "frame",
    [
        b'{"tag": "checkpoint", "execution_id": "r:1:1", "arguments": [{"format": "json", "data": "'
        + b"x" * (protocol.MAX_FRAME_BYTES + 1)
        + b'"}]}',
        b'{"tag": "checkpoint", "execution_id": "r:1:1", "arguments": [{"format": "json", "data": '
        + b"[" * 10_000
        + b"]" * 10_000
        + b"}]}",
    ],
    ids=["oversized", "deep"],
)
async def test_a_hostile_frame_is_closed_as_a_bad_message(cluster: Cluster, frame: bytes) -> None:
    code = await close_of(cluster, json.dumps(HELLO).encode(), frame)
    assert code == protocol.CLOSE_BAD_MESSAGE
    assert serves(cluster)


async def test_a_hello_past_the_bounds_is_a_bad_handshake(cluster: Cluster) -> None:
    # It ended the project's actor: 2**63 does not fit SQLite's integers.
    code = await close_of(cluster, json.dumps({**HELLO, "concurrency": 2**63}).encode())
    assert code == protocol.CLOSE_BAD_HANDSHAKE
    assert serves(cluster)
    assert cluster.cli("runs", "list").returncode == 0
