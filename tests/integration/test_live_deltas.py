"""The run topic with ``"deltas": true``: the snapshot and its deltas make the view
the API reads once the run has ended, and no fact the view shows is sent as one."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets

from tests.support.cluster import EXAMPLES, Cluster

VIEW_FACTS = {"step", "execution", "transition", "link", "outcome", "logs"}


def _apply(view: dict[str, Any], delta: dict[str, Any]) -> None:
    """A client's application of a delta (JSON) to the run's view (JSON)."""
    steps: list[dict[str, Any]] = view["steps"]
    kind = delta["delta"]
    if kind == "step_added" and all(s["id"] != delta["step"]["id"] for s in steps):
        steps.append(delta["step"])
    elif kind == "execution_added":
        executions = next(s for s in steps if s["id"] == delta["step_id"])["executions"]
        if all(e["id"] != delta["execution"]["id"] for e in executions):
            executions.append(delta["execution"])
    elif kind == "execution_changed":
        execution = next(
            e for s in steps for e in s["executions"] if e["id"] == delta["execution_id"]
        )
        transition = delta.get("transition")
        if transition is not None and transition in execution["transitions"]:
            return  # a repeat
        if transition is not None:
            execution["transitions"].append(transition)
        if delta.get("state", "queued") != "queued":
            execution.pop("queued_reason", None)  # the server's reason, read with the view
        for name in ("state", "assigned_at", "completed_at", "session_id", "outcome", "successor"):
            if name in delta:
                execution[name] = delta[name]


async def test_deltas_make_the_view_the_api_reads(cluster: Cluster) -> None:
    # With no agent yet, the run waits queued: it is still to happen when the
    # subscription starts, so every change of it arrives as a delta.
    assert cluster.cli("register", str(EXAMPLES / "hello.py")).returncode == 0
    submitted = await asyncio.to_thread(cluster.cli, "submit", "hello", "print_greeting", '"Live"')
    run_id = submitted.stdout.strip()
    subscription = {"subscribe": "run", "project": "test", "run_id": run_id, "deltas": True}
    async with websockets.connect(f"ws://{cluster.server.host}/api/live") as ws:
        await ws.send(json.dumps(subscription))
        view = json.loads(await asyncio.wait_for(ws.recv(), 10))["snapshot"]
        await asyncio.to_thread(cluster.start_agent, EXAMPLES / "hello.py")
        kinds: set[str] = set()
        lines: list[str] = []
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 20))
            if message.get("ended"):
                break
            assert not {f["fact"] for f in message["facts"]} & VIEW_FACTS
            for delta in message["deltas"]:
                kinds.add(delta["delta"])
                if delta["delta"] == "logs_added":
                    lines += [entry["template"] for entry in delta["entries"]]
                else:
                    _apply(view, delta)
    stored = cluster.api("GET", f"/api/projects/test/runs/{run_id}").json()
    assert view["steps"] == stored["steps"]
    assert {"step_added", "execution_added", "execution_changed"} <= kinds
    assert len(view["steps"]) > 1 and lines
