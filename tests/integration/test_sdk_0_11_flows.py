"""The upstream 0.11 docs' timeouts, recurring targets, groups, select and cancel
(tests/support/repos/upstream_flows.py), run unchanged through a real server and
agent and read back through the CLI."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually
from tests.support.runs import count, executions, inspect

FLOWS = REPOS / "upstream_flows.py"


def run_id_of(done: subprocess.CompletedProcess[str]) -> str:
    return done.stderr.split("run ", 1)[1].split()[0]


def submit(cluster: Cluster, target: str, *arguments: str) -> tuple[str, Any]:
    done = cluster.cli("submit", f"upstream_flows/{target}", *arguments, "--wait")
    assert done.returncode == 0, done.stderr
    return run_id_of(done), json.loads(done.stdout)


def submit_failing(cluster: Cluster, target: str, *options: str) -> tuple[str, list[str]]:
    """Submit a run that must not succeed; its id and its stderr lines."""
    done = cluster.cli("submit", f"upstream_flows/{target}", *options)
    assert (done.returncode, done.stdout) == (1, ""), done.stderr
    return run_id_of(done), done.stderr.splitlines()


def states(cluster: Cluster, run_id: str, target: str) -> list[str]:
    return [e["state"] for e in executions(cluster, run_id, target)]


def steps_of(cluster: Cluster, run_id: str, target: str) -> list[dict[str, Any]]:
    return [s for s in inspect(cluster, run_id)["steps"] if s["target"] == target]


# --- timeouts ---------------------------------------------------------------------


def test_a_task_past_its_timeout_is_stopped_and_its_caller_catches_it(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    run_id, result = submit(cluster, "guarded_call")
    assert result == "the API timed out"
    assert states(cluster, run_id, "call_external_api") == ["timed_out"]


def test_an_uncaught_timeout_fails_the_workflow_and_the_cli_shows_where(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    run_id, lines = submit_failing(cluster, "slow_pipeline", "--wait")
    assert f"error: run {run_id} failed: coflux.errors.ExecutionTimeout:" in lines[1], lines
    assert f"failing step: {run_id}:2 (upstream_flows.slow_task), execution {run_id}:2:1" in lines
    assert "timed out there after 1 s" in lines
    assert states(cluster, run_id, "slow_task") == ["timed_out"]
    assert states(cluster, run_id, "slow_pipeline") == ["failed"]


def test_a_timeout_is_retried_each_attempt_with_its_own_window(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    run_id, result = submit(cluster, "retried_call")
    assert result == "gave up: ExecutionTimeout"
    attempts = executions(cluster, run_id, "unreliable_api_call")
    assert [(e["attempt"], e["state"]) for e in attempts] == [
        (1, "timed_out"),
        (2, "timed_out"),
        (3, "timed_out"),
    ]
    for attempt in attempts:  # each ran its own second, from its own start
        assert attempt["completed_at"] - attempt["assigned_at"] >= 1


def test_a_workflow_past_its_timeout_ends_timed_out_with_its_child_cancelled(
    cluster: Cluster,
) -> None:
    cluster.start_agent(FLOWS)
    run_id, lines = submit_failing(cluster, "long_running_pipeline", "--follow")
    assert f"{run_id}:1  upstream_flows.long_running_pipeline  timed out" in lines
    assert f"error: run {run_id} timed out after 1 s" in lines
    assert (
        f"failing step: {run_id}:1 (upstream_flows.long_running_pipeline), execution {run_id}:1:1"
        in lines
    )
    assert states(cluster, run_id, "long_running_pipeline") == ["timed_out"]
    assert states(cluster, run_id, "child_of_long_pipeline") == ["cancelled"]
    again = cluster.cli("runs", "result", run_id)
    assert again.returncode == 1
    assert again.stderr.splitlines()[0] == f"error: run {run_id} timed out after 1 s"
    tree = cluster.cli("runs", "inspect", run_id).stdout.splitlines()
    assert tree[0].startswith(f"run {run_id}  upstream_flows.long_running_pipeline  timed out")
    listed = json.loads(cluster.cli("runs", "list", "--json").stdout)
    assert [(r["id"], r["state"]) for r in listed] == [(run_id, "timed_out")]


# --- recurring targets ----------------------------------------------------------------


def test_a_recurrent_workflow_runs_again_after_its_delay_until_it_returns_a_value(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.start_agent(FLOWS)
    counter = tmp_path / "polls"
    run_id, result = submit(cluster, "poll_for_updates", json.dumps(str(counter)))
    assert result == "up to date after 3 polls"
    (root,) = steps_of(cluster, run_id, "poll_for_updates")
    runs = root["executions"]
    assert [(e["attempt"], e["state"]) for e in runs] == [
        (1, "succeeded"),
        (2, "succeeded"),
        (3, "succeeded"),
    ]
    for before, after in itertools.pairwise(runs):
        assert after["assigned_at"] - before["completed_at"] >= 0.2 - 1e-6  # the delay
    # Each run made its own calls.
    assert len(steps_of(cluster, run_id, "fetch_updates")) == 3
    assert len(steps_of(cluster, run_id, "process_update")) == 3


def test_a_failure_is_retried_before_the_recurrence_goes_on(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.start_agent(FLOWS)
    run_id, result = submit(cluster, "resilient_polling", json.dumps(str(tmp_path / "n")))
    assert result == "polled 4 times"
    assert states(cluster, run_id, "resilient_polling") == [
        "succeeded",
        "succeeded",
        "failed",
        "succeeded",
    ]


def test_a_failure_without_retries_ends_the_recurrence(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_agent(FLOWS)
    counter = tmp_path / "n"
    run_id, lines = submit_failing(cluster, "fragile_polling", json.dumps(str(counter)), "--wait")
    assert f"error: run {run_id} failed: ConnectionError: feed unreachable" in lines
    assert states(cluster, run_id, "fragile_polling") == ["succeeded", "failed"]
    assert count(counter) == 2


def test_cancelling_a_recurrent_run_stops_it(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_agent(FLOWS)
    counter = tmp_path / "n"
    submitted = cluster.cli("submit", "upstream_flows/poll_forever", json.dumps(str(counter)))
    run_id = submitted.stdout.strip()
    eventually(lambda: count(counter) >= 2, 30)
    assert cluster.cli("runs", "cancel", run_id).returncode == 0
    done = cluster.cli("runs", "result", run_id, "--wait")
    assert done.returncode == 1 and "was cancelled" in done.stderr
    runs = states(cluster, run_id, "poll_forever")
    assert runs[-1] == "cancelled"
    assert set(runs[:-1]) == {"succeeded"} and len(runs) >= 2


# --- groups ---------------------------------------------------------------------------


def test_a_map_reduce_group_is_recorded_on_its_steps(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    run_id, result = submit(cluster, "wordcount_workflow")
    assert result == [["the", 5], ["cat", 2]]
    chapters = steps_of(cluster, run_id, "process_chapter")
    assert [s["group"] for s in chapters] == [{"index": 0, "name": "Process chapters"}] * 4
    (merge,) = steps_of(cluster, run_id, "merge_counters")
    assert merge.get("group") is None
    tree = cluster.cli("runs", "inspect", run_id).stdout
    assert tree.count('upstream_flows.process_chapter  [group "Process chapters"]  succeeded') == 4


def test_several_groups_and_calls_outside_any(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    run_id, result = submit(cluster, "my_workflow")
    assert result == ["first", "second", "third", 0, -1, 2, -3]
    groups = [(s["target"], s.get("group")) for s in inspect(cluster, run_id)["steps"][1:]]
    unnamed = {"index": 2}  # no name: the field is left out, as every default is
    assert groups == [
        ("first_task", {"index": 0, "name": "First group"}),
        ("second_task", {"index": 1, "name": "Second group"}),
        ("third_task", None),
        ("even_task", unnamed),
        ("odd_task", unnamed),
        ("even_task", unnamed),
        ("odd_task", unnamed),
    ]


# --- select and cancel ----------------------------------------------------------------


def test_select_returns_the_first_to_finish_and_cancels_the_rest(cluster: Cluster) -> None:
    # One slot: the workflow waiting in select must not hold it, or nothing else runs.
    cluster.start_agent(FLOWS, args=("--concurrency", "1"))
    run_id, result = submit(cluster, "race")
    assert result == "fast"
    assert states(cluster, run_id, "fast") == ["succeeded"]
    assert states(cluster, run_id, "slow") == ["cancelled"]


def test_the_others_keep_running_and_can_be_awaited_later(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_agent(FLOWS)
    run_id, result = submit(cluster, "search", '"q"', json.dumps(str(tmp_path / "b-answered")))
    assert result == ["b:q", "a:q"]
    assert states(cluster, run_id, "source_a") == ["succeeded"]


def test_select_inside_suspense_raises_timeout_error(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    run_id, result = submit(cluster, "impatient")
    assert result == "neither resolved in time"
    assert states(cluster, run_id, "slow") == ["cancelled", "cancelled"]
    assert states(cluster, run_id, "impatient") == ["succeeded"]  # not suspended


def test_cancel_of_several_leaves_the_finished_one(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    run_id, result = submit(cluster, "cancel_several")
    assert result == ["fast", "cancelled", "cancelled", "cancelled"]
    assert states(cluster, run_id, "fast") == ["succeeded"]
    assert states(cluster, run_id, "slow") == ["cancelled"] * 3
