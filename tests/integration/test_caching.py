"""Caching across environments, memo within a run, and defer (debounce)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually
from tests.support.runs import count, executions, inspect

SEMANTICS = REPOS / "semantics.py"


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
