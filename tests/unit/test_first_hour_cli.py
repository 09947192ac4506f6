"""What the CLI says in a new user's first hour, against a scripted server: which
address a ``--host`` without a port means, the agent's ready line, and a
submission that waits for a repository being registered (but not for a typo)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
import msgspec
import pytest
from click.testing import CliRunner

from coflux.agent.agent import ready_line
from coflux.agent.settings import AgentSettings
from coflux.cli.context import CliState, portless_host_hint
from coflux.cli.main import cli
from tests.unit.test_cli import NO_ENV, FakeApi, one_error_line

RUNS = "/api/projects/p/runs"
MANIFESTS = "/api/projects/p/environments/production/manifests"
NOT_REGISTERED = {
    "error": {
        "reason": "unknown_repository",
        "message": "repository 'hello' is not registered in environment 'production'",
    }
}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no coflux.toml of the checkout


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


class RefusingTransport:
    """A server that is not there: every request's connection is refused."""

    def request(self, *args: object) -> object:
        raise ConnectionRefusedError(111, "Connection refused")

    def close(self) -> None:
        pass


def test_a_host_without_a_port_says_which_address_it_tried() -> None:
    tried: list[str] = []

    def transport(base_url: str) -> RefusingTransport:
        tried.append(base_url)
        return RefusingTransport()

    args = ["--host", "localhost", "projects", "list"]
    state = CliState(transport=transport)  # type: ignore[arg-type]
    result = CliRunner().invoke(cli, args, obj=state, env=NO_ENV, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    line = one_error_line(result)
    assert line.startswith("error: cannot reach the coflux server at localhost: connection failed")
    assert "tried http://localhost:80, as 'localhost' names no port" in line
    assert "the server listens on 7777 by default (--host localhost:7777)" in line
    assert tried == ["http://localhost"]


def test_only_a_host_without_scheme_or_port_gets_the_hint() -> None:
    assert portless_host_hint("localhost:7777", "tried") is None
    assert portless_host_hint("https://coflux.example.com", "tried") is None
    hint = portless_host_hint("[::1]", "connecting to")
    assert hint is not None and hint.startswith("connecting to http://[::1]:80")


def test_the_ready_line_says_what_is_registered_where() -> None:
    settings = AgentSettings(
        host="localhost:7777", project="demo", environment="production", token=None,
        repositories=("hello.py",), concurrency=1, register=True,
    )  # fmt: skip
    assert ready_line(settings, ["hello"]) == (
        "ready: repository hello registered in environment production of project demo"
        " at http://localhost:7777; waiting for work"
    )
    unregistered = ready_line(dataclasses.replace(settings, register=False), ["a", "b"])
    assert unregistered.startswith("ready: hosting repositories a, b in environment production")
    assert "use --register or coflux register" in unregistered


def answers(api: FakeApi, method: str, path: str, *replies: httpx.Response) -> None:
    api.routes[(method, path)] = list(replies)


def reply(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, content=msgspec.json.encode(body))


def test_a_misspelt_repository_is_refused_at_once(api: FakeApi) -> None:
    answers(api, "POST", RUNS, reply(404, NOT_REGISTERED))
    api.on("GET", MANIFESTS, [{"repository": "hellp"}])
    result = api.invoke("--project", "p", "submit", "hello", "print_greeting")
    assert result.exit_code == 1
    assert "not registered" in one_error_line(result)
    assert [r.method for r in api.requests] == ["POST", "GET"]  # asked once, never waited


def test_a_repository_being_registered_is_waited_for(api: FakeApi) -> None:
    answers(
        api, "POST", RUNS, reply(404, NOT_REGISTERED), reply(201, {"run_id": "r1", "created": True})
    )
    answers(
        api, "GET", MANIFESTS, reply(200, []), reply(200, []), reply(200, [{"repository": "hello"}])
    )
    result = api.invoke("--project", "p", "submit", "hello", "print_greeting")
    assert result.exit_code == 0, result.output
    assert result.stdout == "r1\n"
    assert result.stderr.splitlines() == [
        "repository 'hello' is not registered in production:"
        " waiting up to 5 s for an agent to register it"
    ]
    assert [r.method for r in api.requests] == ["POST", "GET", "GET", "GET", "POST"]


def test_a_run_no_agent_can_start_gets_a_warning(api: FakeApi) -> None:
    warning = "no agent in production hosts hello.print_greeting"
    api.on("POST", RUNS, {"run_id": "r1", "created": True, "warning": warning}, status=201)
    result = api.invoke("--project", "p", "submit", "hello", "print_greeting")
    assert result.exit_code == 0, result.output
    assert result.stdout == "r1\n"
    assert result.stderr == f"warning: run r1 is queued: {warning}\n"


def test_ctrl_c_in_a_command_exits_quietly_with_130(api: FakeApi) -> None:
    def interrupted(request: httpx.Request) -> httpx.Response:
        raise KeyboardInterrupt

    api.handler = interrupted  # type: ignore[method-assign]
    result = api.invoke("--project", "p", "runs", "list")
    assert result.exit_code == 130
    assert result.output == ""
