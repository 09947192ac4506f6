"""``cf.Metric``, ``cf.MetricGroup``, ``cf.MetricScale`` and ``cf.progress``: what they
check, what they send from inside an execution, and that they do nothing outside one."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import coflux as cf
from coflux import protocol
from coflux.agent.executor import Executor
from coflux.sdk import context
from coflux.serialization import serialize
from tests.unit.test_sdk_context import FakeChannel, run_in, server

__all__ = ["run_in"]  # the fixture, used by name below


def sent_points(channel: FakeChannel) -> dict[str, list[tuple[float, float]]]:
    points: dict[str, list[tuple[float, float]]] = {}
    for message in channel.of(protocol.Metrics):
        for batch in message.executions:
            assert batch.execution_id == "E0"
            for series in batch.series:
                points.setdefault(series.key, []).extend(series.points)
    return points


def definitions(channel: FakeChannel) -> list[protocol.MetricDefinition]:
    return [
        d
        for message in channel.of(protocol.Metrics)
        for b in message.executions
        for d in b.definitions
    ]


def test_upstreams_documented_options_describe_the_metric() -> None:
    group = cf.MetricGroup("training", units="epoch")
    loss = cf.Metric("loss", group=group, scale=cf.MetricScale(units=""))
    accuracy = cf.Metric(
        "accuracy", group=group, scale=cf.MetricScale(units="%", lower=0, upper=100)
    )
    assert (loss.key, loss.group, loss.throttle) == ("loss", group, 10)
    assert accuracy.scale is not None and (accuracy.scale.upper, accuracy.scale.progress) == (
        100.0,
        False,
    )
    named = cf.Metric("x", group="training", scale="shared", throttle=None)
    assert named.group is not None and named.group.name == "training"
    assert named.scale is not None and named.scale.name == "shared"
    assert named.throttle is None


@pytest.mark.parametrize(
    ("make", "error", "fragment"),
    [
        (lambda: cf.Metric(""), ValueError, "1 to 256 characters"),
        (lambda: cf.Metric("x" * 257), ValueError, "1 to 256 characters"),
        (lambda: cf.Metric("a\x00b"), ValueError, "without NUL"),
        (lambda: cf.Metric(5), TypeError, "must be a string"),
        (lambda: cf.Metric("x", group=5), TypeError, "cf.MetricGroup"),
        (lambda: cf.Metric("x", scale=[1]), TypeError, "cf.MetricScale"),
        (lambda: cf.Metric("x", throttle=0), ValueError, "positive rate"),
        (lambda: cf.Metric("x", throttle=-1), ValueError, "positive rate"),
        (lambda: cf.Metric("x", throttle=math.inf), ValueError, "finite"),
        (lambda: cf.Metric("x", throttle="fast"), TypeError, "number"),
        (lambda: cf.MetricGroup("g", lower=math.nan), ValueError, "finite"),
        (lambda: cf.MetricGroup("g", units="u" * 257), ValueError, "at most 256"),
        (lambda: cf.MetricScale(progress="yes"), TypeError, "True or False"),
        (lambda: cf.MetricScale(upper=True), TypeError, "number"),
    ],
)
def test_a_metric_that_cannot_be_recorded_is_refused_where_it_is_made(
    make: Callable[[], Any], error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        make()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (math.nan, ValueError),
        (math.inf, ValueError),
        (-math.inf, ValueError),
        (10**400, ValueError),
        ("1.5", TypeError),
        (None, TypeError),
        (True, TypeError),
        (1 + 2j, TypeError),
    ],
)
def test_a_value_that_is_not_a_finite_number_is_refused_even_outside_an_execution(
    value: Any, error: type[Exception]
) -> None:
    metric = cf.Metric("loss")
    with pytest.raises(error):
        metric.record(value)
    if value is not None:  # at=None: the time since the execution started
        with pytest.raises(error):
            metric.record(1.0, at=value)


def test_outside_an_execution_recording_does_nothing() -> None:
    assert context.current() is None
    cf.Metric("loss").record(0.5, at=1)
    assert list(cf.progress(["a", "b"])) == ["a", "b"]


def test_inside_an_execution_points_reach_the_channel_when_it_ends(
    run_in: Callable[[FakeChannel], context.ExecutionContext],
) -> None:
    channel = FakeChannel(server({}))
    ctx = run_in(channel)
    loss = cf.Metric("loss", group=cf.MetricGroup("training", units="epoch"), throttle=None)
    for epoch in range(3):
        loss.record(1.0 / (epoch + 1), at=epoch)
    loss.record(7, at=3)  # an int is a number too
    loss.record(8, at=3)  # not after the previous point: dropped, with a warning
    ctx.close()
    assert definitions(channel) == [
        protocol.MetricDefinition(
            key="loss", group=protocol.MetricGroupInfo(name="training", units="epoch")
        )
    ]
    points = sent_points(channel)["loss"]
    assert points == [(1.0, 0.0), (0.5, 1.0), (1 / 3, 2.0), (7.0, 3.0)]
    assert all(isinstance(n, float) for point in points for n in point)
    warnings = [m.entry for m in channel.of(protocol.LogMessage)]
    assert [(w.level, "not after the previous" in w.template) for w in warnings] == [
        ("warning", True)
    ]


def test_progress_counts_the_items_toward_their_number(
    run_in: Callable[[FakeChannel], context.ExecutionContext],
) -> None:
    channel = FakeChannel(server({}))
    ctx = run_in(channel)
    assert list(cf.progress(range(5))) == [0, 1, 2, 3, 4]

    def generated() -> Iterator[str]:
        yield from "abc"

    # Without a length, the items are read first, to know how many there are.
    assert list(cf.progress(generated(), key="letters", group="work")) == ["a", "b", "c"]
    ctx.close()
    progress, letters = definitions(channel)
    assert progress == protocol.MetricDefinition(
        key="progress", scale=protocol.MetricScaleInfo(upper=5.0, progress=True), throttle=10.0
    )
    assert letters.group == protocol.MetricGroupInfo(name="work")
    assert letters.scale == protocol.MetricScaleInfo(upper=3.0, progress=True)
    points = sent_points(channel)
    # Throttled: the first count at once, the last (the final value) at the end.
    assert [value for value, _ in points["progress"]] == [1.0, 5.0]
    assert [value for value, _ in points["letters"]] == [1.0, 3.0]


def test_a_metric_is_one_description_for_every_execution(
    run_in: Callable[[FakeChannel], context.ExecutionContext],
) -> None:
    # Module-level metrics are defined again in each execution that records them.
    shared = cf.Metric("shared", throttle=None)
    first, second = FakeChannel(server({})), FakeChannel(server({}))
    for channel in (first, second):
        ctx = run_in(channel)
        shared.record(1.0, at=1)
        ctx.close()
    assert definitions(first) == definitions(second) == [shared._definition]
    assert sent_points(first) == sent_points(second) == {"shared": [(1.0, 1.0)]}


@cf.task()
def counted(count: int) -> int:
    for _ in cf.progress(range(count)):
        pass
    return count


def test_an_executions_last_points_leave_before_its_outcome(tmp_path: Path) -> None:
    channel = FakeChannel(server({}))
    executor = Executor(channel, {("repo", "counted"): counted}, str(tmp_path))  # type: ignore[arg-type]
    command = protocol.Execute(
        execution_id="r:1:1", run_id="r", step_id="r:1", attempt=1, repository="repo",
        target="counted", arguments=(serialize(1000),),
    )  # fmt: skip
    outcome = executor.run(command)  # what the executor then sends as Complete
    assert isinstance(outcome, protocol.Succeeded)
    # Sent as the execution ended, before run() returned its outcome: the last count too.
    (batch,) = channel.of(protocol.Metrics)[-1].executions
    assert batch.execution_id == "r:1:1"
    assert batch.series[-1].points[-1][0] == 1000.0
