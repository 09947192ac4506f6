"""A new user's first hour, through the real ``coflux`` command: no ceremony for the
default environment, an agent that says when it is ready, a submission that waits
for the agent registering its repository, and refusals or warnings that say what
to do (issue 17, "The first hour")."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Storage, start_server
from tests.support.cluster import REPOS, Cluster, Output, coflux_command
from tests.support.eventually import eventually

HELLO = REPOS / "hello.py"
NEEDS_GPU = REPOS / "needs_gpu.py"


@pytest.fixture
def bare(tmp_path: Path, storage: Storage) -> Iterator[Cluster]:
    """A fresh server with project 'test' and no environment at all."""
    cluster = Cluster(start_server(tmp_path, storage), tmp_path)
    try:
        assert cluster.cli("projects", "create", "test").returncode == 0
        yield cluster
    finally:
        cluster.stop()


def environment_names(cluster: Cluster) -> list[str]:
    listed = cluster.cli("environments", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return [e["name"] for e in json.loads(listed.stdout)]


def error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused command prints (and it exits non-zero)."""
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def ready_lines(output: Output) -> list[str]:
    return [line for line in output.lines if "ready: " in line]


def test_projects_create_says_what_it_created(bare: Cluster) -> None:
    done = bare.cli("projects", "create", "second")
    assert done.returncode == 0, done.stderr
    project_id = done.stdout.strip()
    assert f"created project second (id {project_id})" in done.stderr


def test_an_agent_creates_production_and_says_once_that_it_is_ready(bare: Cluster) -> None:
    assert environment_names(bare) == []
    agent = bare.start_agent(HELLO)
    eventually(lambda: ready_lines(agent.output), 30, message=agent.output.text())
    [ready] = ready_lines(agent.output)
    assert (
        "ready: repository hello registered in environment production of project test"
        f" at http://{bare.server.host}; waiting for work"
    ) in ready
    assert environment_names(bare) == ["production"]
    done = bare.cli("submit", "hello", "hello", '"Ann"', "--wait")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == "Hello, Ann!"
    assert len(ready_lines(agent.output)) == 1


def test_a_submission_waits_for_the_agent_registering_its_repository(
    bare: Cluster, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    bare.start_agent(REPOS / "gated.py", wait=False, env={"GATE_FILE": str(gate)})
    submit = subprocess.Popen(
        coflux_command("submit", "gated", "opened"), env=bare.env(), cwd=bare.workdir,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert submit.stderr is not None
        # Refused (nothing is registered: its agent is importing it), so it waits...
        first = submit.stderr.readline()
        assert "waiting up to" in first, first
        gate.touch()  # ...until the agent registers it and connects
        stdout, stderr = submit.communicate(timeout=60)
    finally:
        if submit.poll() is None:
            submit.kill()
            submit.wait()
    assert submit.returncode == 0, stderr
    assert "warning" not in stderr
    run_id = stdout.strip()
    done = bare.cli("runs", "result", run_id, "--wait")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == "opened"


def test_a_refused_submission_does_not_create_production(bare: Cluster) -> None:
    done = bare.cli("submit", "hello", "hello", '"Ann"')  # no agent: it waits, then fails
    assert done.returncode == 1
    assert "repository 'hello' is not registered in environment 'production'" in done.stderr
    assert environment_names(bare) == []
    manifests = bare.api("GET", "/api/projects/test/environments/production/manifests")
    assert (manifests.status_code, manifests.json()) == (200, [])


def test_other_missing_environments_are_refused_naming_the_command(bare: Cluster) -> None:
    staging = bare.env(COFLUX_ENVIRONMENT="staging")
    command = "coflux environments create staging"
    assert command in error_line(bare.cli("submit", "hello", "hello", env=staging))
    refused = bare.cli("agent", str(HELLO), env=staging)
    assert refused.returncode == 1
    assert command in refused.stderr.strip().splitlines()[-1]
    assert environment_names(bare) == []


def test_a_misspelt_name_gets_a_suggestion_and_a_task_is_not_a_workflow(
    cluster: Cluster,
) -> None:
    cluster.start_agent(HELLO)
    cases = [
        ("hello", "helo", "no workflow 'helo' in repository 'hello'; did you mean 'hello'?"),
        (
            "helo",
            "hello",
            "repository 'helo' is not registered in environment 'production';"
            " did you mean 'hello'?",
        ),
        ("hello", "greet", "'greet' is a task, not a workflow: tasks run only when called"
         " from a workflow"),
    ]  # fmt: skip
    for repository, target, message in cases:
        line = error_line(cluster.cli("submit", repository, target, '"Ann"'))
        assert line.startswith(f"error: {message} ("), line  # then the reason and status
        body = {"environment": "production", "repository": repository, "target": target}
        answer = cluster.api("POST", "/api/projects/test/runs", json=body)
        assert answer.status_code == 404
        assert answer.json()["error"]["message"] == message


def test_a_run_no_connected_agent_can_start_is_queued_with_a_warning(cluster: Cluster) -> None:
    assert cluster.cli("register", str(NEEDS_GPU)).returncode == 0

    def submitted(warning: str | None) -> str:
        done = cluster.cli("submit", "needs_gpu", "train")
        assert done.returncode == 0, done.stderr
        run_id = done.stdout.strip()
        expected = [f"warning: run {run_id} is queued: {warning}"] if warning else []
        assert done.stderr.strip().splitlines() == expected
        return run_id

    unhosted = submitted("no agent in production hosts needs_gpu.train")
    cluster.start_agent(NEEDS_GPU)
    untagged = submitted("no agent that hosts needs_gpu.train provides gpu=A100")
    cluster.start_agent(NEEDS_GPU, args=["--provides", "gpu=A100"])
    submitted(None)
    for run_id in (unhosted, untagged):  # queued, and run once an agent could
        done = cluster.cli("runs", "result", run_id, "--wait")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == "trained"


def test_ctrl_c_of_an_idle_agent_exits_quietly(cluster: Cluster) -> None:
    # Its own session, so that Ctrl-C reaches the agent's whole process group (its
    # executors too), as a terminal's does.
    agent = subprocess.Popen(
        coflux_command("agent", str(HELLO)), env=cluster.env(), cwd=cluster.workdir,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert agent.stderr is not None
        started: list[str] = []
        for line in agent.stderr:
            started.append(line)
            if "ready: " in line:
                break
        assert started and "ready: " in started[-1], started
        os.killpg(agent.pid, signal.SIGINT)
        _, stderr = agent.communicate(timeout=30)
    finally:
        if agent.poll() is None:
            os.killpg(agent.pid, signal.SIGKILL)
            agent.wait()
    assert agent.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
