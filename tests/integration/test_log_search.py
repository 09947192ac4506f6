"""Searching a run's logs on the server: ``q`` (text in the message as people read
it, any case) and ``level`` (the lowest kept) on the logs route and as ``coflux runs
logs --search/--level``, across steps, paging through matches of a run whose logs
are longer than one request reads."""

from __future__ import annotations

import json
from typing import Any

from tests.support.cluster import REPOS, Cluster

NOISE = 25_000  # stdout lines before the needle: more than one search request reads


def run_logged(cluster: Cluster) -> str:
    cluster.start_agent(REPOS / "log_search.py")
    submitted = cluster.cli("submit", "log_search", "search_me", '"Alpha"', str(NOISE))
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.strip()
    done = cluster.cli("runs", "result", run_id, "--wait", timeout=120)
    assert done.returncode == 0, done.stderr
    return run_id


def page(cluster: Cluster, run_id: str, **params: Any) -> dict[str, Any]:
    response = cluster.api("GET", f"/api/projects/test/runs/{run_id}/logs", params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def every(cluster: Cluster, run_id: str, **params: Any) -> list[dict[str, Any]]:
    """All the lines a filter keeps, paging on until the cursor stops moving."""
    lines: list[dict[str, Any]] = []
    cursor = 0
    while True:
        found = page(cluster, run_id, after=cursor, **params)
        assert len(found["logs"]) <= 1000
        lines.extend(found["logs"])
        if found["cursor"] == cursor:
            return lines
        cursor = found["cursor"]


def shown(lines: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(line["level"], line["template"]) for line in lines]


def kept(lines: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Level and template, sorted: printed lines reach the server on their own
    channel, so their place among the structured ones varies."""
    return sorted(shown(lines))


def test_logs_filtered_by_text_and_level_on_the_server(cluster: Cluster) -> None:
    run_id = run_logged(cluster)

    # The text is matched in the message, its values filled in, whatever the case:
    # "alpha" is only in the values, "boom in alpha" spans template and value.
    assert kept(every(cluster, run_id, q="alpha")) == [
        ("debug", "debug detail of {tag}"),
        ("error", "boom in {tag}"),
        ("info", "Haystack {tag}"),
        ("stderr", "complained by Alpha"),
        ("stdout", "printed by Alpha"),
        ("warning", "careful with {tag}"),
    ]
    assert shown(every(cluster, run_id, q="BOOM IN ALPHA")) == [("error", "boom in {tag}")]
    assert every(cluster, run_id, q="no such text") == []

    # A minimum level, across both steps; stdout and stderr rank with info.
    assert shown(every(cluster, run_id, level="warning")) == [
        ("warning", "careful with {tag}"),
        ("error", "boom in {tag}"),
        ("warning", "needle after {count} lines"),
    ]
    assert kept(every(cluster, run_id, q="alpha", level="info")) == [
        ("error", "boom in {tag}"),
        ("info", "Haystack {tag}"),
        ("stderr", "complained by Alpha"),
        ("stdout", "printed by Alpha"),
        ("warning", "careful with {tag}"),
    ]

    # The needle is beyond what one request reads: the first answer keeps nothing
    # but moves its cursor on, and paging on from there finds it.
    first = page(cluster, run_id, q="needle")
    assert first["logs"] == [] and first["cursor"] > 0
    assert shown(every(cluster, run_id, q="needle")) == [("warning", "needle after {count} lines")]

    # Thousands of matches page without repeating or skipping one.
    matches = every(cluster, run_id, q="noise 1")
    expected = [f"noise {i}" for i in range(NOISE) if str(i).startswith("1")]
    assert [line["template"] for line in matches] == expected
    ids = [line["id"] for line in matches]
    assert ids == sorted(set(ids))

    # Unfiltered paging is as before: all lines, a page at a time.
    assert len(every(cluster, run_id)) == 6 + NOISE + 1

    bad = cluster.api("GET", f"/api/projects/test/runs/{run_id}/logs", params={"level": "loud"})
    assert bad.status_code == 400 and bad.json()["error"]["reason"] == "invalid_query", bad.text


def test_cli_logs_search_and_level(cluster: Cluster) -> None:
    run_id = run_logged(cluster)

    def messages(*flags: str) -> list[str]:
        done = cluster.cli("runs", "logs", run_id, "--json", *flags)
        assert done.returncode == 0, done.stderr
        return [line["message"] for line in json.loads(done.stdout)]

    assert messages("--search", "NEEDLE") == [f"needle after {NOISE} lines"]
    assert messages("--search", "alpha", "--level", "warning") == [
        "careful with Alpha",
        "boom in Alpha",
    ]
    followed = cluster.cli("runs", "logs", run_id, "--follow", "--level", "error")
    assert followed.returncode == 0, followed.stderr
    assert [line.split("  ", 2)[2] for line in followed.stdout.splitlines()] == [
        "error  boom in Alpha"
    ]
    refused = cluster.cli("runs", "logs", run_id, "--level", "loud")
    assert refused.returncode != 0 and "loud" in refused.stderr
