"""Live views: the project topic streams facts; the agents endpoint shows sessions."""

from __future__ import annotations

import asyncio
import json

import websockets

from tests.support.cluster import EXAMPLES, Cluster


async def test_project_topic_sends_a_snapshot_then_facts(cluster: Cluster) -> None:
    cluster.start_agent(EXAMPLES / "hello.py")
    async with websockets.connect(f"ws://{cluster.server.host}/api/live") as ws:
        await ws.send(json.dumps({"subscribe": "project", "project": "test"}))
        snapshot = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert [e["name"] for e in snapshot["snapshot"]["environments"]] == ["production"]
        submitted = await asyncio.to_thread(
            cluster.cli, "submit", "hello", "print_greeting", '"Live"'
        )
        run_id = submitted.stdout.strip()
        seen: list[str] = []
        while "run" not in seen or "outcome" not in seen:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert message["topic"] == "project"
            seen += [f["fact"] for f in message["facts"] if f.get("run_id") == run_id]
        assert "logs" not in seen


async def test_a_bad_subscription_is_refused_with_a_reason(cluster: Cluster) -> None:
    async with websockets.connect(f"ws://{cluster.server.host}/api/live") as ws:
        await ws.send(json.dumps({"subscribe": "run", "project": "test"}))
        assert json.loads(await ws.recv())["error"]["reason"] == "missing_run_id"
    async with websockets.connect(f"ws://{cluster.server.host}/api/live") as ws:
        await ws.send(json.dumps({"subscribe": "run", "project": "test", "run_id": "nope"}))
        assert json.loads(await ws.recv())["error"]["reason"] == "unknown_run"
    async with websockets.connect(f"ws://{cluster.server.host}/api/live") as ws:
        await ws.send("{")
        assert json.loads(await ws.recv())["error"]["reason"] == "bad_subscription"


def test_agents_endpoint_lists_connected_sessions(cluster: Cluster) -> None:
    cluster.start_agent(
        EXAMPLES / "hello.py", args=["--concurrency", "3", "--provides", "gpu=A100,H100"]
    )
    agents = cluster.api("GET", "/api/projects/test/environments/production/agents").json()
    (agent,) = agents
    assert agent["connected"] is True and agent["concurrency"] == 3
    assert agent["provides"] == {"gpu": ["A100", "H100"]}
    assert agent["targets"] == {"hello": ["build_greeting", "count_letters", "print_greeting"]}
