"""Metrics and progress through a real server and agent: recorded by workflows, shown
by ``runs inspect`` and ``--follow``, read from the API with a cursor, kept across a
restart, bounded per execution (by the SDK, and by the server against an agent that
does not stop), and hostile frames refused."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import msgspec
import pytest
import websockets

from coflux import protocol
from coflux.orchestration.metrics import DROPPED
from tests.support.cluster import REPOS, Cluster

RUNS = "/api/projects/test/runs"


def submit(cluster: Cluster, repository: str, target: str, *arguments: str) -> tuple[str, Any]:
    done = cluster.cli("submit", repository, target, *arguments, "--wait")
    assert done.returncode == 0, done.stderr
    return done.stderr.split("run ", 1)[1].split()[0], json.loads(done.stdout)


def metrics_of(cluster: Cluster, run_id: str) -> list[dict[str, Any]]:
    response = cluster.api("GET", f"{RUNS}/{run_id}/metrics")
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()
    return listed


def all_points(cluster: Cluster, run_id: str) -> tuple[list[dict[str, Any]], int]:
    """Every point of the run, page by page through the cursor; and how many pages."""
    points: list[dict[str, Any]] = []
    cursor, pages = 0, 0
    while True:
        response = cluster.api("GET", f"{RUNS}/{run_id}/metrics/points", params={"after": cursor})
        assert response.status_code == 200, response.text
        page = response.json()
        if not page["points"]:
            assert page["cursor"] == cursor
            return points, pages
        assert len(page["points"]) <= 1000
        assert page["cursor"] == page["points"][-1]["id"]
        points += page["points"]
        cursor, pages = page["cursor"], pages + 1


def test_a_workflows_metrics_in_the_cli_and_the_api_and_after_a_restart(cluster: Cluster) -> None:
    cluster.start_agent(REPOS / "metrics.py")
    run_id, result = submit(cluster, "metrics", "pipeline", "5", "20")
    assert result == [0.2, 20.0]
    shown = cluster.cli("runs", "inspect", run_id)
    assert shown.returncode == 0, shown.stderr
    lines = [line.strip() for line in shown.stdout.splitlines()]
    assert "loss  0.2  (5 points, group training)" in lines, shown.stdout
    assert "accuracy  80 %  (5 points, group training)" in lines, shown.stdout
    assert "progress  [####################]  100% (20/20)" in lines, shown.stdout

    listed = metrics_of(cluster, run_id)
    by_key = {m["key"]: m for m in listed}
    assert list(by_key) == ["loss", "accuracy", "progress"]
    assert by_key["loss"]["group"] == {
        "name": "training",
        "units": "epoch",
        "lower": 0.0,
        "upper": 5.0,
    }
    assert by_key["accuracy"]["scale"] == {"units": "%", "lower": 0.0, "upper": 100.0}
    assert by_key["progress"]["scale"] == {"upper": 20.0, "progress": True}
    assert (by_key["progress"]["value"], by_key["progress"]["throttle"]) == (20.0, 10.0)
    # --json has them beside the run.
    inspected = json.loads(cluster.cli("runs", "inspect", run_id, "--json").stdout)
    assert [m["key"] for m in inspected["metrics"]] == ["loss", "accuracy", "progress"]

    points, _ = all_points(cluster, run_id)
    loss = [(p["value"], p["at"]) for p in points if p["key"] == "loss"]
    assert loss == [(1.0, 0.0), (0.5, 1.0), (1 / 3, 2.0), (0.25, 3.0), (0.2, 4.0)]
    train = by_key["loss"]["execution_id"]
    only = cluster.api("GET", f"{RUNS}/{run_id}/metrics/points", params={"execution": train})
    assert {p["key"] for p in only.json()["points"]} == {"loss", "accuracy"}
    after = cluster.api("GET", f"{RUNS}/{run_id}/metrics/points", params={"after": points[4]["id"]})
    assert after.json()["points"] == points[5:]

    # Kept with the run: the server restarts and reads them back.
    cluster.server.stop()
    cluster.server.start()
    assert metrics_of(cluster, run_id) == listed
    assert all_points(cluster, run_id)[0] == points


def test_follow_draws_the_progress_of_a_step(cluster: Cluster) -> None:
    cluster.start_agent(REPOS / "metrics.py")
    followed = cluster.cli("submit", "metrics", "watched", "30", "--follow")
    assert followed.returncode == 0, followed.stderr
    assert followed.stdout.strip() == "30"
    bars = [line for line in followed.stderr.splitlines() if "metrics.slow_progress  [" in line]
    assert bars and bars[-1].endswith("[####################]  100% (30/30)"), followed.stderr


async def test_the_live_feed_carries_a_runs_new_metrics(cluster: Cluster) -> None:
    # Registered, then without an agent, so that the run waits for the subscription.
    cluster.start_agent(REPOS / "metrics.py").stop()
    run = {
        "environment": "production", "repository": "metrics", "target": "pipeline",
        "arguments": [{"format": "json", "data": 3}, {"format": "json", "data": 4}],
    }  # fmt: skip
    run_id = cluster.api("POST", RUNS, json=run).json()["run_id"]
    facts: list[dict[str, Any]] = []
    async with websockets.connect(f"ws://{cluster.server.host}/api/live") as ws:
        await ws.send(json.dumps({"subscribe": "run", "project": "test", "run_id": run_id}))
        assert "snapshot" in json.loads(await asyncio.wait_for(ws.recv(), 30))
        await asyncio.to_thread(cluster.start_agent, REPOS / "metrics.py")
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if message.get("ended"):
                break
            facts += [f for f in message["facts"] if f["fact"] == "metrics"]
    defined = [d["key"] for f in facts for d in f["definitions"]]
    assert defined == ["loss", "accuracy", "progress"]
    points: dict[str, list[tuple[float, float]]] = {}
    for fact in facts:
        for series in fact["series"]:
            points.setdefault(series["key"], []).extend(tuple(p) for p in series["points"])
    assert points["loss"] == [(1.0, 0.0), (0.5, 1.0), (1 / 3, 2.0)]
    assert points["progress"][-1][0] == 4.0  # the final value, whatever the throttle kept
    # The same points as the API's.
    api = all_points(cluster, run_id)[0]
    assert sorted((p["key"], p["value"], p["at"]) for p in api) == sorted(
        (key, value, at) for key, series in points.items() for value, at in series
    )


def test_an_upstream_sample_runs_unchanged(cluster: Cluster) -> None:
    cluster.start_agent(REPOS / "upstream_metrics.py")
    run_id, result = submit(cluster, "upstream_metrics", "samples", "3", '["a", "b", "c", "d"]')
    assert result == "done"
    listed = metrics_of(cluster, run_id)
    keys = {(m["key"], (m["group"] or {}).get("name")) for m in listed}
    assert keys == {
        ("loss", "training"), ("accuracy", "training"), ("progress", None),
        ("items_processed", "processing"), ("fast_metric", None), ("exact_metric", None),
    }  # fmt: skip
    scaled = [m for m in listed if m["key"] == "accuracy" and m["group"].get("units") == "epoch"]
    assert scaled and scaled[0]["scale"] == {"units": "%", "lower": 0.0, "upper": 100.0}
    progress = [m for m in listed if m["key"] in ("progress", "items_processed")]
    assert [(m["value"], m["scale"]["upper"]) for m in progress] == [(4.0, 4.0), (4.0, 4.0)]
    exact = next(m for m in listed if m["key"] == "exact_metric")
    assert (exact["count"], exact["throttle"]) == (4, None)


def test_the_sdk_keeps_an_execution_within_its_bounds(cluster: Cluster) -> None:
    cluster.start_agent(REPOS / "metrics.py")
    count = protocol.MAX_METRIC_POINTS + 1
    run_id, result = submit(cluster, "metrics", "flood", str(count))
    assert result == count  # the task goes on past the bound
    (every,) = metrics_of(cluster, run_id)
    assert (every["count"], every["value"]) == (protocol.MAX_METRIC_POINTS, count - 2.0)
    logs = cluster.cli("runs", "logs", run_id).stdout
    assert logs.count(f"at most {protocol.MAX_METRIC_POINTS} metric points") == 1, logs
    # The cursor pages through all of them, in order.
    points, pages = all_points(cluster, run_id)
    assert [p["at"] for p in points] == [float(i) for i in range(protocol.MAX_METRIC_POINTS)]
    assert pages == protocol.MAX_METRIC_POINTS // 1000

    # A metric past the bound on their number is an error in the task.
    failed = cluster.cli("submit", "metrics", "too_many_metrics", "--wait")
    assert failed.returncode == 1
    assert f"at most {protocol.MAX_METRIC_KEYS} metrics" in failed.stderr, failed.stderr


MANIFEST = protocol.Manifest(
    repository="hostile", targets=(protocol.TargetDefinition(name="work", type="workflow"),)
)
HELLO = protocol.Hello(
    protocol_version=protocol.PROTOCOL_VERSION, project="test", environment="production",
    targets={"hostile": ("work",)},
)  # fmt: skip


async def assigned(ws: websockets.ClientConnection) -> str:
    while True:
        for message in protocol.decode_server_frame(await asyncio.wait_for(ws.recv(), 30)):
            if isinstance(message, protocol.Execute):
                return message.execution_id


def metrics(execution_id: str, *series: protocol.MetricSeries, keys: range = range(0)) -> bytes:
    definitions = tuple(protocol.MetricDefinition(key=f"m{i}") for i in keys)
    batch = protocol.ExecutionMetrics(execution_id, definitions, series)
    return protocol.encode_json(protocol.Metrics((batch,)))


def line(key: str, start: int, stop: int) -> protocol.MetricSeries:
    return protocol.MetricSeries(key, tuple((1.0, float(x)) for x in range(start, stop)))


async def test_the_server_bounds_an_agent_that_does_not_stop(cluster: Cluster) -> None:
    body = msgspec.json.encode({"manifests": [MANIFEST]})
    path = "/api/projects/test/environments/production/manifests"
    assert cluster.api("POST", path, content=body).status_code == 200
    async with websockets.connect(f"ws://{cluster.server.host}/api/agent", max_size=None) as ws:
        await ws.send(protocol.encode_json(HELLO))
        (welcome,) = protocol.decode_server_frame(await ws.recv())
        assert isinstance(welcome, protocol.Welcome)
        run = {"environment": "production", "repository": "hostile", "target": "work"}
        run_id = cluster.api("POST", RUNS, json=run).json()["run_id"]
        execution_id = await assigned(ws)
        half = protocol.MAX_METRIC_POINTS // 2
        most = protocol.MAX_METRIC_KEYS
        frames = [
            metrics(execution_id, keys=range(most)),  # as many metrics as allowed
            metrics(execution_id, line("m150", 0, 10), keys=range(most - 10, most + 90)),  # more
            metrics(execution_id, line("m0", 0, half)),
            # Points again (as after a reconnect), then past the bound on points.
            metrics(execution_id, line("m0", 0, 10), line("m1", half, 2 * half + 500)),
        ]
        for frame in frames:
            await ws.send(frame)
        # Its other messages are served as ever: the execution completes.
        done = protocol.Complete(execution_id, protocol.Succeeded(protocol.Value("json", "ok")))
        await ws.send(protocol.encode_json(done))
        while True:
            replies = protocol.decode_server_frame(await asyncio.wait_for(ws.recv(), 30))
            if any(isinstance(r, protocol.Ack) for r in replies):
                break
    assert cluster.api("GET", f"{RUNS}/{run_id}/result").json()["state"] == "succeeded"
    listed = metrics_of(cluster, run_id)
    assert len(listed) == protocol.MAX_METRIC_KEYS
    counts = {m["key"]: m["count"] for m in listed if m["count"]}
    assert counts == {"m0": half, "m1": protocol.MAX_METRIC_POINTS - half}
    logs = cluster.api("GET", f"{RUNS}/{run_id}/logs").json()["logs"]
    assert [(e["level"], e["template"]) for e in logs] == [("warning", DROPPED)]


HOSTILE = {
    "infinite": b'"series": [{"key": "loss", "points": [[1e999, 1]]}]',
    "a string": b'"series": [{"key": "loss", "points": [["1", 1]]}]',
    "three numbers": b'"series": [{"key": "loss", "points": [[1, 2, 3]]}]',
    "huge key": b'"definitions": [{"key": "' + b"k" * (protocol.MAX_METRIC_NAME + 1) + b'"}]',
    "NUL in a key": b'"definitions": [{"key": "a\\u0000b"}]',
    "no rate": b'"definitions": [{"key": "x", "throttle": 0}]',
}


async def test_a_hostile_metrics_frame_is_closed_as_a_bad_message(cluster: Cluster) -> None:
    for name, fields in HOSTILE.items():
        frame = b'{"tag": "metrics", "executions": [{"execution_id": "r:1:1", ' + fields + b"}]}"
        async with websockets.connect(f"ws://{cluster.server.host}/api/agent") as ws:
            await ws.send(protocol.encode_json(HELLO))
            protocol.decode_server_frame(await ws.recv())
            await ws.send(frame)
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), 30)
            assert ws.close_code == protocol.CLOSE_BAD_MESSAGE, name
    assert cluster.cli("runs", "list").returncode == 0  # the project serves on
