"""One execution's metric recorder with a fake clock: throttling, order, bounds, batches."""

from __future__ import annotations

import pytest

from coflux import protocol
from coflux.sdk.recorder import MetricRecorder
from tests.support.eventually import eventually

P = protocol
LOSS = P.MetricDefinition(key="loss", throttle=10.0)  # a window of 0.1 s
EVERY = P.MetricDefinition(key="every")  # unthrottled


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Recording:
    """A recorder with a fake clock, started at 100.0, that sends only when flushed."""

    def __init__(self, *, background: bool = False) -> None:
        self.clock = Clock()
        self.sent: list[P.Metrics] = []
        self.warnings: list[str] = []
        self.recorder = MetricRecorder(
            "r:1:1",
            self.sent.append,
            self.warnings.append,
            started=self.clock.now,
            clock=self.clock,
            background=background,
        )

    def record(
        self, value: float, at: float | None = None, definition: P.MetricDefinition = LOSS
    ) -> None:
        self.recorder.record(definition, value, at)

    def flush(self, *, final: bool = False) -> P.ExecutionMetrics | None:
        before = len(self.sent)
        self.recorder.flush(final=final)
        if len(self.sent) == before:
            return None
        (message,) = self.sent[before:]
        # What the agent gets decodes as it was sent.
        assert P.decode_executor_message(P.encode_msgpack(message)) == message
        (batch,) = message.executions
        return batch

    def points(self, key: str = "loss") -> list[tuple[float, float]]:
        """Every point sent so far of ``key``, in order."""
        return [
            point
            for message in self.sent
            for batch in message.executions
            for series in batch.series
            if series.key == key
            for point in series.points
        ]


def test_the_first_point_is_sent_then_a_window_keeps_only_its_latest() -> None:
    r = Recording()
    r.record(1.0, at=1)
    r.clock.now += 0.01
    r.record(2.0, at=2)
    r.clock.now += 0.01
    r.record(3.0, at=3)
    batch = r.flush()
    assert batch is not None
    assert batch.definitions == (LOSS,)  # with its first points, once
    assert r.points() == [(1.0, 1.0)]  # 3 waits for the window's end
    r.clock.now += 0.05  # 0.07 s after the first: still inside its window
    assert r.flush() is None
    r.clock.now += 0.03
    later = r.flush()
    assert later is not None and later.definitions == ()
    assert r.points() == [(1.0, 1.0), (3.0, 3.0)]  # 2 was replaced by 3, never sent


def test_the_latest_point_is_sent_when_the_execution_ends_inside_its_window() -> None:
    r = Recording()
    for step in range(100):
        r.record(float(step), at=step)
        r.clock.now += 0.0001
    r.recorder.close()
    assert r.points() == [(0.0, 0.0), (99.0, 99.0)]
    r.record(100.0, at=100)  # after the end: nothing
    r.recorder.flush(final=True)
    assert r.points()[-1] == (99.0, 99.0)


def test_a_point_after_the_window_sends_the_one_it_kept_first() -> None:
    r = Recording()
    r.record(1.0, at=1)
    r.clock.now += 0.05
    r.record(2.0, at=2)  # kept by the window
    r.clock.now += 0.2  # the window ended, and nothing flushed meanwhile
    r.record(3.0, at=3)
    r.flush()
    # 2 went out with the window's end; 3 waits for the window that 2 opened.
    assert r.points() == [(1.0, 1.0), (2.0, 2.0)]
    r.clock.now += 0.11
    r.flush()
    assert r.points() == [(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]


def test_a_throttle_sets_the_window_and_none_sends_every_point() -> None:
    r = Recording()
    fast = P.MetricDefinition(key="fast", throttle=1000.0)  # 1 ms
    for step in range(5):
        r.record(float(step), at=step, definition=fast)
        r.record(float(step), at=step, definition=EVERY)
        r.clock.now += 0.002
    r.flush()
    assert r.points("fast") == r.points("every") == [(float(s), float(s)) for s in range(5)]


def test_x_defaults_to_seconds_since_the_execution_started() -> None:
    r = Recording()
    r.clock.now += 1.5
    r.record(1.0, definition=EVERY)
    r.clock.now += 0.25
    r.record(2.0, definition=EVERY)
    r.flush()
    assert r.points("every") == [(1.0, 1.5), (2.0, 1.75)]


def test_a_point_not_after_the_previous_one_is_dropped_with_one_warning() -> None:
    r = Recording()
    for value, at in [(1.0, 5), (2.0, 5), (3.0, 4), (4.0, 6), (5.0, 1)]:
        r.record(value, at=at, definition=EVERY)
    r.flush()
    assert r.points("every") == [(1.0, 5.0), (4.0, 6.0)]
    assert len(r.warnings) == 1 and "not after the previous one" in r.warnings[0]


def test_mixing_points_with_and_without_at_uses_the_time_from_then_on() -> None:
    r = Recording()
    r.record(1.0, at=0.5, definition=EVERY)
    r.clock.now += 2.0
    r.record(2.0, definition=EVERY)  # the time: 2.0
    r.clock.now += 1.0
    r.record(3.0, at=100, definition=EVERY)  # at= ignored from now on: 3.0
    r.flush()
    assert r.points("every") == [(1.0, 0.5), (2.0, 2.0), (3.0, 3.0)]
    assert len(r.warnings) == 1 and "mixes points" in r.warnings[0]


def test_a_key_defined_again_differently_is_refused_changing_nothing() -> None:
    r = Recording()
    r.record(1.0, at=1)
    with pytest.raises(ValueError, match="'loss' is already defined"):
        r.record(2.0, at=2, definition=P.MetricDefinition(key="loss", throttle=None))
    # An equal definition (another Metric object with the same options) is the same metric.
    r.clock.now += 1
    r.record(3.0, at=3, definition=P.MetricDefinition(key="loss", throttle=10.0))
    batch = r.flush()
    assert batch is not None and batch.definitions == (LOSS,)
    assert r.points() == [(1.0, 1.0), (3.0, 3.0)]


def test_a_group_or_a_scale_must_be_the_same_under_one_name() -> None:
    r = Recording()
    group = P.MetricGroupInfo(name="training", units="epoch")
    scale = P.MetricScaleInfo(name="error", units="")
    r.record(1.0, definition=P.MetricDefinition(key="a", group=group, scale=scale))
    other_group = P.MetricGroupInfo(name="training", units="step")
    with pytest.raises(ValueError, match="group 'training'"):
        r.record(1.0, definition=P.MetricDefinition(key="b", group=other_group))
    with pytest.raises(ValueError, match="scale 'error'"):
        r.record(1.0, definition=P.MetricDefinition(key="c", scale=P.MetricScaleInfo(name="error")))
    # Unnamed scales are each metric's own; the same group and scale are shared.
    r.record(1.0, definition=P.MetricDefinition(key="d", scale=P.MetricScaleInfo(units="%")))
    r.record(1.0, definition=P.MetricDefinition(key="e", group=group, scale=scale))
    batch = r.flush()
    assert batch is not None
    assert [d.key for d in batch.definitions] == ["a", "d", "e"]


def test_one_metric_past_the_bound_is_refused_in_the_task() -> None:
    r = Recording()
    for index in range(P.MAX_METRIC_KEYS):
        r.record(1.0, definition=P.MetricDefinition(key=f"m{index}"))
    with pytest.raises(ValueError, match=f"at most {P.MAX_METRIC_KEYS} metrics"):
        r.record(1.0, definition=P.MetricDefinition(key="one-more"))
    r.record(2.0, definition=P.MetricDefinition(key="m0"))  # the others go on
    batch = r.flush()
    assert batch is not None and len(batch.definitions) == P.MAX_METRIC_KEYS
    assert "one-more" not in {d.key for d in batch.definitions}


def test_points_past_the_bound_are_dropped_with_one_warning() -> None:
    r = Recording()
    for index in range(P.MAX_METRIC_POINTS + 10):
        r.record(float(index), at=index, definition=EVERY)
    r.recorder.close()
    points = r.points("every")
    assert len(points) == P.MAX_METRIC_POINTS
    assert points[-1] == (P.MAX_METRIC_POINTS - 1.0,) * 2
    assert len(r.warnings) == 1 and f"at most {P.MAX_METRIC_POINTS}" in r.warnings[0]


def test_nothing_recorded_sends_nothing() -> None:
    r = Recording()
    r.recorder.close()
    assert r.sent == []


def test_a_gone_agent_is_not_an_error_in_the_task() -> None:
    r = Recording()

    def gone(message: P.Metrics) -> None:
        raise ConnectionError("the connection to the agent closed")

    r.recorder = MetricRecorder(
        "r:1:1", gone, r.warnings.append, started=0.0, clock=r.clock, background=False
    )
    r.record(1.0, at=1)
    r.recorder.close()


def test_the_background_thread_sends_without_being_asked() -> None:
    r = Recording(background=True)
    r.record(1.0, at=1)
    r.clock.now += 0.01
    r.record(2.0, at=2)  # kept for the window's end
    r.clock.now += 1.0  # which the thread finds passed
    eventually(lambda: r.points() == [(1.0, 1.0), (2.0, 2.0)], 10)
    r.recorder.close()
    assert r.points() == [(1.0, 1.0), (2.0, 2.0)]
