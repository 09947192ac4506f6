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


async def test_an_agent_cannot_write_into_another_agents_execution(cluster: Cluster) -> None:
    """A second, legitimate agent of the same environment speaks for the first's
    running execution: every message is refused and nothing is recorded."""
    cluster.start_agent(TAKEOVER)
    release = cluster.workdir / "release"
    submitted = cluster.cli("submit", "takeover", "answer_when", json.dumps(str(release)))
    run_id = submitted.stdout.strip()
    agents_path = "/api/projects/test/environments/production/agents"
    eventually(
        lambda: any(a["executions"] for a in cluster.api("GET", agents_path).json()),
        30,
        message="the execution to be assigned",
    )
    (victim,) = [a for a in cluster.api("GET", agents_path).json() if a["executions"]]
    (execution_id,) = victim["executions"]
    forged = protocol.Value("json", "forged")
    hello = protocol.Hello(
        protocol_version=protocol.PROTOCOL_VERSION, project="test", environment="production",
        concurrency=1, targets={"takeover": ("answer_when",)},
    )  # fmt: skip
    attacks: list[protocol.AgentMessage] = [
        protocol.Logs((protocol.LogEntry(execution_id, 1.0e9, "info", "forged log line"),)),
        protocol.Checkpoint(execution_id, (forged,)),
        protocol.Submit(
            request_id=1,
            parent_execution_id=execution_id,
            call_index=0,
            repository="takeover",
            target="answer_when",
            type="workflow",
            arguments=(forged,),
        ),
        protocol.GetResult(2, execution_id, from_execution_id=execution_id),
        protocol.CancelExecution(execution_id, from_execution_id=execution_id),
        protocol.Complete(execution_id, protocol.Succeeded(forged)),
    ]
    replies: list[protocol.ServerMessage] = []
    async with websockets.connect(f"ws://{cluster.server.host}/api/agent") as ws:
        await ws.send(protocol.encode_json(hello))
        replies += protocol.decode_server_frame(await ws.recv())
        await ws.send(protocol.encode_frame(attacks))
        # The Complete is answered with an Ack (so an agent stops resending it) and
        # nothing else; the submission is refused; the rest get no answer at all.
        while not any(isinstance(m, protocol.Ack) for m in replies):
            replies += protocol.decode_server_frame(await ws.recv())
    submitted_replies = [m for m in replies if isinstance(m, protocol.Submitted)]
    assert all(m.error is not None for m in submitted_replies)
    run = cluster.api("GET", f"/api/projects/test/runs/{run_id}").json()
    assert [s["target"] for s in run["steps"]] == ["answer_when"]  # no forged child
    (execution,) = run["steps"][0]["executions"]
    assert execution["state"] == "assigned"
    logs = cluster.api("GET", f"/api/projects/test/runs/{run_id}/logs").json()["logs"]
    assert not [entry for entry in logs if "forged" in json.dumps(entry)]
    release.touch()
    result = cluster.cli("runs", "result", run_id, "--wait")
    assert json.loads(result.stdout) == "the real answer"
