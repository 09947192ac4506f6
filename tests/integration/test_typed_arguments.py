"""Arguments checked against the target's annotations at submission, converted to
the declared types on the way in, and dataclass and enum results recorded as
structured values (not pickles), on both storages."""

from __future__ import annotations

import json

import pytest

from tests.support.cluster import REPOS, Cluster

ORDER = json.dumps({"id": 7, "items": ["tea", "cake"]})


def _place(cluster: Cluster, *arguments: str) -> object:
    done = cluster.cli("submit", "typed", "place", *arguments, "--wait")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_json_arguments_arrive_as_the_declared_types(cluster: Cluster) -> None:
    cluster.start_agent(REPOS / "typed.py")
    result = _place(cluster, ORDER, '"large"', '{"x": 3}', '"2026-12-03"')
    assert result == {
        "order": 7, "size": "large", "where": {"x": 3, "y": 0}, "when": "2026-12-03", "count": 2,
    }  # fmt: skip
    runs = cluster.api("GET", "/api/projects/test/runs").json()
    run = cluster.api("GET", f"/api/projects/test/runs/{runs[0]['id']}").json()
    results = [s["executions"][-1]["outcome"]["value"] for s in run["steps"]]
    for value in results:
        assert value["format"] == "json" and "label" not in value  # not a pickle
        tree = json.dumps(value["data"]) if "data" in value else _blob_tree(cluster, value["blob"])
        assert '{"$": "dataclass", "c": "typed:Receipt"' in tree
        assert '{"$": "enum", "c": "typed:Size", "n": "LARGE", "v": "large"}' in tree


def _blob_tree(cluster: Cluster, key: str) -> str:
    """The tagged JSON tree of a value blob (``serialization``'s format), re-encoded."""
    content = cluster.api("GET", f"/blobs/{key}").content
    magic, header, rest = content.split(b"\n", 2)
    assert magic == b"coflux-value/1"
    return json.dumps(json.loads(rest[: json.loads(header)["data"]]))


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ([ORDER, '"huge"', '{"x": 3}', '"2026-12-03"'], "argument 'size' (arguments[1])"),
        ([ORDER, '"small"', '{"x": "3"}', '"2026-12-03"'], "argument 'where' (arguments[2]) of place at x: expected integer"),
        ([ORDER, '"small"', '{"x": 3, "z": 1}', '"2026-12-03"'], "argument 'where'"),
        (['{"id": 7}', '"small"', '{"x": 3}', '"2026-12-03"'], "argument 'order'"),
        ([ORDER, '"small"', '{"x": 3}', '"2026-12-03"', '"two"'], "argument 'copies' (arguments[4]) of place: expected integer"),
    ],
)  # fmt: skip
def test_a_wrong_argument_is_refused_naming_its_parameter_and_records_nothing(
    cluster: Cluster, arguments: list[str], fragment: str
) -> None:
    cluster.start_agent(REPOS / "typed.py")
    refused = cluster.cli("submit", "typed", "place", *arguments)
    assert refused.returncode != 0
    assert fragment in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert cluster.api("GET", "/api/projects/test/runs").json() == []
