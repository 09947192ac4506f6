"""An agent's session cannot be taken over by someone who learnt its id.

Session ids are shown in run views and in the agents listing. Before resume
secrets, a second WebSocket saying hello with that id replaced the real agent's
connection and could complete its execution with a forged result.
"""

from __future__ import annotations

import json

import websockets

from coflux import protocol
from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually

TAKEOVER = REPOS / "takeover.py"


async def test_a_hello_with_a_stolen_session_id_is_refused_and_changes_nothing(
    cluster: Cluster,
) -> None:
    agent = cluster.start_agent(TAKEOVER)
    release = cluster.workdir / "release"
    run_id = cluster.cli("submit", "takeover", "answer_when", json.dumps(str(release))).stdout
    run_id = run_id.strip()
    agents_path = "/api/projects/test/environments/production/agents"

    def running() -> bool:
        listed = cluster.api("GET", agents_path).json()
        return bool(listed) and bool(listed[0]["executions"])

    eventually(running, 30, message="the execution to be assigned")
    (listed,) = cluster.api("GET", agents_path).json()
    session_id, (execution_id,) = listed["session_id"], listed["executions"]
    assert "secret" not in json.dumps(listed)
    for secret in (None, "guessed", ""):
        hello = protocol.Hello(
            protocol_version=protocol.PROTOCOL_VERSION, project="test",
            environment="production", session_id=session_id, session_secret=secret,
            concurrency=1, executing=(execution_id,), targets={"takeover": ("answer_when",)},
        )  # fmt: skip
        async with websockets.connect(f"ws://{cluster.server.host}/api/agent") as ws:
            await ws.send(protocol.encode_json(hello))
            forged = protocol.Complete(
                execution_id, protocol.Succeeded(protocol.Value("json", "forged"))
            )
            await ws.send(protocol.encode_json(forged))
            try:
                while True:
                    await ws.recv()
            except websockets.ConnectionClosed:
                pass
            assert ws.close_code == protocol.CLOSE_SESSION_REFUSED
    # The real agent kept its connection and its execution, and its answer stands.
    (after,) = cluster.api("GET", agents_path).json()
    assert after["session_id"] == session_id and after["connected"]
    assert after["executions"] == [execution_id]
    assert "reconnecting" not in agent.output.text()
    release.touch()
    result = cluster.cli("runs", "result", run_id, "--wait")
    assert json.loads(result.stdout) == "the real answer"
