"""Logs from ``cf.log_*``, ``print``, stderr and child processes, on two agents: shown
whole or per step, values that are not JSON kept as values, and kept across a restart."""

from __future__ import annotations

import json

from tests.support.cluster import REPOS, Cluster


def test_logs_of_a_run_and_of_one_step(cluster: Cluster) -> None:
    cluster.start_agent(REPOS / "producer.py")
    cluster.start_agent(REPOS / "consumer.py")
    run_id = cluster.cli("submit", "consumer", "chatty", '"t1"').stdout.strip()
    # --follow streams until the run ends, then has printed everything.
    followed = cluster.cli("runs", "logs", run_id, "--follow")
    assert followed.returncode == 0, followed.stderr
    expected = {
        f"{run_id}:1": [
            "info  consumer t1: [1, 2] at 2024-05-06T07:08:09+00:00 near <pickled valuekit.Point>",
            "stdout  consumer print t1", "stderr  consumer stderr t1", "stdout  child process t1",
        ],
        f"{run_id}:2": [
            "warning  producer says t1", "stdout  producer print t1", "stderr  producer stderr t1",
        ],
    }  # fmt: skip
    for lines in expected.values():
        for line in lines:
            assert line in followed.stdout, followed.stdout

    def shown(*args: str) -> list[str]:
        done = cluster.cli("runs", "logs", run_id, *args)
        assert done.returncode == 0, done.stderr
        # "HH:MM:SS.mmm  STEP  LEVEL  MESSAGE": keep step, level and message.
        return [line.split("  ", 1)[1] for line in done.stdout.splitlines()]

    everything = shown()
    assert sorted(everything) == sorted(
        f"{step}  {line}" for step, lines in expected.items() for line in lines
    )
    # --step: only that step's lines, in the order they were written.
    producer_step = f"{run_id}:2"
    assert shown("--step", producer_step) == [
        f"{producer_step}  {line}" for line in expected[producer_step]
    ]
    assert shown("--step", f"{producer_step}:1") == shown("--step", producer_step)

    # Structured values that are not JSON are stored as values (tagged, or pickled and named).
    page = cluster.api("GET", f"/api/projects/test/runs/{run_id}/logs").json()
    (structured,) = [e for e in page["logs"] if e["level"] == "info"]
    assert structured["template"] == "consumer {tag}: {things} at {when} near {point}"
    values = structured["values"]
    assert values["tag"]["data"] == "t1"
    assert values["things"]["data"]["$"] == "set"
    assert values["when"]["data"] == {"$": "datetime", "v": "2024-05-06T07:08:09+00:00"}
    assert values["point"]["label"] == "valuekit.Point" and values["point"]["data"]["$"] == "pickle"
    as_json = json.loads(
        cluster.cli("runs", "logs", run_id, "--step", producer_step, "--json").stdout
    )
    assert [e["message"] for e in as_json] == [
        "producer says t1",
        "producer print t1",
        "producer stderr t1",
    ]

    # Logs are durable: the server restarts and still has them.
    cluster.server.stop()
    cluster.server.start()
    assert shown("--step", producer_step) == [
        f"{producer_step}  {line}" for line in expected[producer_step]
    ]
