"""``coflux inputs``: what each command sends and prints, over a fake API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from coflux import protocol
from coflux.views import InputView
from tests.unit.test_cli import FakeApi, one_error_line

INPUTS = "/api/projects/p/inputs"
VIEW = InputView(
    id="r1.abc", execution_id="r1:1:1", run_id="r1", environment="production", key="k",
    title=None, template="Deploy {{service}} to {region}?",
    placeholders={"service": protocol.Value("json", "api"), "region": protocol.Value("json", "eu")},
    schema=None, initial=None, actions=("Ship", "Hold"), requires={"role": ("ops",)},
    created_at=1_700_000_000.0, status="pending",
)  # fmt: skip


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no coflux.toml of the repository's


def view(**changes: Any) -> dict[str, Any]:
    built: dict[str, Any] = msgspec.to_builtins(msgspec.structs.replace(VIEW, **changes))
    return built


def test_list_shows_the_prompt_filled_in_and_filters_by_environment() -> None:
    api = FakeApi()
    api.on("GET", INPUTS, {"inputs": [view()]})
    listed = api.invoke("--project", "p", "--environment", "staging", "inputs", "list")
    assert listed.exit_code == 0, listed.output
    assert "r1.abc" in listed.stdout and "Deploy api to eu?" in listed.stdout
    query = api.requests[-1].url.params
    assert (query["environment"], query["status"]) == ("staging", "pending")
    by_run = api.invoke("--project", "p", "inputs", "list", "--run", "r1", "--status", "all")
    assert by_run.exit_code == 0, by_run.output
    query = api.requests[-1].url.params
    assert "environment" not in query and (query["run"], query["status"]) == ("r1", "all")
    as_json = api.invoke("--project", "p", "inputs", "list", "--json", "--all-environments")
    assert json.loads(as_json.stdout)[0]["id"] == "r1.abc"


def test_show_describes_the_input() -> None:
    api = FakeApi()
    api.on(
        "GET", f"{INPUTS}/r1.abc", view(status="dismissed", responded_by="admin", responded_at=1.0)
    )
    shown = api.invoke("--project", "p", "inputs", "show", "r1.abc")
    assert shown.exit_code == 0, shown.output
    assert api.invoke("--project", "p", "inputs", "inspect", "r1.abc").stdout == shown.stdout
    for line in ("Deploy api to eu?", "takes: an approval (no value)", "actions: Ship / Hold",
                 "requires: role=ops", "dismissed by admin"):  # fmt: skip
        assert line in shown.stdout, shown.stdout


def test_respond_sends_the_json_given_or_read_from_stdin() -> None:
    api = FakeApi()
    api.on("POST", f"{INPUTS}/r1.abc/respond", view(status="responded"))
    answered = api.invoke("--project", "p", "inputs", "respond", "r1.abc", '{"n": 1}')
    assert answered.exit_code == 0, answered.output
    assert json.loads(api.requests[-1].content) == {"value": {"n": 1}}
    piped = api.invoke("--project", "p", "inputs", "respond", "r1.abc", "-", input="[1, 2]\n")
    assert piped.exit_code == 0, piped.output
    assert json.loads(api.requests[-1].content) == {"value": [1, 2]}
    approved = api.invoke("--project", "p", "inputs", "respond", "r1.abc")
    assert approved.exit_code == 0 and json.loads(api.requests[-1].content) == {"value": None}
    bad = api.invoke("--project", "p", "inputs", "respond", "r1.abc", "{nope")
    assert bad.exit_code != 0 and "not valid JSON" in one_error_line(bad)


def test_a_refusal_is_one_error_line() -> None:
    api = FakeApi()
    message = 'the answer to input r1.abc is invalid at n: expected integer, got "x"'
    api.error("POST", f"{INPUTS}/r1.abc/respond", 400, "invalid_input", message)
    refused = api.invoke("--project", "p", "inputs", "respond", "r1.abc", '{"n": "x"}')
    assert refused.exit_code != 0 and "invalid at n" in one_error_line(refused)
    api.error(
        "POST",
        f"{INPUTS}/r1.abc/dismiss",
        409,
        "input_settled",
        "input r1.abc was responded already",
    )
    twice = api.invoke("--project", "p", "inputs", "dismiss", "r1.abc")
    assert twice.exit_code != 0 and "already" in one_error_line(twice)
