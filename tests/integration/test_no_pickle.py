"""``coflux agent --no-pickle`` (or ``COFLUX_AGENT_NO_PICKLE=1``): its executors never
unpickle a value nor make one; the execution that would fails with a clear error.

Two real agents: an ordinary one hosting ``pickle_maker`` (it pickles what it sends,
and its ``Touch`` creates a file when unpickled) and the agent under test hosting
``pickle_taker``. The ordinary mode shows what the option prevents.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster import REPOS, Cluster

DISABLED = "coflux.serialization.PickleDisabledError"
MODES = {
    "ordinary": ((), {}),
    "flag": (("--no-pickle",), {}),
    "environment": ((), {"COFLUX_AGENT_NO_PICKLE": "1"}),
}


@pytest.fixture(params=list(MODES))
def mode(request: pytest.FixtureRequest, cluster: Cluster) -> str:
    args, env = MODES[request.param]
    cluster.start_agent(REPOS / "pickle_maker.py")
    cluster.start_agent(REPOS / "pickle_taker.py", args=args, env=env)
    return str(request.param)


def submit(cluster: Cluster, repository: str, target: str, *args: str) -> tuple[int, str, str]:
    done = cluster.cli("submit", repository, target, *args, "--wait")
    return done.returncode, done.stdout, done.stderr


def step_errors(cluster: Cluster) -> dict[str, Any]:
    """The error of each failed step of the latest run, by target."""
    run_id = json.loads(cluster.cli("runs", "list", "--json").stdout)[0]["id"]
    run = cluster.api("GET", f"/api/projects/test/runs/{run_id}").json()
    return {
        step["target"]: step["executions"][-1]["outcome"]["error"]
        for step in run["steps"]
        if step["executions"][-1]["state"] == "failed"
    }


def test_a_pickled_argument_is_not_unpickled(cluster: Cluster, mode: str, tmp_path: Path) -> None:
    marker = tmp_path / "argument"
    code, stdout, stderr = submit(cluster, "pickle_maker", "send", json.dumps(str(marker)))
    if mode == "ordinary":
        assert (code, json.loads(stdout)) == (0, "NoneType"), stderr
        assert marker.exists()  # the taker unpickled it (and so ran what it said)
        return
    assert code == 1 and DISABLED in stderr
    error = step_errors(cluster)["take"]
    assert error["type"] == DISABLED
    assert error["message"].startswith("arguments[0]: a pickled pickle_maker.Touch cannot be")
    assert "--no-pickle" in error["message"]
    assert not marker.exists()


def test_a_pickled_result_is_not_unpickled(cluster: Cluster, mode: str, tmp_path: Path) -> None:
    marker = tmp_path / "result"
    code, stdout, stderr = submit(cluster, "pickle_taker", "fetch", json.dumps(str(marker)))
    if mode == "ordinary":
        assert (code, json.loads(stdout)) == (0, "NoneType"), stderr
        assert marker.exists()
        return
    assert code == 1 and DISABLED in stderr
    errors = step_errors(cluster)
    assert list(errors) == ["fetch"]  # `make` succeeded; `fetch` could not load its result
    assert errors["fetch"]["type"] == DISABLED
    assert "a pickled pickle_maker.Touch cannot be loaded" in errors["fetch"]["message"]
    assert not marker.exists()


def test_a_result_only_pickle_can_carry_fails_rather_than_being_pickled(
    cluster: Cluster, mode: str
) -> None:
    code, stdout, stderr = submit(cluster, "pickle_taker", "opaque")
    if mode == "ordinary":
        assert (code, json.loads(stdout)) == (0, "<pickled pickle_taker.Opaque>"), stderr
    else:
        assert code == 1, stdout
        error = step_errors(cluster)["opaque"]
        assert error["type"] == DISABLED
        assert error["message"].startswith(
            "a value of type pickle_taker.Opaque can only be pickled, and pickle is turned off"
        )
    # JSON values are unaffected either way.
    code, stdout, stderr = submit(cluster, "pickle_taker", "plain", "3")
    assert (code, json.loads(stdout)) == (0, [0, 1, 2]), stderr
