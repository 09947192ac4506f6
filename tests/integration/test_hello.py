"""The main path, as a user drives it: register, run an agent, submit, inspect, read logs."""

from __future__ import annotations

import json

from tests.support.cluster import EXAMPLES, REPOS, Cluster

FLOWS = REPOS / "flows.py"


def test_submit_wait_prints_the_result_as_json(cluster: Cluster) -> None:
    cluster.start_agent(EXAMPLES / "hello.py")
    done = cluster.cli("submit", "hello", "print_greeting", '"Joe"', "--wait")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == "Hello, Joe!"
    assert "run " in done.stderr  # the run id goes to stderr, never stdout


def test_submit_without_wait_prints_only_the_run_id(cluster: Cluster) -> None:
    cluster.start_agent(EXAMPLES / "hello.py")
    submitted = cluster.cli("submit", "hello", "print_greeting", '"Ann"')
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.strip()
    result = cluster.cli("runs", "result", run_id, "--wait")
    assert json.loads(result.stdout) == "Hello, Ann!"


def test_inspect_json_has_steps_and_executions_with_times(cluster: Cluster) -> None:
    cluster.start_agent(EXAMPLES / "hello.py")
    run_id = cluster.cli("submit", "hello", "print_greeting", '"Joe"').stdout.strip()
    cluster.cli("runs", "result", run_id, "--wait")
    inspected = json.loads(cluster.cli("runs", "inspect", run_id, "--json").stdout)
    assert inspected["id"] == run_id
    steps = {s["target"]: s for s in inspected["steps"]}
    assert set(steps) == {"print_greeting", "build_greeting", "count_letters"}
    root = steps["print_greeting"]
    assert root["parent_execution"] is None
    for name in ("build_greeting", "count_letters"):
        assert steps[name]["parent_execution"] == root["executions"][0]["id"]
    for step in inspected["steps"]:
        (execution,) = step["executions"]
        assert execution["attempt"] == 1 and execution["state"] == "succeeded"
        assert execution["environment"] == "production"
        assert execution["created_at"] <= execution["assigned_at"] <= execution["completed_at"]


def test_parallel_submissions_all_complete(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS, args=["--concurrency", "4"])
    done = cluster.cli("submit", "flows", "fan_out", "20", "--wait")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == sum(n * 2 for n in range(20))
    runs = json.loads(cluster.cli("runs", "list", "--json").stdout)
    inspected = json.loads(cluster.cli("runs", "inspect", runs[0]["id"], "--json").stdout)
    assert len(inspected["steps"]) == 21


def test_runs_list_filters_by_target(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    cluster.cli("submit", "flows", "echo", "1", "--wait")
    cluster.cli("submit", "flows", "fan_out", "1", "--wait")
    listed = json.loads(cluster.cli("runs", "list", "--target", "echo", "--json").stdout)
    assert [r["target"] for r in listed] == ["echo"]
    assert listed[0]["state"] == "succeeded"


def test_print_stderr_child_process_and_structured_logs_are_captured(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    run_id = cluster.cli("submit", "flows", "noisy", '"t1"').stdout.strip()
    assert cluster.cli("runs", "result", run_id, "--wait").returncode == 0
    logs = cluster.cli("runs", "logs", run_id)
    assert logs.returncode == 0, logs.stderr
    for expected in ("stdout t1", "stderr t1", "child t1", "structured t1 42"):
        assert expected in logs.stdout, logs.stdout
    entries = json.loads(cluster.cli("runs", "logs", run_id, "--json").stdout)
    levels = {e["template"]: e["level"] for e in entries}
    assert levels["stdout t1"] == "stdout" and levels["stderr t1"] == "stderr"
    assert levels["structured {tag} {n}"] == "warning"


def test_values_round_trip_through_a_run(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    value = {"a": [1, 2.5, None, True], "b": {"nested": "x"}, "$": "dollar key"}
    done = cluster.cli("submit", "flows", "echo", json.dumps(value), "--wait")
    assert json.loads(done.stdout) == value


def test_follow_shows_steps_live_then_the_result(cluster: Cluster) -> None:
    cluster.start_agent(EXAMPLES / "hello.py")
    done = cluster.cli("submit", "hello", "print_greeting", '"Joe"', "--follow")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == "Hello, Joe!"
    assert "build_greeting" in done.stderr and "succeeded" in done.stderr


def test_isolated_agent_runs_each_execution_in_a_fresh_process(cluster: Cluster) -> None:
    cluster.start_agent(EXAMPLES / "hello.py", args=["--isolate"])
    done = cluster.cli("submit", "hello", "print_greeting", '"Iso"', "--wait")
    assert json.loads(done.stdout) == "Hello, Iso!"
