"""Tokens as an operator and a team use them: a real server, agents and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster import EXAMPLES, Cluster, Server, base_env, coflux_command
from tests.support.eventually import eventually

ADMIN = "the-admin-token-of-this-server"


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[Cluster]:
    """A server whose admin token is read from a file; projects alpha and beta."""
    token_file = tmp_path / "admin-token"
    token_file.write_text(ADMIN + "\n")
    server = Server(tmp_path / "data", args=["--token-file", str(token_file)]).start()
    cluster = Cluster(server, tmp_path, project="alpha")
    try:
        for project in ("alpha", "beta"):
            created = cluster.cli("projects", "create", project, env=admin(cluster))
            assert created.returncode == 0, created.stderr
            made = cluster.cli("environments", "create", "production", env=admin(cluster, project))
            assert made.returncode == 0, made.stderr
        yield cluster
    finally:
        cluster.stop()


def admin(cluster: Cluster, project: str = "alpha") -> dict[str, str]:
    return cluster.env(COFLUX_TOKEN=ADMIN, COFLUX_PROJECT=project)


def create_token(cluster: Cluster, *options: str) -> str:
    created = cluster.cli("tokens", "create", *options, env=admin(cluster))
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("cfx_") and "\n" not in token
    return token


def test_a_project_token_runs_its_project_end_to_end(secured: Cluster) -> None:
    token = create_token(secured, "--project", "alpha", "--description", "ci")
    as_team = secured.env(COFLUX_TOKEN=token)
    secured.start_agent(EXAMPLES / "hello.py", env=as_team)
    done = secured.cli("submit", "hello", "print_greeting", '"Joe"', "--wait", env=as_team)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == "Hello, Joe!"
    listed = secured.cli("projects", "list", "--json", env=as_team)
    assert [p["name"] for p in json.loads(listed.stdout)] == ["alpha"]


def test_a_project_token_opens_no_other_project(secured: Cluster) -> None:
    token = create_token(secured, "--project", "alpha")
    as_team = secured.env(COFLUX_TOKEN=token, COFLUX_PROJECT="beta")
    refused = secured.cli("runs", "list", env=as_team)
    assert refused.returncode != 0
    assert "this token does not give access to project beta" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    # An agent with it cannot join beta: it stops with one line, and nothing joined.
    agent = secured.start_agent(EXAMPLES / "hello.py", env=as_team, wait=False)
    eventually(lambda: agent.popen.poll() is not None, 30, message="agent to give up")
    assert agent.popen.returncode != 0
    assert "does not give access to project beta" in agent.output.text()
    agents = secured.api(
        "GET",
        "/api/projects/beta/environments/production/agents",
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert agents.status_code == 200 and agents.json() == []


def test_a_read_only_token_reads_and_changes_nothing(secured: Cluster) -> None:
    secured.start_agent(EXAMPLES / "hello.py", env=admin(secured))
    run = secured.cli("submit", "hello", "print_greeting", '"Ann"', "--wait", env=admin(secured))
    assert run.returncode == 0, run.stderr
    reader = secured.env(COFLUX_TOKEN=create_token(secured, "--project", "alpha", "--read-only"))
    listed = secured.cli("runs", "list", "--json", env=reader)
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 1
    refused = secured.cli("submit", "hello", "print_greeting", '"Bob"', env=reader)
    assert refused.returncode != 0
    assert "only read" in refused.stderr
    again = secured.cli("runs", "list", "--json", env=reader)
    assert len(json.loads(again.stdout)) == 1


def test_revoking_a_token_shuts_it_out_at_once(secured: Cluster) -> None:
    token = create_token(secured, "--project", "alpha")
    as_team = secured.env(COFLUX_TOKEN=token)
    assert secured.cli("runs", "list", env=as_team).returncode == 0
    listed = json.loads(secured.cli("tokens", "list", "--json", env=admin(secured)).stdout)
    (entry,) = listed
    assert entry["revoked_at"] is None and token not in json.dumps(listed)
    revoked = secured.cli("tokens", "revoke", entry["id"], env=admin(secured))
    assert revoked.returncode == 0, revoked.stderr
    refused = secured.cli("runs", "list", env=as_team)
    assert refused.returncode != 0
    assert "a valid token is required" in refused.stderr
    # Managing tokens is for the admin only.
    other = create_token(secured, "--project", "alpha")
    by_team = secured.cli("tokens", "list", env=secured.env(COFLUX_TOKEN=other))
    assert by_team.returncode != 0 and "admin" in by_team.stderr


def test_the_admin_token_may_come_from_the_environment(tmp_path: Path) -> None:
    server = Server(tmp_path / "data")
    server.start = lambda: _start_with_env(server)  # type: ignore[method-assign]
    server.start()
    try:
        cluster = Cluster(server, tmp_path)
        assert cluster.cli("projects", "list").returncode != 0
        allowed = cluster.cli("projects", "list", env=cluster.env(COFLUX_TOKEN=ADMIN))
        assert allowed.returncode == 0, allowed.stderr
    finally:
        server.stop()


def _start_with_env(server: Server) -> Server:
    from tests.support.cluster import Process

    args = coflux_command("server", "--port", str(server.port), "--data-dir", str(server.data_dir))
    server.process = Process(args, base_env(COFLUX_SERVER_TOKEN=ADMIN), server.data_dir.parent)
    server.process.start()
    eventually(server._ready, 20, message="server")
    return server


def test_an_unreadable_token_file_is_one_line_and_no_server(tmp_path: Path) -> None:
    import subprocess

    missing = tmp_path / "nope"
    result = subprocess.run(
        coflux_command("server", "--port", "0", "--data-dir", str(tmp_path / "d"),
                       "--token-file", str(missing)),
        capture_output=True, text=True, timeout=60, env=base_env(),
    )  # fmt: skip
    assert result.returncode != 0
    assert "cannot read the token file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "d").exists()


def test_an_environment_limited_token_serves_only_that_environment(secured: Cluster) -> None:
    made = secured.cli("environments", "create", "staging", env=admin(secured))
    assert made.returncode == 0, made.stderr
    # COFLUX_ENVIRONMENT is production here: --environment is the token's own limit.
    created = secured.cli(
        "tokens", "create", "--project", "alpha", "--environment", "staging", env=admin(secured)
    )
    assert created.returncode == 0, created.stderr
    assert "(staging; read-write)" in created.stderr
    as_staging = secured.env(COFLUX_TOKEN=created.stdout.strip(), COFLUX_ENVIRONMENT="staging")
    secured.start_agent(EXAMPLES / "hello.py", env=as_staging)
    done = secured.cli("submit", "hello", "print_greeting", '"Sam"', "--wait", env=as_staging)
    assert done.returncode == 0, done.stderr
    in_production = {**as_staging, "COFLUX_ENVIRONMENT": "production"}
    refused = secured.cli("submit", "hello", "print_greeting", '"Sam"', env=in_production)
    assert refused.returncode != 0
    assert "does not give access to environment 'production'" in refused.stderr
    listed = json.loads(secured.cli("environments", "list", "--json", env=as_staging).stdout)
    assert [e["name"] for e in listed] == ["staging"]
