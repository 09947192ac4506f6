"""Values may only hold handles to the project's own executions and assets.

A value lists the handles inside it (``Value.executions``, ``Value.assets``).
One naming an execution or asset that does not exist, or that belongs to
another project, was recorded as given: run arguments from the API, and from
an agent the arguments of a call and a result. Now the API answers 400
``unknown_handle`` naming the field, an agent's call is answered with an error,
its result is refused, and nothing is recorded. Handles that do exist (in a
running run, in a finished one, an asset) are accepted.
"""

from __future__ import annotations

import hashlib
from typing import Any, TypeVar

import httpx
import pytest

from coflux import protocol
from coflux.orchestration import events as ev
from coflux.orchestration import handles
from tests.api.agent_server import (
    Server,
    serving,  # noqa: F401 (the server fixture)
)
from tests.api.agent_socket import AgentSocket
from tests.api.test_agent_frames import execution_assigned, welcomed
from tests.api.test_validation import HELLO, RUN, assert_error, register, state

RUNS = "/api/projects/demo/runs"
M = TypeVar("M", bound=protocol.Record)
SENSOR = {"repository": "watch", "targets": [
    {"name": "poll", "type": "sensor", "parameters": [{"name": "since"}]}]}  # fmt: skip


def argument(executions: tuple[str, ...] = (), assets: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"format": "json", "data": "x", "executions": executions, "assets": assets}


def with_argument(**handles: tuple[str, ...]) -> dict[str, Any]:
    return {**RUN, "arguments": [argument(**handles)]}


async def other_projects_execution(api: httpx.AsyncClient) -> str:
    assert (await api.post("/api/projects", json={"name": "other"})).status_code == 201
    body = {"name": "production"}
    assert (await api.post("/api/projects/other/environments", json=body)).status_code == 201
    manifests = "/api/projects/other/environments/production/manifests"
    response = await api.post(manifests, json={"manifests": [HELLO]})
    assert response.status_code == 200, response.text
    run = await api.post("/api/projects/other/runs", json=RUN)
    assert run.status_code == 201, run.text
    return f"{run.json()['run_id']}:1:1"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (RUNS, with_argument(executions=("nope:1:1",)), "arguments[0].executions"),
        (RUNS, with_argument(assets=("nopenope",)), "arguments[0].assets"),
        ("/api/projects/demo/sensors",
         {**with_argument(executions=("nope:1:1",)), "repository": "watch", "target": "poll"},
         "arguments[0].executions"),
    ],
    ids=["execution", "asset", "sensor"],
)  # fmt: skip
async def test_a_handle_to_nothing_is_refused_and_changes_nothing(
    api: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    await register(api)
    manifests = "/api/projects/demo/environments/production/manifests"
    assert (await api.post(manifests, json={"manifests": [SENSOR]})).status_code == 200
    before = await state(api)
    response = await api.post(path, json=body)
    assert_error(response, 400, "unknown_handle")
    assert field in response.json()["error"]["message"]
    assert await state(api) == before


async def test_a_handle_to_another_projects_execution_is_refused(api: httpx.AsyncClient) -> None:
    foreign = await other_projects_execution(api)
    await register(api)
    before = await state(api)
    response = await api.post(RUNS, json=with_argument(executions=(foreign,)))
    assert_error(response, 400, "unknown_handle")
    assert foreign in response.json()["error"]["message"]
    assert await state(api) == before


async def test_handles_to_running_and_finished_executions_are_accepted(
    api: httpx.AsyncClient,
) -> None:
    await register(api)
    first = (await api.post(RUNS, json=RUN)).json()["run_id"]
    running = await api.post(RUNS, json=with_argument(executions=(f"{first}:1:1",)))
    assert running.status_code == 201, running.text
    # Cancelled, the run leaves memory: only the store knows its executions now.
    assert (await api.post(f"{RUNS}/{first}/cancel")).status_code == 200
    finished = await api.post(RUNS, json=with_argument(executions=(f"{first}:1:1",)))
    assert finished.status_code == 201, finished.text


async def _next(agent: AgentSocket, kind: type[M]) -> M:
    while True:
        frame = await agent.receive()
        assert frame is not None, agent.close_reason
        for message in protocol.decode_server_frame(frame):
            if isinstance(message, kind):
                return message


def _value(executions: tuple[str, ...] = (), assets: tuple[str, ...] = ()) -> protocol.Value:
    return protocol.Value(format="json", data="x", executions=executions, assets=assets)


async def _running(server: Server, agent: AgentSocket) -> tuple[str, str]:
    await welcomed(agent)
    submitted = await server.api.post(RUNS, json=RUN)
    assert submitted.status_code == 201, submitted.text
    return submitted.json()["run_id"], await execution_assigned(agent)


async def _persist_asset(server: Server, agent: AgentSocket, execution_id: str) -> str:
    content = b"an asset's file"
    key = hashlib.sha256(content).hexdigest()
    assert (await server.api.put(f"/blobs/{key}", content=content)).status_code == 201
    entry = protocol.AssetEntry(path="f.txt", size=len(content), blob=key)
    request = protocol.PersistAsset(
        request_id=1, execution_id=execution_id, asset_id="asset0001", kind="file",
        path="f.txt", entries=(entry,),
    )  # fmt: skip
    await agent.send(protocol.encode_json(request))
    reply = await _next(agent, protocol.AssetReply)
    assert reply.asset is not None, reply.error
    return reply.asset.id


async def test_an_agents_call_naming_nothing_is_answered_with_an_error(server: Server) -> None:
    async with server.agent() as agent:
        run_id, execution_id = await _running(server, agent)
        asset_id = await _persist_asset(server, agent, execution_id)
        for index, value in enumerate(
            [_value(executions=("nope:1:1",)), _value(assets=("nopenope",))]
        ):
            call = protocol.Submit(
                request_id=10 + index, parent_execution_id=execution_id, call_index=index,
                repository="hello", target="shout", type="task", arguments=(value,),
            )  # fmt: skip
            await agent.send(protocol.encode_json(call))
            reply = await _next(agent, protocol.Submitted)
            assert reply.request_id == 10 + index and reply.execution_id is None
            assert reply.error is not None and "does not exist" in reply.error.message
        run = (await server.api.get(f"{RUNS}/{run_id}")).json()
        assert len(run["steps"]) == 1
        # The same call with handles the project has is scheduled.
        good = _value(executions=(execution_id,), assets=(asset_id,))
        call = protocol.Submit(
            request_id=20, parent_execution_id=execution_id, call_index=5,
            repository="hello", target="shout", type="task", arguments=(good,),
        )  # fmt: skip
        await agent.send(protocol.encode_json(call))
        reply = await _next(agent, protocol.Submitted)
        assert reply.execution_id is not None, reply.error


@pytest.mark.parametrize(
    "outcome",
    [
        protocol.Succeeded(_value(executions=("nope:1:1",))),
        protocol.Succeeded(_value(assets=("nopenope",))),
        protocol.Suspended(waiting_for=("nope:1:1",)),
    ],
    ids=["result execution", "result asset", "suspended waiting for"],
)
async def test_an_agents_result_naming_nothing_is_refused(
    server: Server, outcome: protocol.ReportedOutcome
) -> None:
    async with server.agent() as agent:
        run_id, execution_id = await _running(server, agent)
        bad = protocol.Complete(execution_id=execution_id, outcome=outcome)
        await agent.send(protocol.encode_json(bad))
        await _next(agent, protocol.Ack)  # the agent stops resending it
        # The outcome named nothing the project has, so it is not kept: the execution
        # failed, saying why, instead of staying assigned until its session expires.
        result = await server.api.get(f"{RUNS}/{run_id}/result", params={"wait": 5})
        outcome_view = result.json()["outcome"]
        assert outcome_view["tag"] == "failed", result.text
        assert outcome_view["error"]["type"] == "coflux.ResultRefused"
        assert "does not exist" in outcome_view["error"]["message"]
        # A later, valid result for it changes nothing (it is only acknowledged).
        good = protocol.Complete(execution_id=execution_id, outcome=protocol.Succeeded(_value()))
        await agent.send(protocol.encode_json(good))
        await _next(agent, protocol.Ack)
        again = await server.api.get(f"{RUNS}/{run_id}/result")
        assert again.json()["outcome"]["tag"] == "failed"


def test_every_event_that_records_values_is_checked() -> None:
    value = _value(executions=("e:1:1",), assets=("a1",))
    submit = protocol.Submit(
        request_id=1, parent_execution_id="p:1:1", call_index=0, repository="r",
        target="t", type="task", arguments=(value,),
    )  # fmt: skip
    found = {
        "run": ev.SubmitRun("r", "production", "hello", "greet", (value,)),
        "call": ev.ScheduleStep("s", submit),
        "result": ev.CompleteExecution("s", "x:1:1", protocol.Succeeded(value)),
        "checkpoint": ev.RecordCheckpoint("s", "x:1:1", (value,)),
    }
    for name, event in found.items():
        named = handles.named(event)
        assert list(named.executions) == ["e:1:1"] and list(named.assets) == ["a1"], name
    suspended = ev.CompleteExecution("s", "x:1:1", protocol.Suspended(waiting_for=("w:1:1",)))
    assert list(handles.named(suspended).executions) == ["w:1:1"]
    assert not handles.named(ev.CancelRun("r"))
