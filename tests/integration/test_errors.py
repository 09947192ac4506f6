"""Failures reach callers and users; bad input gets one clear line and changes nothing."""

from __future__ import annotations

import json

import pytest

from tests.support.cluster import EXAMPLES, REPOS, Cluster

FLOWS = REPOS / "flows.py"


def runs(cluster: Cluster) -> list[dict[str, object]]:
    listed = cluster.cli("runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return list(json.loads(listed.stdout))


def test_a_failing_task_fails_the_run_with_type_message_step_and_traceback(
    cluster: Cluster,
) -> None:
    cluster.start_agent(FLOWS)
    done = cluster.cli("submit", "flows", "divide_by_zero", "1", "--wait")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "ZeroDivisionError" in done.stderr
    assert "division by zero" in done.stderr
    assert "flows.divide" in done.stderr  # the failing step
    assert "Traceback" in done.stderr and "return a / b" in done.stderr
    inspected = json.loads(cluster.cli("runs", "inspect", runs(cluster)[0]["id"], "--json").stdout)
    assert [s["executions"][0]["state"] for s in inspected["steps"]] == ["failed", "failed"]


def test_callers_can_catch_a_child_error_by_its_original_type(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    done = cluster.cli("submit", "flows", "recovers", "1", "--wait")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == "caught ZeroDivisionError"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["submit", "hello", "print_greeting", "{not json"], "argument 1"),
        (["submit", "hello", "print_greeting"], "argument"),
        (["submit", "hello", "print_greeting", '"a"', '"b"'], "argument"),
        (["submit", "nope", "print_greeting", '"a"'], "repository 'nope'"),
        (["submit", "hello", "nope", '"a"'], "no workflow 'nope'"),
        (
            ["submit", "hello", "build_greeting", '"a"'],
            "'build_greeting' is a task, not a workflow",
        ),
        (["--project", "nope", "submit", "hello", "print_greeting", '"a"'], "project 'nope'"),
        (
            ["--environment", "nope", "submit", "hello", "print_greeting", '"a"'],
            "environment 'nope'",
        ),
        (["environments", "create", "bad name!"], "invalid environment name"),
        (["environments", "update", "production", "--base", "production"], "cycle"),
        (["runs", "inspect", "nope"], "run nope does not exist"),
    ],
)
def test_bad_input_gets_one_line_and_changes_nothing(
    cluster: Cluster, args: list[str], fragment: str
) -> None:
    assert cluster.cli("register", str(EXAMPLES / "hello.py")).returncode == 0
    before = (runs(cluster), cluster.cli("environments", "list", "--json").stdout)
    done = cluster.cli(*args)
    assert done.returncode == 1
    assert fragment in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    # One line, after the note of a submission that waited for its repository.
    lines = [line for line in done.stderr.strip().splitlines() if "waiting up to" not in line]
    assert len(lines) == 1, done.stderr
    assert (runs(cluster), cluster.cli("environments", "list", "--json").stdout) == before


@pytest.mark.parametrize("action", ["pause", "archive"])
def test_submitting_to_a_paused_or_archived_environment_is_refused(
    cluster: Cluster, action: str
) -> None:
    assert cluster.cli("environments", "create", "dev", "--base", "production").returncode == 0
    env = cluster.env(COFLUX_ENVIRONMENT="dev")
    assert cluster.cli("register", str(EXAMPLES / "hello.py"), env=env).returncode == 0
    assert cluster.cli("environments", action, "dev").returncode == 0
    done = cluster.cli("submit", "hello", "print_greeting", '"a"', env=env)
    assert done.returncode == 1
    assert "dev" in done.stderr and ("paused" in done.stderr or "does not exist" in done.stderr)
    assert runs(cluster) == []


def test_base_cycles_are_refused_through_the_cli(cluster: Cluster) -> None:
    assert cluster.cli("environments", "create", "staging", "--base", "production").returncode == 0
    assert cluster.cli("environments", "create", "dev", "--base", "staging").returncode == 0
    done = cluster.cli("environments", "update", "production", "--base", "dev")
    assert done.returncode == 1 and "cycle" in done.stderr
    listed = {
        e["name"]: e["base"]
        for e in json.loads(cluster.cli("environments", "list", "--json").stdout)
    }
    assert listed == {"production": None, "staging": "production", "dev": "staging"}


def test_an_agent_whose_repository_fails_to_import_exits_with_the_error(cluster: Cluster) -> None:
    agent = cluster.start_agent(REPOS / "broken_import.py", wait=False)
    assert agent.popen.wait(30) == 1
    assert "error:" in agent.output.text()
    # Every warm executor fails the same way: the traceback is printed once.
    assert agent.output.count("Traceback (most recent call last)") == 1, agent.output.text()
