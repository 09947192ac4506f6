"""A name holding NUL is refused at the edge, on every backend.

PostgreSQL's text cannot hold NUL: such a name reached the store, failed the
batch, and so failed the project (which rebuilt itself, but the submission was
lost with a 503). Names are refused with a 400 before anything is recorded.
"""

from __future__ import annotations

import json

from tests.support.cluster import EXAMPLES, Cluster


def test_an_idempotency_key_with_nul_is_a_400_and_the_project_serves_on(cluster: Cluster) -> None:
    cluster.start_agent(EXAMPLES / "hello.py")
    body = {
        "environment": "production", "repository": "hello", "target": "print_greeting",
        "arguments": [{"format": "json", "data": "Joe"}], "idempotency_key": "key\u0000",
    }  # fmt: skip
    refused = cluster.api("POST", "/api/projects/test/runs", json=body)
    assert refused.status_code == 400, refused.text
    assert "idempotency_key" in refused.json()["error"]["message"]
    # Nothing was recorded, and nothing failed: the next run goes through at once.
    assert json.loads(cluster.cli("runs", "list", "--json").stdout) == []
    done = cluster.cli("submit", "hello", "print_greeting", '"Ann"', "--wait")
    assert done.returncode == 0, done.stderr
    projects = cluster.api("GET", "/api/projects").json()
    assert [p["status"] for p in projects] == ["ok"]
