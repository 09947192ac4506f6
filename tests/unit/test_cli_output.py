"""The CLI's two looks (plain text in pipes, rich on a terminal), ``NO_COLOR``,
the call tree's value previews, and ``--json`` on every command that prints data.

``TTY_COMPATIBLE=1`` makes the output a terminal for click's test runner
(``coflux.cli.output.is_terminal``); ``tests/integration/test_cli_output.py``
checks the same through a real pseudo-terminal.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from coflux import protocol
from coflux.cli.main import cli
from coflux.cli.output import STATE_STYLES, Marked, state_style
from coflux.cli.render import run_tree
from coflux.orchestration.states import EnvironmentStatus, ExecutionState
from coflux.previews import PREVIEW_LENGTH, outcome_preview, value_preview
from coflux.views import ExecutionOutline, RunOutline, StepOutline
from tests.unit.test_cli import FakeApi

RUNS = "/api/projects/p/runs"
SUMMARY = {
    "id": "r1",
    "environment": "production",
    "repository": "hello",
    "target": "main",
    "state": "failed",
    "created_at": 10.0,
    "completed_at": 11.0,
}
ENVIRONMENT = {
    "id": "e",
    "name": "dev",
    "base": None,
    "status": "paused",
    "created_at": 1.0,
    "updated_at": 2.0,
}
COLOUR = re.compile(r"\x1b\[[0-9;]*m")
TERMINAL = {"TTY_COMPATIBLE": "1", "NO_COLOR": "", "COLUMNS": "120"}


@pytest.fixture
def api() -> FakeApi:
    fake = FakeApi()
    fake.on("GET", RUNS, [SUMMARY])
    return fake


# --- plain and rich ------------------------------------------------------------------------


def test_a_pipe_gets_the_plain_table(api: FakeApi) -> None:
    result = api.invoke("--project", "p", "runs", "list", env={"TTY_COMPATIBLE": "0"})
    assert result.stdout.splitlines() == [
        "ID  TARGET      STATE   CREATED",
        f"r1  hello.main  failed  {result.stdout.splitlines()[1].split('failed  ')[1]}",
    ]
    assert "\x1b" not in result.stdout


def test_a_terminal_gets_a_drawn_table_with_the_state_coloured(api: FakeApi) -> None:
    result = api.invoke("--project", "p", "runs", "list", env=TERMINAL)
    assert result.exit_code == 0, result.output
    assert "─" in result.stdout  # rich's rule under the headers
    red = "\x1b[1;31m"  # failed: "bold red"
    assert f"{red}failed" in result.stdout
    plain = COLOUR.sub("", result.stdout)
    assert re.search(r"r1\s+hello\.main\s+failed", plain)


def test_no_color_draws_the_table_without_colours(api: FakeApi) -> None:
    result = api.invoke("--project", "p", "runs", "list", env={**TERMINAL, "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "─" in result.stdout
    assert not re.search(r"\x1b\[[0-9;]*3[0-9]m", result.stdout)  # no foreground colour
    assert "failed" in result.stdout


def test_the_call_tree_is_coloured_by_state_on_a_terminal(api: FakeApi) -> None:
    api.on("GET", f"{RUNS}/r1/outline", OUTLINE)
    plain = api.invoke("--project", "p", "runs", "inspect", "r1")
    coloured = api.invoke("--project", "p", "runs", "inspect", "r1", env=TERMINAL)
    assert "\x1b[32msucceeded" in coloured.stdout  # green
    assert COLOUR.sub("", coloured.stdout) == plain.stdout


def test_every_state_has_one_style() -> None:
    for state in [*ExecutionState, *EnvironmentStatus]:
        assert state.value in STATE_STYLES
    assert state_style("timed out") == STATE_STYLES["timed_out"]
    assert state_style("unavailable: the database is gone") == STATE_STYLES["unavailable"]
    assert state_style("revoked 2026-01-01 10:00:00") == STATE_STYLES["revoked"]
    assert state_style("hello.main") is None


def test_a_marked_line_is_its_plain_text() -> None:
    line = Marked("r1:1  ", ("timed out", "timed_out"), "  2s")
    assert line == "r1:1  timed out  2s"
    assert line.marks == ((6, 15, "timed_out"),)
    assert "\n".join([line, "x"]) == "r1:1  timed out  2s\nx"


def test_piped_output_never_imports_rich() -> None:
    script = (
        "import sys\n"
        "from coflux.cli.output import out_lines, table\n"
        "table(['A', 'STATE'], [['1', 'failed']], states='STATE')\n"
        "out_lines(['x'])\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'rich'], 'rich loaded'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={"PATH": ""}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["A  STATE", "1  failed", "x"]


# --- previews in the call tree ---------------------------------------------------------------


def outline_execution(id_: str, state: str, preview: str | None) -> ExecutionOutline:
    return ExecutionOutline(
        id=id_, attempt=int(id_.rsplit(":", 1)[1]), state=state, environment="production",
        created_at=10.0, assigned_at=10.5, completed_at=12.0, session_id="s1",
        outcome_preview=preview,
    )  # fmt: skip


def outline_step(
    id_: str, parent: str | None, arguments: list[str], *executions: ExecutionOutline
) -> StepOutline:
    return StepOutline(
        id=id_, number=int(id_.split(":")[1]), repository="hello", target=f"t{id_[-1]}",
        type="task", parent_execution=parent, call_index=None, created_at=10.0,
        executions=list(executions), argument_previews=arguments,
    )  # fmt: skip


OUTLINE = RunOutline(
    id="r1", environment="production", repository="hello", target="t1", state="succeeded",
    idempotency_key=None, created_at=10.0, completed_at=12.0,
    steps=[
        outline_step("r1:1", None, ['"world"', "3"], outline_execution("r1:1:1", "succeeded", "[1, 2]")),
        outline_step(
            "r1:2", "r1:1:1", [],
            outline_execution("r1:2:1", "failed", "ValueError: bad"),
            outline_execution("r1:2:2", "succeeded", '"ok"'),
        ),
    ],
)  # fmt: skip


def test_the_tree_shows_arguments_and_results_under_each_step() -> None:
    assert list(run_tree(OUTLINE))[1:] == [
        "  r1:1  hello.t1  succeeded  1.50s",
        '      arguments: "world", 3',
        "      result: [1, 2]",
        "    r1:2  hello.t2  succeeded  1.50s  (attempt 2)",
        "        (attempt 1) error: ValueError: bad",
        '        (attempt 2) result: "ok"',
    ]


def test_previews_are_one_short_line() -> None:
    long = protocol.Value(format="json", data="line one\nline two " + "x" * 200)
    shown = value_preview(long)
    assert len(shown) == PREVIEW_LENGTH and shown.endswith("…") and "\n" not in shown
    assert value_preview(protocol.Value(format="json", data=[1, "a"])) == '[1,"a"]'
    pickled = protocol.Value(format="pickle", data="AAAA", size=2500, label="pandas.DataFrame")
    assert value_preview(pickled) == "<pickled pandas.DataFrame, 2.5 KB>"
    stored = protocol.Value(format="json", blob="ab" * 32, size=3_000_000)
    assert value_preview(stored) == "<blob json, 3.0 MB>"
    error = protocol.Failed(error=protocol.ErrorInfo(type="builtins.KeyError", message="'x'"))
    assert outcome_preview(error) == "KeyError: 'x'"
    assert outcome_preview(protocol.Cancelled()) is None


# --- --json everywhere -----------------------------------------------------------------------


def _json(api: FakeApi, *args: str) -> object:
    result = api.invoke("--project", "p", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_projects_create_json(api: FakeApi) -> None:
    project = {"id": "p1", "name": "demo", "created_at": 1.0, "status": "ok", "error": None}
    api.on("POST", "/api/projects", project)
    assert _json(api, "projects", "create", "demo") == project


@pytest.mark.parametrize("action", ["pause", "resume", "archive"])
def test_environment_changes_json(api: FakeApi, action: str) -> None:
    api.on("POST", f"/api/projects/p/environments/dev/{action}", ENVIRONMENT)
    assert _json(api, "environments", action, "dev") == ENVIRONMENT


def test_environments_create_and_update_json(api: FakeApi) -> None:
    api.on("POST", "/api/projects/p/environments", ENVIRONMENT)
    api.on("PATCH", "/api/projects/p/environments/dev", ENVIRONMENT)
    assert _json(api, "environments", "create", "dev") == ENVIRONMENT
    assert _json(api, "environments", "update", "dev", "--no-base") == ENVIRONMENT


def test_tokens_create_and_revoke_json(api: FakeApi) -> None:
    info = {
        "id": "t1", "project": "p", "environments": [], "read_only": True,
        "description": "", "created_at": 1.0, "revoked_at": None,
    }  # fmt: skip
    api.on("POST", "/api/tokens", {"token": "secret", "info": info})
    api.on("POST", "/api/tokens/t1/revoke", {**info, "revoked_at": 2.0})
    created = _json(api, "tokens", "create", "--read-only")
    assert isinstance(created, dict) and created["token"] == "secret"
    assert created["info"]["id"] == "t1"
    revoked = _json(api, "tokens", "revoke", "t1")
    assert isinstance(revoked, dict) and revoked["revoked_at"] == 2.0


def test_runs_rerun_and_cancel_json(api: FakeApi) -> None:
    api.on("POST", "/api/projects/p/steps/r1:2/rerun", {"execution_id": "r1:2:2"})
    api.on("POST", f"{RUNS}/r1/cancel", {"cancelled": ["r1:1:1"]})
    assert _json(api, "runs", "rerun", "r1:2") == {"execution_id": "r1:2:2"}
    assert _json(api, "runs", "cancel", "r1") == {"cancelled": ["r1:1:1"]}


def test_submit_json(api: FakeApi) -> None:
    api.on("POST", RUNS, {"run_id": "r9", "created": False}, status=201)
    assert _json(api, "submit", "hello", "main") == {"run_id": "r9", "created": False}


def test_sensors_start_json(api: FakeApi) -> None:
    api.on("POST", "/api/projects/p/sensors", {"sensor_id": "s1", "run_id": "r1"})
    assert _json(api, "sensors", "start", "hello", "watch") == {"sensor_id": "s1", "run_id": "r1"}


def test_register_json(api: FakeApi) -> None:
    api.on("POST", "/api/projects/p/environments/production/manifests", {"repositories": ["hello"]})
    script = Path(__file__).parents[1] / "support" / "repos" / "hello.py"
    assert _json(api, "register", str(script)) == [
        {
            "repository": "hello",
            "targets": ["greet", "hello", "hello_twice"],
            "project": "p",
            "environment": "production",
        }
    ]


# Commands that print no data (or print JSON already), so have no --json; each
# other command must have it. assets and inputs are audited with their own code.
WITHOUT_JSON = {
    "agent",  # runs until stopped, logging
    "configure",  # writes coflux.toml
    "server",  # runs the server (its `status` has --json)
    "runs result",  # the result is JSON already
    "sensors stop",  # prints nothing but a confirmation
}


def test_every_command_that_prints_data_has_json() -> None:
    missing: list[str] = []
    context = click.Context(cli)
    for name in cli.list_commands(context):
        if name in ("assets", "inputs"):
            continue
        command = cli.get_command(context, name)
        assert command is not None
        subcommands = (
            [(f"{name} {sub}", command.commands[sub]) for sub in command.commands]
            if isinstance(command, click.Group)
            else []
        )
        for full, each in [(name, command), *subcommands]:
            if isinstance(each, click.Group) and full != "server":
                continue  # a group prints its help; `coflux server` runs a server
            if full not in WITHOUT_JSON and "as_json" not in {p.name for p in each.params}:
                missing.append(full)
    assert missing == []
