"""The inputs API in-process, with a raw agent socket asking: the lists and their
filters, an approval answered without a body, answers refused (400 naming the field,
nothing changed) and refused twice (409), the answer delivered to the waiting
execution, and the routes in the OpenAPI document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from coflux import protocol
from coflux.server.app import create_app
from tests.api.agent_server import (
    Server,
    serving,  # noqa: F401 (the server fixture)
)
from tests.api.agent_socket import AgentSocket
from tests.api.test_agent_frames import welcomed
from tests.api.test_validation import HELLO, RUN

INPUTS = "/api/projects/demo/inputs"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"count": {"type": "integer", "minimum": 1}},
    "required": ["count"],
}


async def next_message(agent: AgentSocket, kind: type[Any]) -> Any:
    while True:
        frame = await agent.receive()
        assert frame is not None, agent.close_reason
        for message in protocol.decode_server_frame(frame):
            if isinstance(message, kind):
                return message


def ask(request_id: int, execution_id: str, key: str, schema: dict[str, Any] | None) -> bytes:
    return protocol.encode_json(
        protocol.SubmitInput(
            request_id=request_id, execution_id=execution_id, key=key,
            template="How many {things}?", placeholders={"things": protocol.Value("json", "cats")},
            schema=schema,
        )
    )  # fmt: skip


async def running(server: Server, agent: AgentSocket) -> str:
    """A run started and assigned to the agent: its execution's id."""
    await welcomed(agent)
    assert (await server.api.post("/api/projects/demo/runs", json=RUN)).status_code == 201
    execute = await next_message(agent, protocol.Execute)
    return str(execute.execution_id)


async def test_inputs_are_listed_answered_once_and_delivered(server: Server) -> None:
    async with server.agent() as agent:
        execution_id = await running(server, agent)
        await agent.send(ask(1, execution_id, "count", SCHEMA))
        counted = (await next_message(agent, protocol.InputReply)).input_id
        await agent.send(ask(2, execution_id, "approve", None))
        approval = (await next_message(agent, protocol.InputReply)).input_id
        get = protocol.GetInput(request_id=3, input_id=counted, from_execution_id=execution_id)
        await agent.send(protocol.encode_json(get))

        listed = (await server.api.get(INPUTS)).json()["inputs"]
        assert [i["id"] for i in listed] == [approval, counted]  # newest first
        assert listed[1]["placeholders"] == {"things": {"format": "json", "data": "cats"}}
        by_environment = await server.api.get(INPUTS, params={"environment": "production"})
        assert len(by_environment.json()["inputs"]) == 2
        unknown = await server.api.get(INPUTS, params={"environment": "nope"})
        assert unknown.status_code == 404
        bad_status = await server.api.get(INPUTS, params={"status": "maybe"})
        assert bad_status.status_code == 400 and "status" in bad_status.json()["error"]["message"]

        refused = await server.api.post(f"{INPUTS}/{counted}/respond", json={"value": {"count": 0}})
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["reason"] == "invalid_input"
        assert "count" in refused.json()["error"]["message"]
        malformed = await server.api.post(f"{INPUTS}/{counted}/respond", content=b"{")
        assert malformed.status_code == 400
        assert (await server.api.get(f"{INPUTS}/{counted}")).json()["status"] == "pending"

        answered = await server.api.post(
            f"{INPUTS}/{counted}/respond", json={"value": {"count": 3}}
        )
        assert answered.status_code == 200, answered.text
        view = answered.json()
        assert (view["status"], view["response"], view["responded_by"]) == (
            "responded", {"count": 3}, "anonymous",
        )  # fmt: skip
        reply = await next_message(agent, protocol.InputReply)
        assert reply == protocol.InputReply(3, counted, protocol.InputResponded({"count": 3}))
        twice = await server.api.post(f"{INPUTS}/{counted}/dismiss")
        assert twice.status_code == 409 and twice.json()["error"]["reason"] == "input_settled"

        # An approval takes no body at all.
        approved = await server.api.post(f"{INPUTS}/{approval}/respond")
        assert approved.status_code == 200, approved.text
        assert (approved.json()["status"], approved.json()["response"]) == ("responded", None)
        listed = (await server.api.get(INPUTS, params={"status": "responded"})).json()["inputs"]
        assert {i["id"] for i in listed} == {approval, counted}
        assert (await server.api.get(INPUTS)).json()["inputs"] == []
    assert (await server.api.get(f"{INPUTS}/nope.nope")).status_code == 404


async def test_an_execution_of_another_session_cannot_ask(server: Server) -> None:
    async with server.agent() as agent:
        execution_id = await running(server, agent)
    async with server.agent() as other:
        await welcomed(other)
        await other.send(ask(1, execution_id, "count", SCHEMA))
        reply = await next_message(other, protocol.InputReply)
        assert reply.input_id is None and reply.error is not None
    assert (await server.api.get(INPUTS)).json()["inputs"] == []


async def test_the_routes_are_in_the_openapi_document(server: Server) -> None:
    document = (await server.api.get("/api/openapi.json")).json()
    paths = document["paths"]
    assert set(paths["/api/projects/{project}/inputs"]) == {"get"}
    assert (
        paths["/api/projects/{project}/inputs/{input_id}/respond"]["post"]["requestBody"][
            "required"
        ]
        is False
    )
    assert "post" in paths["/api/projects/{project}/inputs/{input_id}/dismiss"]


async def test_who_answered_is_the_callers_token_and_limited_tokens_are_refused(
    tmp_path: Path,
) -> None:
    admin = {"Authorization": "Bearer the-admin"}
    app = create_app(tmp_path, session_timeout=5, admin_tokens=frozenset({"the-admin"}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:

            async def post(path: str, body: Any = None, headers: Any = admin) -> Any:
                response = await api.post(path, json=body, headers=headers)
                assert response.status_code in (200, 201), response.text
                return response.json()

            await post("/api/projects", {"name": "demo"})
            for name in ("production", "dev"):
                await post("/api/projects/demo/environments", {"name": name})
            await post(
                "/api/projects/demo/environments/production/manifests", {"manifests": [HELLO]}
            )

            async def token(**options: Any) -> dict[str, str]:
                created = await post("/api/tokens", {"project": "demo", **options})
                return {"Authorization": f"Bearer {created['token']}", "id": created["info"]["id"]}

            ops = await token(description="ops desk")
            reader = await token(read_only=True)
            dev_only = await token(environments=["dev"])
            async with AgentSocket(app, headers={"Authorization": admin["Authorization"]}) as agent:
                await welcomed(agent)
                run = await post("/api/projects/demo/runs", RUN)
                assert run["run_id"]
                execution_id = str((await next_message(agent, protocol.Execute)).execution_id)
                for request_id, key in ((1, "a"), (2, "b")):
                    await agent.send(ask(request_id, execution_id, key, None))
                    await next_message(agent, protocol.InputReply)
            first, second = (await api.get(INPUTS, headers=admin)).json()["inputs"]

            def auth(caller: dict[str, str]) -> dict[str, str]:
                return {"Authorization": caller["Authorization"]}

            # A read-only token lists, and may not answer; a token of another
            # environment neither sees nor answers the production input.
            assert len((await api.get(INPUTS, headers=auth(reader))).json()["inputs"]) == 2
            refused = await api.post(f"{INPUTS}/{first['id']}/respond", headers=auth(reader))
            assert refused.status_code == 403 and refused.json()["error"]["reason"] == "read_only"
            assert (await api.get(INPUTS, headers=auth(dev_only))).json()["inputs"] == []
            other = await api.post(f"{INPUTS}/{first['id']}/dismiss", headers=auth(dev_only))
            assert other.status_code == 403
            assert (await api.get(f"{INPUTS}/{first['id']}", headers=admin)).json()[
                "status"
            ] == "pending"

            answered = await post(f"{INPUTS}/{first['id']}/respond", None, auth(ops))
            assert answered["responded_by"] == f"token:{ops['id']} (ops desk)"
            dismissed = await post(f"{INPUTS}/{second['id']}/dismiss", None, admin)
            assert (dismissed["status"], dismissed["responded_by"]) == ("dismissed", "admin")
