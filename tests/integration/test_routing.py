"""Routing: required tags against the tags agents provide."""

from __future__ import annotations

from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually
from tests.support.runs import executions

SEMANTICS = REPOS / "semantics.py"


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
