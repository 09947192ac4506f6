"""``coflux runs list`` through all of a project's history: filters as flags, and a
page at a time with ``--limit`` and ``--after``, against a real server on each
storage."""

from __future__ import annotations

import json
from typing import Any

from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually

NAMES = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Ada Byron", "Niklaus"]


def listed(cluster: Cluster, *flags: str) -> list[dict[str, Any]]:
    done = cluster.cli("runs", "list", "--json", *flags)
    assert done.returncode == 0, done.stderr
    runs: list[dict[str, Any]] = json.loads(done.stdout)
    return runs


def ids(cluster: Cluster, *flags: str) -> list[str]:
    return [run["id"] for run in listed(cluster, *flags)]


def seed(cluster: Cluster) -> list[str]:
    """Seven runs of hello, oldest first: three cancelled before an agent came, the
    others run by it; the fourth submitted with a key."""
    assert cluster.cli("register", str(REPOS / "hello.py")).returncode == 0
    run_ids = []
    for index, name in enumerate(NAMES):
        body = {
            "environment": "production", "repository": "hello", "target": "hello",
            "arguments": [{"format": "json", "data": name}],
            **({"idempotency_key": "the-key"} if index == 3 else {}),
        }  # fmt: skip
        response = cluster.api("POST", "/api/projects/test/runs", json=body)
        assert response.status_code == 201, response.text
        run_ids.append(response.json()["run_id"])
        if index % 2:
            cancel = cluster.api("POST", f"/api/projects/test/runs/{run_ids[-1]}/cancel")
            assert cancel.status_code == 200, cancel.text
    cluster.start_agent(REPOS / "hello.py")
    eventually(lambda: ids(cluster, "--state", "queued", "--state", "assigned") == [], 30,
               message="the agent to run the queued runs")  # fmt: skip
    return run_ids


def test_runs_list_filters_and_pages(cluster: Cluster) -> None:
    seeded = seed(cluster)
    newest = seeded[::-1]
    assert ids(cluster) == newest
    assert ids(cluster, "--oldest-first") == seeded
    assert ids(cluster, "--state", "cancelled") == [seeded[5], seeded[3], seeded[1]]
    assert ids(cluster, "--state", "succeeded") == [seeded[6], seeded[4], seeded[2], seeded[0]]
    assert ids(cluster, "--repository", "hello", "--target", "hello") == newest
    assert ids(cluster, "--target", "hello_twice") == []
    assert ids(cluster, "--key", "the-key") == [seeded[3]]
    assert ids(cluster, "--search", "Ada") == [seeded[5], seeded[0]]
    assert ids(cluster, "--search", seeded[2]) == [seeded[2]]
    assert ids(cluster, "--search", "Ada", "--state", "succeeded") == [seeded[0]]
    assert ids(cluster, "--since", "1h") == newest
    assert ids(cluster, "--until", "2000-01-01T00:00:00+00:00") == []
    assert ids(cluster, "--all-environments", "--limit", "2") == newest[:2]

    # A page at a time: --json carries each run's cursor; the last one's goes on.
    seen: list[str] = []
    after: list[str] = []
    while True:
        page = listed(cluster, "--limit", "3", *after)
        seen += [run["id"] for run in page]
        if len(page) < 3:
            break
        after = ["--after", page[-1]["cursor"]]
    assert seen == newest

    # The table says where the next page starts, on stderr.
    table = cluster.cli("runs", "list", "--state", "succeeded", "--limit", "2")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "TARGET", "STATE", "CREATED"]
    assert [line.split()[0] for line in lines[1:]] == [seeded[6], seeded[4]]
    (hint,) = [line for line in table.stderr.splitlines() if line.startswith("more: --after ")]
    rest = ids(cluster, "--state", "succeeded", "--after", hint.removeprefix("more: --after "))
    assert rest == [seeded[2], seeded[0]]


def test_runs_list_refuses_bad_flags_naming_them(cluster: Cluster) -> None:
    for flags, named in [
        (["--state", "bogus"], "--state"),
        (["--since", "last tuesday"], "--since"),
        (["--limit", "0"], "--limit"),
    ]:
        done = cluster.cli("runs", "list", *flags)
        assert done.returncode != 0 and named in done.stderr, done.stderr
    refused = cluster.cli("runs", "list", "--search", "ab")
    assert refused.returncode == 1
    assert "'search' must be 3 to 1024 characters" in refused.stderr
    refused = cluster.cli("runs", "list", "--after", "garbage")
    assert refused.returncode == 1 and "'after'" in refused.stderr
