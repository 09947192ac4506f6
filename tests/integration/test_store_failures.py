"""A store that cannot write (a full disk) makes a project unavailable, not hung.

The server's file-size limit (RLIMIT_FSIZE, set on the running process from
outside) stands in for a full disk: every write to the project's database fails
while it is low, as with ENOSPC, and works again once it is raised, as when
space is freed.
"""

from __future__ import annotations

import resource

import pytest

from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually


def set_file_size_limit(cluster: Cluster, limit: int) -> None:
    assert cluster.server.process is not None
    pid = cluster.server.process.popen.pid
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))


@pytest.mark.embedded_storage  # fills the disk of the SQLite files
def test_a_full_disk_is_a_clear_refusal_and_the_project_recovers_once_space_is_freed(
    cluster: Cluster,
) -> None:
    agent = cluster.start_agent(REPOS / "hello.py")
    done = cluster.cli("submit", "hello", "hello", '"before"', "--wait")
    assert done.returncode == 0, done.stderr

    set_file_size_limit(cluster, 1)  # "the disk is full"
    refused = cluster.cli("submit", "hello", "hello", '"during"')
    assert refused.returncode != 0
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "project_unavailable" in lines[0], refused.stderr
    # Reads go on working from the store meanwhile.
    listed = cluster.cli("runs", "list", "--json")
    assert listed.returncode == 0 and '"before"' not in listed.stdout

    set_file_size_limit(cluster, resource.RLIM_INFINITY)  # "space was freed"

    def accepted() -> bool:
        return cluster.cli("submit", "hello", "hello", '"after"', "--wait").returncode == 0

    eventually(accepted, 60, interval=0.5, message="the project to serve again")
    # The agent was disconnected when the project failed, and reconnected.
    cluster.wait_connected(agent, times=2)
    # Nothing of the refused submission was recorded; the others ran once each.
    runs = cluster.api("GET", "/api/projects/test/runs").json()
    assert [r["state"] for r in runs] == ["succeeded", "succeeded"]
