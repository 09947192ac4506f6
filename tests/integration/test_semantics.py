"""Run semantics end to end: retries, workflows calling workflows, wait, re-runs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually

SEMANTICS = REPOS / "semantics.py"


def inspect(cluster: Cluster, run_id: str) -> dict:  # type: ignore[type-arg]
    done = cluster.cli("runs", "inspect", run_id, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def executions(cluster: Cluster, run_id: str, target: str) -> list[dict]:  # type: ignore[type-arg]
    steps = [s for s in inspect(cluster, run_id)["steps"] if s["target"] == target]
    return [e for s in steps for e in s["executions"]]


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


def test_workflows_called_from_workflows_and_tasks_start_separate_runs(cluster: Cluster) -> None:
    cluster.start_agent(SEMANTICS)
    done = cluster.cli("submit", "semantics", "spawner", "4", "--wait")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == 40 + 41
    listed = json.loads(cluster.cli("runs", "list", "--json").stdout)
    assert sorted(r["target"] for r in listed) == ["child", "child", "spawner"]
    assert all(r["state"] == "succeeded" for r in listed)
    spawner = next(r["id"] for r in listed if r["target"] == "spawner")
    spawned = executions(cluster, spawner, "child")
    assert [e["state"] for e in spawned] == ["spawned", "spawned"]


def test_wait_holds_an_execution_until_its_argument_resolved(cluster: Cluster) -> None:
    cluster.start_agent(SEMANTICS, args=["--concurrency", "4"])
    done = cluster.cli("submit", "semantics", "waits", "0.5", "--wait")
    assert done.returncode == 0, done.stderr
    finished_slow, started_after = json.loads(done.stdout)
    assert started_after >= finished_slow
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    (slow,) = executions(cluster, run_id, "slow")
    (after,) = executions(cluster, run_id, "after")
    assert after["assigned_at"] >= slow["completed_at"]


def test_fire_and_forget_submissions_finish_after_their_caller(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.start_agent(SEMANTICS)
    marker = tmp_path / "marker"
    done = cluster.cli("submit", "semantics", "fire_and_forget", json.dumps(str(marker)), "--wait")
    assert json.loads(done.stdout) == "returned"
    eventually(marker.exists, 10)


def test_a_production_step_is_rerun_in_dev_with_changed_code(cluster: Cluster) -> None:
    assert cluster.cli("environments", "create", "dev", "--base", "production").returncode == 0
    cluster.start_agent(REPOS / "v1" / "versioned.py")
    cluster.start_agent(REPOS / "v2" / "versioned.py", environment="dev")
    done = cluster.cli("submit", "versioned", "pipeline", "1", "--wait")
    assert json.loads(done.stdout) == "v1:2"
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    compute = next(s for s in inspect(cluster, run_id)["steps"] if s["target"] == "compute")

    rerun = cluster.cli("runs", "rerun", compute["id"], "--environment", "dev")
    assert rerun.returncode == 0, rerun.stderr
    execution_id = rerun.stdout.strip()
    assert execution_id == f"{compute['id']}:2"
    eventually(lambda: executions(cluster, run_id, "compute")[-1]["state"] == "succeeded", 20)
    latest = executions(cluster, run_id, "compute")[-1]
    assert latest["environment"] == "dev"
    # Upstream was not executed again: one execution of it, in production.
    assert [e["environment"] for e in executions(cluster, run_id, "upstream")] == ["production"]


def test_rerun_in_an_unrelated_environment_is_refused(cluster: Cluster) -> None:
    assert cluster.cli("environments", "create", "other").returncode == 0
    cluster.start_agent(REPOS / "v1" / "versioned.py")
    cluster.cli("submit", "versioned", "pipeline", "1", "--wait")
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    refused = cluster.cli("runs", "rerun", f"{run_id}:2", "--environment", "other")
    assert refused.returncode == 1
    assert "re-run" in refused.stderr and "other" in refused.stderr
    assert len(executions(cluster, run_id, "upstream")) == 1


def test_rerunning_the_workflow_step_reruns_the_run(cluster: Cluster) -> None:
    cluster.start_agent(REPOS / "v1" / "versioned.py")
    cluster.cli("submit", "versioned", "pipeline", "5", "--wait")
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    assert cluster.cli("runs", "rerun", f"{run_id}:1").returncode == 0
    result = cluster.cli("runs", "result", run_id, "--wait")
    assert json.loads(result.stdout) == "v1:6"
    assert [e["attempt"] for e in executions(cluster, run_id, "pipeline")] == [1, 2]


def count(path: Path) -> int:
    return int(path.read_text()) if path.exists() else 0


def test_cache_hits_come_from_the_environment_or_its_bases_only(
    cluster: Cluster, tmp_path: Path
) -> None:
    for name, base in (("dev", "production"), ("other", None)):
        args = ["environments", "create", name] + (["--base", base] if base else [])
        assert cluster.cli(*args).returncode == 0
    for environment in ("production", "dev", "other"):
        cluster.start_agent(SEMANTICS, environment=environment)
    counter = tmp_path / "counter"
    args = ["submit", "semantics", "uses_cache", json.dumps(str(counter)), "3", "--wait"]
    assert json.loads(cluster.cli(*args).stdout) == 9
    assert count(counter) == 1
    dev = cluster.cli(*args, env=cluster.env(COFLUX_ENVIRONMENT="dev"))
    assert json.loads(dev.stdout) == 9, dev.stderr
    assert count(counter) == 1  # inherited from production: not executed again
    other = cluster.cli(*args, env=cluster.env(COFLUX_ENVIRONMENT="other"))
    assert json.loads(other.stdout) == 9
    assert count(counter) == 2  # unrelated environment: executed again
    # The hit is recorded as a cached step pointing at the cached result.
    dev_run = json.loads(
        cluster.cli("runs", "list", "--json", env=cluster.env(COFLUX_ENVIRONMENT="dev")).stdout
    )[0]["id"]
    assert [e["state"] for e in executions(cluster, dev_run, "expensive")] == ["cached"]


def test_rerunning_a_cached_step_forces_execution_and_later_hits_use_it(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.start_agent(SEMANTICS)
    counter = tmp_path / "counter"
    args = ["submit", "semantics", "uses_cache", json.dumps(str(counter)), "4", "--wait"]
    cluster.cli(*args)
    cluster.cli(*args)
    assert count(counter) == 1
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    assert cluster.cli("runs", "rerun", f"{run_id}:2").returncode == 0
    eventually(lambda: count(counter) == 2, 20)
    cluster.cli(*args)
    assert count(counter) == 2
    latest = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    (hit,) = [s for s in inspect(cluster, latest)["steps"] if s["target"] == "expensive"]
    assert hit["executions"][0]["state"] == "cached"


def test_memoised_equal_calls_in_a_run_execute_once(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_agent(SEMANTICS)
    counter = tmp_path / "counter"
    done = cluster.cli("submit", "semantics", "memo_twice", json.dumps(str(counter)), "--wait")
    assert json.loads(done.stdout) == [101, 101, 102]
    assert count(counter) == 2
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    assert len(inspect(cluster, run_id)["steps"]) == 3  # the workflow and two distinct calls


def test_five_deferred_calls_execute_once(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_agent(SEMANTICS)
    counter = tmp_path / "counter"
    done = cluster.cli("submit", "semantics", "defer_five", json.dumps(str(counter)), "--wait")
    assert json.loads(done.stdout) == ["ran"] * 5
    assert count(counter) == 1
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    states = [e["state"] for e in executions(cluster, run_id, "debounced")]
    assert states == ["deferred"] * 4 + ["succeeded"]


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
    # timeout, its execution is abandoned and retried on the second agent.
    cluster.start_agent(SEMANTICS)
    first.kill9()
    eventually(
        lambda: (
            [e["state"] for e in executions(cluster, run_id, "long_with_retry")]
            == ["abandoned", "succeeded"]
        ),
        30,
    )


def test_stubs_call_targets_hosted_by_another_agent(cluster: Cluster) -> None:
    cluster.start_agent(REPOS / "uses_stubs.py")
    cluster.start_agent(REPOS / "remote_tasks.py")
    done = cluster.cli("submit", "uses_stubs", "calls_stubs", '"t"', "--wait")
    assert done.returncode == 0, done.stderr
    caller_pid, where, tripled = json.loads(done.stdout)
    tag, _, remote_pid = where.partition("@")
    assert tag == "t" and int(remote_pid) != caller_pid
    assert tripled == 6


def test_suspend_ends_the_execution_and_runs_it_again_later(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.start_agent(SEMANTICS)
    marker = json.dumps(str(tmp_path / "marker"))
    done = cluster.cli("submit", "semantics", "suspends_once", marker, "--wait")
    assert json.loads(done.stdout) == "resumed", done.stderr
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    attempts = executions(cluster, run_id, "suspends_once")
    assert [e["state"] for e in attempts] == ["suspended", "succeeded"]
    # Due 0.2 s after cf.suspend was called, a moment before the suspension was recorded.
    assert attempts[1]["assigned_at"] - attempts[0]["completed_at"] >= 0.1


def test_suspense_suspends_a_long_wait_and_memoised_calls_do_not_run_again(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.start_agent(SEMANTICS)
    counter = tmp_path / "counter"
    done = cluster.cli(
        "submit", "semantics", "suspense_waits", json.dumps(str(counter)), "1", "--wait"
    )
    assert done.returncode == 0, done.stderr
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    states = [e["state"] for e in executions(cluster, run_id, "suspense_waits")]
    assert states[0] == "suspended" and states[-1] == "succeeded"
    assert count(counter) == 1  # the memoised call was reused by the second attempt
    assert len(executions(cluster, run_id, "slow_once")) == 1  # so was the awaited one


def test_requires_routes_to_an_agent_that_provides_the_tags(cluster: Cluster) -> None:
    cluster.start_agent(SEMANTICS, args=["--concurrency", "4"])
    run_id = cluster.cli("submit", "semantics", "needs_gpu").stdout.strip()
    eventually(
        lambda: [e["state"] for e in executions(cluster, run_id, "on_gpu")] == ["queued"], 20
    )
    # No agent provides a GPU: the step waits, queued.
    assert cluster.cli("runs", "result", run_id).stdout == ""
    cluster.start_agent(SEMANTICS, args=["--provides", "gpu=H100"])
    done = cluster.cli("runs", "result", run_id, "--wait")
    assert done.returncode == 0, done.stderr
    (execution,) = executions(cluster, run_id, "on_gpu")
    agents = cluster.api("GET", "/api/projects/test/environments/production/agents").json()
    gpu_session = next(a["session_id"] for a in agents if a["provides"])
    assert execution["session_id"] == gpu_session


def test_execution_cancel_from_code_cancels_the_child(cluster: Cluster) -> None:
    cluster.start_agent(SEMANTICS)
    done = cluster.cli("submit", "semantics", "cancels_its_child", "600", "--wait")
    assert json.loads(done.stdout) == "cancelled", done.stderr
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    assert [e["state"] for e in executions(cluster, run_id, "slow")] == ["cancelled"]


def test_rerunning_a_workflow_reuses_its_memoised_steps(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_agent(SEMANTICS)
    counter, marker = tmp_path / "counter", tmp_path / "marker"
    args = [json.dumps(str(counter)), json.dumps(str(marker))]
    failed = cluster.cli("submit", "semantics", "memo_then_fragile", *args, "--wait")
    assert failed.returncode == 1 and "marker missing" in failed.stderr
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    marker.write_text("present")
    assert cluster.cli("runs", "rerun", f"{run_id}:1").returncode == 0
    done = cluster.cli("runs", "result", run_id, "--wait")
    assert json.loads(done.stdout) == "fixed", done.stderr
    assert count(counter) == 1  # the memoised step was reused by the re-run
