"""The command line: option precedence, coflux.toml, errors, agent/server options.

A fake API (``FakeApi``, a handler behind ``tests.support.fake_transport``)
stands in for the server; ``test_cli_runs.py`` uses it too.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from click.testing import CliRunner, Result

from coflux.agent.settings import AgentSettings, default_concurrency, parse_provides
from coflux.cli.context import CliState
from coflux.cli.main import cli
from coflux.store.base import DEFAULT_LEASE_TTL
from tests.support.fake_transport import transport_for

NO_ENV: dict[str, str | None] = {
    name: None
    for name in (
        "COFLUX_HOST",
        "COFLUX_PROJECT",
        "COFLUX_ENVIRONMENT",
        "COFLUX_TOKEN",
        "COFLUX_SERVER_TOKENS",
    )
}


class FakeApi:
    """Canned answers by (method, path); records every request."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[httpx.Response]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, *answers: Any, status: int = 200) -> None:
        """Answer with ``answers`` in turn (the last one repeats)."""
        self.routes[(method, path)] = [
            httpx.Response(status, content=msgspec.json.encode(a)) for a in answers
        ]

    def error(self, method: str, path: str, status: int, reason: str, message: str) -> None:
        self.on(method, path, {"error": {"reason": reason, "message": message}}, status=status)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.routes.get((request.method, request.url.path))
        if not queue:
            body = {"error": {"reason": "not_found", "message": f"no route {request.url.path}"}}
            return httpx.Response(404, content=msgspec.json.encode(body))
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def invoke(
        self, *args: str, env: Mapping[str, str] | None = None, input: str | None = None
    ) -> Result:
        state = CliState(transport=transport_for(self.handler))
        runner = CliRunner()
        return runner.invoke(
            cli,
            list(args),
            obj=state,
            env={**NO_ENV, **(env or {})},
            input=input,
            catch_exceptions=False,
        )


def one_error_line(result: Result) -> str:
    """The single ``error: ...`` line a failed command must print, and nothing else."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def api() -> FakeApi:
    fake = FakeApi()
    fake.on("GET", "/api/projects/pf/runs", [])
    fake.on("GET", "/api/projects/pe/runs", [])
    fake.on("GET", "/api/projects/pg/runs", [])
    fake.on("GET", "/api/projects/pl/runs", [])
    return fake


# --- option precedence -------------------------------------------------------------


def _seen(api: FakeApi) -> tuple[str, str, str | None, str | None]:
    request = api.requests[-1]
    return (
        f"{request.url.host}:{request.url.port}",
        request.url.path.split("/")[3],
        request.url.params.get("environment"),
        request.headers.get("Authorization"),
    )


def test_defaults_apply_when_nothing_is_set(api: FakeApi) -> None:
    result = api.invoke("--project", "pf", "runs", "list")
    assert result.exit_code == 0, result.output
    assert _seen(api) == ("localhost:7777", "pf", "production", None)


def test_file_beats_defaults(api: FakeApi, in_tmp: Path) -> None:
    (in_tmp / "coflux.toml").write_text(
        'host = "file:1"\nproject = "pf"\nenvironment = "fenv"\ntoken = "ftok"\n'
    )
    assert api.invoke("runs", "list").exit_code == 0
    assert _seen(api) == ("file:1", "pf", "fenv", "Bearer ftok")


def test_environment_variables_beat_the_file(api: FakeApi, in_tmp: Path) -> None:
    (in_tmp / "coflux.toml").write_text('host = "file:1"\nproject = "pf"\nenvironment = "fenv"\n')
    env = {"COFLUX_HOST": "env:2", "COFLUX_PROJECT": "pe", "COFLUX_TOKEN": "etok"}
    assert api.invoke("runs", "list", env=env).exit_code == 0
    assert _seen(api) == ("env:2", "pe", "fenv", "Bearer etok")


def test_flags_beat_environment_variables(api: FakeApi, in_tmp: Path) -> None:
    (in_tmp / "coflux.toml").write_text('project = "pf"\n')
    env = {"COFLUX_HOST": "env:2", "COFLUX_PROJECT": "pe", "COFLUX_ENVIRONMENT": "eenv"}
    result = api.invoke("--host", "flag:3", "--project", "pg", "runs", "list", env=env)
    assert result.exit_code == 0
    assert _seen(api) == ("flag:3", "pg", "eenv", None)


def test_options_after_the_command_win(api: FakeApi) -> None:
    result = api.invoke(
        "--project", "pg", "runs", "list", "--project", "pl", "--environment", "x", "--token", "t"
    )
    assert result.exit_code == 0
    assert _seen(api) == ("localhost:7777", "pl", "x", "Bearer t")


def test_missing_project_says_how_to_set_one(api: FakeApi) -> None:
    result = api.invoke("runs", "list")
    assert result.exit_code == 1
    assert one_error_line(result) == (
        "error: no project: pass --project, set COFLUX_PROJECT or run coflux configure"
    )
    assert api.requests == []


def test_a_broken_config_file_is_one_line(api: FakeApi, in_tmp: Path) -> None:
    (in_tmp / "coflux.toml").write_text("host = \n")
    result = api.invoke("runs", "list")
    assert result.exit_code == 1
    assert "coflux.toml" in one_error_line(result)


def test_the_nearest_file_in_a_parent_directory_is_used(
    api: FakeApi, in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (in_tmp / "coflux.toml").write_text('host = "outer:1"\nproject = "po"\n')
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "coflux.toml").write_text('project = "pf"\n')
    (in_tmp / "app" / "flows" / "deep").mkdir(parents=True)
    monkeypatch.chdir(in_tmp / "app" / "flows" / "deep")
    assert api.invoke("runs", "list").exit_code == 0
    # The nearest file, whole: its parents' files are not merged into it.
    assert _seen(api)[:2] == ("localhost:7777", "pf")


def test_an_unknown_setting_is_reported_once_and_ignored(api: FakeApi, in_tmp: Path) -> None:
    (in_tmp / "coflux.toml").write_text('project = "pf"\nhots = "typo:1"\n')
    result = api.invoke("runs", "list")
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().splitlines() == [
        f"warning: {in_tmp.resolve() / 'coflux.toml'}: unknown setting 'hots' is ignored"
        " (known: host, project, environment, token)"
    ]
    assert _seen(api)[:2] == ("localhost:7777", "pf")


# --- configure ---------------------------------------------------------------------


def test_configure_writes_and_merges_coflux_toml(api: FakeApi, in_tmp: Path) -> None:
    result = api.invoke("configure", "--host", "h:1", "--project", 'we"ird', "--environment", "dev")
    assert result.exit_code == 0, result.output
    assert api.invoke("configure", "--environment", "staging").exit_code == 0
    import tomllib

    data = tomllib.loads((in_tmp / "coflux.toml").read_text())
    assert data == {"host": "h:1", "project": 'we"ird', "environment": "staging"}
    api.on("GET", '/api/projects/we"ird/runs', [])
    assert api.invoke("runs", "list").exit_code == 0
    assert _seen(api)[0] == "h:1"


def test_configure_prompts_without_options(api: FakeApi, in_tmp: Path) -> None:
    result = api.invoke("configure", input="\nproj\n\n")
    assert result.exit_code == 0, result.output
    assert (in_tmp / "coflux.toml").read_text() == (
        'host = "localhost:7777"\nproject = "proj"\nenvironment = "production"\n'
    )


# --- errors -------------------------------------------------------------------------


def test_api_errors_are_one_line(api: FakeApi) -> None:
    api.error("POST", "/api/projects", 409, "conflict", "project 'demo' exists")
    result = api.invoke("projects", "create", "demo")
    assert result.exit_code == 1
    assert one_error_line(result) == "error: project 'demo' exists (conflict, HTTP 409)"


def test_unreachable_server_is_one_line_naming_the_host() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--host", "127.0.0.1:1", "projects", "list"], env=NO_ENV)
    assert result.exit_code == 1
    assert "cannot reach the coflux server at 127.0.0.1:1" in one_error_line(result)


def test_bad_json_argument_names_it_and_sends_nothing(api: FakeApi) -> None:
    result = api.invoke("--project", "p", "submit", "hello", "greet", "1", "{bad")
    assert result.exit_code == 1
    assert one_error_line(result).startswith("error: argument 2 is not valid JSON")
    assert api.requests == []


def test_an_unquoted_string_argument_gets_a_hint(api: FakeApi) -> None:
    result = api.invoke("--project", "p", "submit", "hello", "greet", "world")
    assert result.exit_code == 1
    assert "must be quoted" in one_error_line(result)


def test_usage_errors_exit_with_2(api: FakeApi) -> None:
    result = api.invoke(
        "--project", "p", "environments", "update", "dev", "--base", "a", "--no-base"
    )
    assert result.exit_code == 2
    assert "cannot be used together" in result.stderr


# --- projects and environments ------------------------------------------------------------


def test_projects_create_prints_the_id(api: FakeApi) -> None:
    api.on("POST", "/api/projects", {"id": "p123", "name": "demo", "created_at": 1.0})
    result = api.invoke("projects", "create", "demo")
    assert (result.exit_code, result.stdout) == (0, "p123\n")


def test_environments_update_can_remove_the_base(api: FakeApi) -> None:
    env = {
        "id": "e",
        "name": "dev",
        "base": None,
        "status": "active",
        "created_at": 1.0,
        "updated_at": 1.0,
    }
    api.on("PATCH", "/api/projects/p/environments/dev", env)
    result = api.invoke("--project", "p", "environments", "update", "dev", "--no-base")
    assert result.exit_code == 0, result.output
    assert msgspec.json.decode(api.requests[-1].content) == {"base": None}


def test_environments_list_json(api: FakeApi) -> None:
    env = {
        "id": "e",
        "name": "dev",
        "base": "prod",
        "status": "paused",
        "created_at": 1.0,
        "updated_at": 2.0,
    }
    api.on("GET", "/api/projects/p/environments", [env])
    result = api.invoke("--project", "p", "environments", "list", "--json")
    assert result.exit_code == 0
    assert msgspec.json.decode(result.stdout) == [env]


# --- agent and server options --------------------------------------------------------------


def test_parse_provides() -> None:
    assert parse_provides(["gpu=A100,H100", "region=eu", "gpu=A100"]) == {
        "gpu": ("A100", "H100"),
        "region": ("eu",),
    }
    for bad in ("gpu", "=x", "gpu=", "gpu=a,,b", "g pu=x"):
        with pytest.raises(ValueError, match="KEY=VALUE"):
            parse_provides([bad])


@pytest.fixture
def agent_runs(monkeypatch: pytest.MonkeyPatch) -> list[AgentSettings]:
    started: list[AgentSettings] = []

    async def fake_run(settings: AgentSettings) -> None:
        started.append(settings)

    monkeypatch.setattr("coflux.cli.agent._run", fake_run)
    return started


def test_agent_builds_its_settings(api: FakeApi, agent_runs: list[AgentSettings]) -> None:
    result = api.invoke(
        "--project", "p", "agent", "--dev", "--provides", "gpu=A100,H100", "--provides", "region=eu",
        "--concurrency", "3", "hello.py", "pkg.flows",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (settings,) = agent_runs
    assert settings.repositories == ("hello.py", "pkg.flows")
    assert (settings.project, settings.environment, settings.host) == (
        "p",
        "production",
        "localhost:7777",
    )
    assert settings.provides == {"gpu": ("A100", "H100"), "region": ("eu",)}
    assert (settings.concurrency, settings.watch, settings.register, settings.isolate) == (
        3,
        True,
        True,
        False,
    )


def test_agent_defaults(api: FakeApi, agent_runs: list[AgentSettings]) -> None:
    assert api.invoke("--project", "p", "agent", "hello.py").exit_code == 0
    (settings,) = agent_runs
    assert settings.concurrency == default_concurrency() <= 32
    assert (settings.watch, settings.register, settings.provides) == (False, False, {})


def test_agent_rejects_bad_provides(api: FakeApi, agent_runs: list[AgentSettings]) -> None:
    result = api.invoke("--project", "p", "agent", "--provides", "gpu", "hello.py")
    assert result.exit_code == 2
    assert "expected KEY=VALUE[,VALUE...]" in result.stderr
    assert agent_runs == []


def test_server_has_its_own_host_option(
    monkeypatch: pytest.MonkeyPatch, api: FakeApi, tmp_path: Path
) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        "coflux.server.main.serve", lambda *args, **options: calls.append((*args, options))
    )
    result = api.invoke(
        "--host", "api:1", "server", "--host", "0.0.0.0", "--port", "9000",
        env={"COFLUX_SERVER_TOKENS": "a, b,"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    several = {"advertise": None, "lease_ttl": DEFAULT_LEASE_TTL}
    defaults = {"fsync": False, "database": None, "blobs": None, **several}
    assert calls == [("0.0.0.0", 9000, Path(".coflux"), 30.0, ["a", "b"], defaults)]
    assert api.invoke("server", "--token", "t").exit_code == 0
    assert calls[-1][4] == ["t"]
    assert api.invoke("server", "--fsync").exit_code == 0
    assert calls[-1][5]["fsync"] is True
    assert api.invoke("server", env={"COFLUX_SERVER_FSYNC": "1"}).exit_code == 0
    assert calls[-1][5]["fsync"] is True
    # The stores: options, or the environment.
    url = "postgresql://coflux@db/coflux"
    assert api.invoke("server", "--database", url, "--blobs", "s3://b/p").exit_code == 0
    assert calls[-1][5] == {"fsync": False, "database": url, "blobs": "s3://b/p", **several}
    env = {"COFLUX_DATABASE_URL": url, "COFLUX_BLOBS": "s3://b"}
    assert api.invoke("server", env=env).exit_code == 0
    assert calls[-1][5] == {"fsync": False, "database": url, "blobs": "s3://b", **several}
    # Several servers on one database: the address for the others, and the lease.
    options = ["--advertise", "http://10.0.0.5:7777", "--lease-ttl", "5"]
    assert api.invoke("server", *options).exit_code == 0
    assert (calls[-1][5]["advertise"], calls[-1][5]["lease_ttl"]) == ("http://10.0.0.5:7777", 5.0)
    env = {"COFLUX_SERVER_ADVERTISE": "http://h:1", "COFLUX_SERVER_LEASE_TTL": "3"}
    assert api.invoke("server", env=env).exit_code == 0
    assert (calls[-1][5]["advertise"], calls[-1][5]["lease_ttl"]) == ("http://h:1", 3.0)
    # The admin token from a file, or the environment, beside --token.
    token_file = tmp_path / "admin-token"
    token_file.write_text("from-file\n")
    assert api.invoke("server", "--token-file", str(token_file)).exit_code == 0
    assert calls[-1][4] == ["from-file"]
    assert api.invoke("server", env={"COFLUX_SERVER_TOKEN": "one"}).exit_code == 0
    assert calls[-1][4] == ["one"]


def test_a_command_imports_only_what_it_needs_and_the_version_is_shown() -> None:
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from coflux.cli.main import cli\n"
        "result = CliRunner().invoke(cli, ['runs', '--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted(m for m in sys.modules if m.startswith(('coflux.cli.', 'coflux.server',"
        " 'coflux.agent', 'asyncio'))))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert "coflux.cli.runs" in loaded
    for heavy in ("coflux.cli.agent", "coflux.cli.server", "coflux.server", "coflux.agent"):
        assert f"'{heavy}" not in loaded
    version = subprocess.run(
        [sys.executable, "-m", "coflux", "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("coflux ")
