"""Metrics in the CLI: ``runs inspect`` (the tree and ``--json``) and the progress
bars of ``--follow``."""

from __future__ import annotations

import json

from coflux import protocol
from coflux.cli.follow import StepTracker
from coflux.cli.render import metric_line, progress_bar
from coflux.client.live import RunFacts, RunSnapshot
from coflux.orchestration.effects import MetricsRecorded
from coflux.views import MetricView
from tests.unit.test_cli import FakeApi
from tests.unit.test_cli_runs import RUN, RUNS

P = protocol
PROGRESS = P.MetricScaleInfo(progress=True, upper=20.0)


def metric(
    key: str,
    value: float | None,
    *,
    execution_id: str = "r1:2:1",
    count: int = 3,
    scale: P.MetricScaleInfo | None = None,
    group: P.MetricGroupInfo | None = None,
) -> MetricView:
    return MetricView(
        execution_id=execution_id, key=key, group=group, scale=scale, throttle=10.0,
        created_at=10.0, count=count, value=value, at=None if value is None else 1.0,
    )  # fmt: skip


def test_a_metric_shows_its_latest_value_count_and_group() -> None:
    training = P.MetricGroupInfo(name="training")
    accuracy = metric("accuracy", 80.0, scale=P.MetricScaleInfo(units="%"), group=training)
    assert metric_line(accuracy) == "accuracy  80 %  (3 points, group training)"
    assert metric_line(metric("loss", 0.123456789, count=1)) == "loss  0.123457  (1 point)"
    assert metric_line(metric("loss", None, count=0)) == "loss  -  (0 points)"


def test_a_progress_metric_shows_a_bar() -> None:
    assert metric_line(metric("progress", 5.0, scale=PROGRESS)) == (
        "progress  [#####---------------]  25% (5/20)"
    )
    assert progress_bar(30.0, PROGRESS, width=4) == "[####]  100% (30/20)"
    shifted = P.MetricScaleInfo(progress=True, lower=10.0, upper=20.0)
    assert progress_bar(15.0, shifted, width=4) == "[##--]  50% (15/20)"
    # Without a range to draw, it is shown as any other metric.
    unbounded = P.MetricScaleInfo(progress=True)
    assert progress_bar(3.0, unbounded) is None
    assert metric_line(metric("progress", 3.0, scale=unbounded)) == "progress  3  (3 points)"


def test_runs_inspect_shows_each_executions_metrics_under_its_step() -> None:
    api = FakeApi()
    api.on("GET", f"{RUNS}/r1/outline", RUN)
    api.on(
        "GET",
        f"{RUNS}/r1/metrics",
        [
            metric("loss", 0.5),
            metric("progress", 10.0, scale=PROGRESS),
            metric("tries", 1.0, execution_id="r1:4:1"),
            metric("tries", 2.0, execution_id="r1:4:2"),
        ],
    )
    result = api.invoke("--project", "p", "runs", "inspect", "r1")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "  r1:1  hello.main  failed  1.50s",
        "    r1:2  hello.fetch  succeeded  1.50s",
        "        loss  0.5  (3 points)",
        "        progress  [##########----------]  50% (10/20)",
        "    r1:3  hello.parse  failed  1.50s",
        "      r1:4  hello.lookup  failed  1.50s  (attempt 2)",
        "          (attempt 1) tries  1  (3 points)",
        "          (attempt 2) tries  2  (3 points)",
    ]


def test_runs_inspect_json_has_the_metrics_beside_the_run() -> None:
    api = FakeApi()
    api.on("GET", f"{RUNS}/r1", RUN)
    api.on("GET", f"{RUNS}/r1/metrics", [metric("progress", 10.0, scale=PROGRESS)])
    result = api.invoke("--project", "p", "runs", "inspect", "r1", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"] == "r1" and len(data["steps"]) == 4
    (shown,) = data["metrics"]
    assert (shown["execution_id"], shown["key"], shown["value"], shown["count"]) == (
        "r1:2:1",
        "progress",
        10.0,
        3,
    )
    assert shown["scale"] == {"upper": 20.0, "progress": True}


def test_runs_inspect_of_a_server_without_metrics_shows_none() -> None:
    api = FakeApi()  # no metrics route: the answer is a 404 not_found
    api.on("GET", f"{RUNS}/r1/outline", RUN)
    result = api.invoke("--project", "p", "runs", "inspect", "r1")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 5


def points(execution_id: str, *values: float, definition: bool = False) -> MetricsRecorded:
    defined = (P.MetricDefinition(key="progress", scale=PROGRESS),) if definition else ()
    series = P.MetricSeries("progress", tuple((v, float(i)) for i, v in enumerate(values)))
    return MetricsRecorded(execution_id, "r1", defined, (series,), 11.0)


def test_follow_draws_a_progress_bar_at_each_tenth() -> None:
    tracker = StepTracker()
    tracker.apply(RunSnapshot(RUN))
    lines = tracker.apply(RunFacts([points("r1:2:1", 1.0, definition=True)]))
    lines += tracker.apply(RunFacts([points("r1:2:1", 1.5), points("r1:2:1", 2.0, 3.0)]))
    lines += tracker.apply(RunFacts([points("r1:2:1", 20.0)]))
    assert lines == [
        "r1:2  hello.fetch  [#-------------------]  5% (1/20)",
        "r1:2  hello.fetch  [###-----------------]  15% (3/20)",
        "r1:2  hello.fetch  [####################]  100% (20/20)",
    ]
    # Points of metrics that are not progress, or never defined here, draw nothing.
    assert tracker.apply(RunFacts([points("r1:3:1", 5.0)])) == []


def test_follow_reads_the_progress_recorded_before_it_started() -> None:
    tracker = StepTracker()
    tracker.apply(RunSnapshot(RUN))
    assert tracker.started
    named = metric("rows", 10.0, scale=PROGRESS)
    assert tracker.metrics([named, metric("loss", 0.5)]) == [
        "r1:2  hello.fetch  rows [##########----------]  50% (10/20)"
    ]
