"""Executions blocked in ``.result()`` do not hold their agent's concurrency, and a
queued step says why it waits."""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path

import pytest
import websockets

from coflux import protocol
from coflux.agent.settings import default_concurrency, default_max_executors
from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually
from tests.support.runs import inspect


def executor_count(agent_pid: int) -> int:
    """The agent's executor processes (its children) now."""
    children = 0
    for task in Path(f"/proc/{agent_pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            children += len((task / "children").read_text().split())
    return children


def test_a_nested_fan_out_completes_on_one_agent_with_default_settings(cluster: Cluster) -> None:
    # 1 -> 25 -> 10: 26 executions wait on children at once, far more than the
    # default concurrency (CPUs + 4) of the only agent.
    agent = cluster.start_agent(REPOS / "nested.py")
    counts: list[int] = []
    running = threading.Event()

    def sample() -> None:  # the executors stay within the default cap meanwhile
        while not running.wait(0.05):
            counts.append(executor_count(agent.popen.pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        done = cluster.cli("submit", "nested", "tree", "25", "10", "--wait", timeout=180)
    finally:
        running.set()
        sampler.join(10)
    assert 26 < max(counts) <= default_max_executors(default_concurrency())
    expected = sum(b * 100 + i for b in range(25) for i in range(10))
    assert done.returncode == 0, done.stderr + agent.output.text()
    assert json.loads(done.stdout) == expected
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    steps = inspect(cluster, run_id)["steps"]
    assert len(steps) == 1 + 25 + 250
    assert {s["executions"][-1]["state"] for s in steps} == {"succeeded"}


def test_a_step_requiring_a_tag_no_agent_provides_says_so_in_runs_inspect(
    cluster: Cluster,
) -> None:
    cluster.start_agent(REPOS / "semantics.py")
    run_id = cluster.cli("submit", "semantics", "needs_gpu").stdout.strip()
    why = "no agent that hosts semantics.on_gpu provides gpu=A100,H100"

    def shown() -> str | None:
        text = cluster.cli("runs", "inspect", run_id).stdout
        return text if why in text else None

    line = next(x for x in eventually(shown, 20).splitlines() if why in x)
    assert "semantics.on_gpu  queued" in line
    (on_gpu,) = [s for s in inspect(cluster, run_id)["steps"] if s["target"] == "on_gpu"]
    assert on_gpu["executions"][0]["queued_reason"] == why
    # Once an agent provides the tag, the step runs and the reason is gone.
    cluster.start_agent(REPOS / "semantics.py", args=["--provides", "gpu=H100"])
    assert cluster.cli("runs", "result", run_id, "--wait").returncode == 0
    (on_gpu,) = [s for s in inspect(cluster, run_id)["steps"] if s["target"] == "on_gpu"]
    assert "queued_reason" not in on_gpu["executions"][0]


async def test_an_agent_of_protocol_version_3_is_refused_as_too_old(cluster: Cluster) -> None:
    # Version 3 agents cannot prove they own a session when they resume it.
    hello = protocol.Hello(protocol_version=3, project="test", environment="production")
    async with websockets.connect(f"ws://{cluster.server.host}/api/agent") as ws:
        await ws.send(protocol.encode_json(hello))
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
    assert ws.close_code == protocol.CLOSE_PROTOCOL_MISMATCH
