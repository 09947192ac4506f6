"""The HTTP client against an in-process fake API (``tests.support.fake_transport``)."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import httpx
import msgspec
import pytest

from coflux import protocol
from coflux.client import UNSET, ApiError, Client, ServerUnavailable
from coflux.views import EnvironmentView, ProjectInfo, RunResult
from tests.support.fake_transport import transport_for


def json_response(data: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=msgspec.json.encode(data))


def make_client(
    handler: Callable[[httpx.Request], httpx.Response], token: str | None = None
) -> Client:
    return Client("coflux.test:7777", token, transport=transport_for(handler))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ENV = EnvironmentView(
    id="e1", name="dev", base=None, status="active", created_at=1.0, updated_at=1.0
)


def test_decodes_typed_views_and_sends_the_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response([ProjectInfo(id="p1", name="demo", created_at=1.5)])

    with make_client(handler, token="sekret") as client:
        projects = client.list_projects()
    assert projects == [ProjectInfo(id="p1", name="demo", created_at=1.5)]
    assert seen[0].url == "http://coflux.test:7777/api/projects"
    assert seen[0].headers["Authorization"] == "Bearer sekret"


def test_error_envelope_becomes_api_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"error": {"reason": "not_found", "message": "no project 'x'"}}
        return json_response(body, status=404)

    with make_client(handler) as client, pytest.raises(ApiError) as caught:
        client.list_environments("x")
    assert (caught.value.status, caught.value.reason, caught.value.message) == (
        404,
        "not_found",
        "no project 'x'",
    )


def test_an_error_without_envelope_keeps_its_status() -> None:
    client = make_client(lambda r: httpx.Response(502, text="Bad gateway\n"))
    with client, pytest.raises(ApiError) as caught:
        client.list_projects()
    assert (caught.value.status, caught.value.reason, caught.value.message) == (
        502,
        "http_502",
        "Bad gateway",
    )


def test_connection_refused_names_the_host() -> None:
    host = f"127.0.0.1:{closed_port()}"
    with Client(host) as client, pytest.raises(ServerUnavailable, match=host):
        client.list_projects()


def test_path_segments_are_quoted() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return json_response(ENV)

    with make_client(handler) as client:
        client.pause_environment("my project", "a/b")
    assert seen == ["/api/projects/my%20project/environments/a%2Fb/pause"]


@pytest.mark.parametrize(
    ("kwargs", "body"),
    [
        ({"name": "new"}, {"name": "new"}),
        ({"base": None}, {"base": None}),
        ({"base": "prod"}, {"base": "prod"}),
        ({"base": UNSET, "name": "n"}, {"name": "n"}),
    ],
)
def test_update_environment_distinguishes_unset_from_null(
    kwargs: dict[str, object], body: dict[str, object]
) -> None:
    seen: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return json_response(ENV)

    with make_client(handler) as client:
        client.update_environment("p", "dev", **kwargs)  # type: ignore[arg-type]
    assert seen == [body]


def test_submit_sends_values_and_idempotency_key() -> None:
    seen: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return json_response({"run_id": "abc", "created": False})

    value = protocol.Value(format="json", data=[1, 2])
    with make_client(handler) as client:
        submission = client.submit("p", "dev", "hello", "greet", [value], idempotency_key="k")
    assert (submission.run_id, submission.created) == ("abc", False)
    assert seen == [
        {
            "environment": "dev",
            "repository": "hello",
            "target": "greet",
            "arguments": [{"format": "json", "data": [1, 2]}],
            "idempotency_key": "k",
        }
    ]


def test_wait_result_long_polls_until_there_is_an_outcome() -> None:
    answers = [
        RunResult(run_id="abc", state="assigned"),
        RunResult(run_id="abc", state="assigned"),
        RunResult(
            run_id="abc",
            state="succeeded",
            outcome=protocol.Succeeded(value=protocol.Value(format="json", data="hi")),
        ),
    ]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(answers[len(seen) - 1])

    with make_client(handler) as client:
        result = client.wait_result("p", "abc")
    assert result == answers[-1]
    assert [r.url.params["wait"] for r in seen] == ["60.0"] * 3
    # The read timeout covers the server's wait.
    assert all(r.extensions["timeout"]["read"] > 60 for r in seen)


def test_an_unexpected_response_shape_is_an_api_error() -> None:
    client = make_client(lambda r: json_response({"nope": 1}))
    with client, pytest.raises(ApiError, match="unexpected response"):
        client.get_run("p", "abc")
