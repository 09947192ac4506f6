"""Automatic retries: flaky tasks, retries running out, retries after an agent dies."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually
from tests.support.runs import executions

SEMANTICS = REPOS / "semantics.py"


def test_a_flaky_task_is_retried_until_it_succeeds(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_agent(SEMANTICS)
    counter = str(tmp_path / "counter")
    done = cluster.cli("submit", "semantics", "retrying", json.dumps(counter), "2", "--wait")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == 3
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    attempts = executions(cluster, run_id, "flaky")
    assert [(e["attempt"], e["state"]) for e in attempts] == [
        (1, "failed"), (2, "failed"), (3, "succeeded"),
    ]  # fmt: skip
    # The retries waited their delay (0.1 s) after the failure before being due.
    assert attempts[1]["created_at"] >= attempts[0]["completed_at"]


def test_retries_run_out_and_the_run_fails(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_agent(SEMANTICS)
    counter = json.dumps(str(tmp_path / "counter"))
    done = cluster.cli("submit", "semantics", "retrying", counter, "10", "--wait")
    assert done.returncode == 1
    assert "failure 4" in done.stderr  # the last attempt's error is the one reported


def test_a_killed_agent_s_task_is_retried_on_another_agent(cluster: Cluster) -> None:
    first = cluster.start_agent(SEMANTICS)
    run_id = cluster.cli("submit", "semantics", "survives_agent_loss", "1").stdout.strip()
    eventually(
        lambda: (
            [e["state"] for e in executions(cluster, run_id, "long_with_retry")] == ["assigned"]
        ),
        20,
    )
    # The task allows one retry: once the first agent is silent past the session
    # timeout, its execution is abandoned and retried on the second agent. (Killed
    # before the second starts: the task takes a second, and must not finish first.)
    first.kill9()
    cluster.start_agent(SEMANTICS)
    eventually(
        lambda: (
            [e["state"] for e in executions(cluster, run_id, "long_with_retry")]
            == ["abandoned", "succeeded"]
        ),
        30,
    )
