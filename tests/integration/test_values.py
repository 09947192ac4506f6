"""Values cross agents exactly; large ones go through the blob store, never the server's
orchestrator; results render readably (JSON where possible, a label for pickled ones)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from tests.support.cluster import REPOS, Cluster


@pytest.fixture
def two_agents(cluster: Cluster) -> Cluster:
    """``producer`` and ``consumer`` hosted by two agents: every call crosses over."""
    cluster.start_agent(REPOS / "producer.py")
    cluster.start_agent(REPOS / "consumer.py")
    return cluster


def result(cluster: Cluster, *args: str) -> Any:
    done = cluster.cli("submit", "consumer", *args, "--wait")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def outcome_values(cluster: Cluster, run_id: str) -> dict[str, dict[str, Any]]:
    """The result ``Value`` of each step, by target."""
    inspected = cluster.api("GET", f"/api/projects/test/runs/{run_id}").json()
    return {
        step["target"]: step["executions"][-1]["outcome"]["value"] for step in inspected["steps"]
    }


def test_every_kind_of_value_crosses_agents_exactly(two_agents: Cluster) -> None:
    differences = result(two_agents, "values_cross")
    assert differences == {"echo": [], "checked there": [], "made there": [], "handles": []}


def test_a_large_value_passes_by_reference_through_the_blob_store(two_agents: Cluster) -> None:
    size = 5 * 1024 * 1024
    answer = result(two_agents, "big_value", str(size))
    expected = hashlib.sha256((b"0123456789abcdef" * (size // 16 + 1))[:size]).hexdigest()
    assert answer == {"size": size, "type": "bytes", "here": expected, "there": expected}
    run_id = json.loads(two_agents.cli("runs", "list", "--json").stdout)[0]["id"]
    made = outcome_values(two_agents, run_id)["make_bytes"]
    # The orchestrator saw a reference, not the content.
    assert made["blob"] and made.get("data") is None and made["size"] > size
    # Stored under its key (in the data directory, or the bucket), at its full size.
    stored = two_agents.api("HEAD", f"/blobs/{made['blob']}")
    assert stored.status_code == 200
    assert int(stored.headers["content-length"]) == made["size"]
    # The argument passed on to `digest` is the same blob: content-addressed, stored once.
    inspected = two_agents.api("GET", f"/api/projects/test/runs/{run_id}").json()
    digest_step = next(s for s in inspected["steps"] if s["target"] == "digest")
    assert digest_step["arguments"][0]["blob"] == made["blob"]


def test_results_render_readably_inline_or_from_a_blob(two_agents: Cluster) -> None:
    assert result(two_agents, "small") == [1, "two"]
    assert result(two_agents, "labelled") == {
        "point": "<pickled valuekit.Point>",
        "when": "2024-05-06T07:08:09+00:00",
        "set": [3],
        "bytes": "aGk=",
        "n": 2**70,
    }
    runs = json.loads(two_agents.cli("runs", "list", "--json").stdout)
    small_run, labelled_run = (r["id"] for r in reversed(runs[:2]))
    assert outcome_values(two_agents, small_run)["small"]["data"] == {"$": "tuple", "v": [1, "two"]}
    assert outcome_values(two_agents, labelled_run)["labelled"]["blob"]
    # A bytes result above the threshold is shown as its base64, like an inline one.
    shown = result(two_agents, "big_result", "1000")
    assert shown == base64.b64encode((b"0123456789abcdef" * 63)[:1000]).decode()


def test_blob_keys_that_escape_are_refused_over_http(two_agents: Cluster) -> None:
    # (tests/api/test_blobs.py tries every classic form in-process; this is the real server)
    data = two_agents.server.data_dir
    before = sorted(p.relative_to(data) for p in data.rglob("*") if "blobs" in p.parts)
    for key in ("..%2F..%2Fprojects", "%2e%2e%2f%2e%2e%2fdata", "..%5C..%5Cx", "0" * 63):
        for method in ("GET", "PUT"):
            response = two_agents.api(method, f"/blobs/{key}", content=b"x")
            # 404: the decoded path has more segments than the route, so matches nothing.
            assert response.status_code in (400, 404), (method, key, response.text)
            assert response.json()["error"]["reason"] in ("invalid_blob_key", "not_found")
    after = sorted(p.relative_to(data) for p in data.rglob("*") if "blobs" in p.parts)
    assert after == before
