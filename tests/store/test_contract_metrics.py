"""Metrics in the store contract: definitions and points read back, paged by their
cursor, exact, kept across a reopen, and in the snapshot of unfinished executions."""

from __future__ import annotations

from coflux import protocol
from coflux.orchestration.effects import Fact, MetricsRecorded
from coflux.orchestration.states import ExecutionState
from coflux.store.base import ActiveMetric, ProjectStore
from coflux.views import MetricPointView, MetricView
from tests.store.backends import Backend
from tests.store.facts import T0, environment, run_of, start_run, step, succeed, transition

LOSS = protocol.MetricDefinition(
    key="loss",
    group=protocol.MetricGroupInfo(name="training", units="epoch", lower=0.0, upper=10.0),
    scale=protocol.MetricScaleInfo(name="error", units="", lower=0.0),
    throttle=10.0,
)
PROGRESS = protocol.MetricDefinition(
    key="progress", scale=protocol.MetricScaleInfo(progress=True, upper=3.0)
)


def metrics(
    execution_id: str,
    *points: tuple[str, float, float],
    definitions: tuple[protocol.MetricDefinition, ...] = (),
    at: float = T0,
) -> MetricsRecorded:
    """One MetricsRecorded of (key, value, at) points, grouped by key in order."""
    series: dict[str, list[tuple[float, float]]] = {}
    for key, value, x in points:
        series.setdefault(key, []).append((value, x))
    return MetricsRecorded(
        execution_id=execution_id,
        run_id=run_of(execution_id),
        definitions=definitions,
        series=tuple(protocol.MetricSeries(key, tuple(p)) for key, p in series.items()),
        at=at,
    )


def two_runs() -> list[Fact]:
    return [
        environment(),
        *start_run("R1", T0),
        transition("R1:1:1", ExecutionState.ASSIGNED, T0, "s1"),
        *step("R1", 2, T0, parent="R1:1:1", call_index=0),
        transition("R1:2:1", ExecutionState.ASSIGNED, T0, "s1"),
        *start_run("R2", T0),
    ]


def test_metrics_read_back_with_their_counts_and_latest_points(store: ProjectStore) -> None:
    store.append(two_runs())
    store.append(
        [
            metrics("R1:1:1", ("loss", 0.5, 0.0), ("loss", 0.25, 1.0), definitions=(LOSS,)),
            metrics("R1:2:1", definitions=(PROGRESS,), at=T0 + 1),
            metrics("R2:1:1", ("loss", 9.0, 0.0), definitions=(LOSS,)),
        ]
    )
    store.append([metrics("R1:2:1", ("progress", 1.0, 0.1), ("progress", 3.0, 0.2))])
    assert store.list_metrics("R1") == [
        MetricView(
            execution_id="R1:1:1", key="loss", group=LOSS.group, scale=LOSS.scale,
            throttle=10.0, created_at=T0, count=2, value=0.25, at=1.0,
        ),
        MetricView(
            execution_id="R1:2:1", key="progress", group=None, scale=PROGRESS.scale,
            throttle=None, created_at=T0 + 1, count=2, value=3.0, at=0.2,
        ),
    ]  # fmt: skip
    assert [m.key for m in store.list_metrics("R1", execution_id="R1:2:1")] == ["progress"]
    assert store.list_metrics("R1", execution_id="R2:1:1") == []
    assert [(m.execution_id, m.value) for m in store.list_metrics("R2")] == [("R2:1:1", 9.0)]
    assert store.list_metrics("nope") == []


def test_a_metric_without_points_has_no_latest_point(store: ProjectStore) -> None:
    store.append(two_runs())
    store.append([metrics("R1:1:1", definitions=(LOSS, PROGRESS))])
    listed = store.list_metrics("R1")
    assert [(m.key, m.count, m.value, m.at) for m in listed] == [
        ("loss", 0, None, None),
        ("progress", 0, None, None),
    ]


def test_points_page_by_their_cursor(store: ProjectStore) -> None:
    store.append(two_runs())
    store.append(
        [
            metrics("R1:1:1", ("loss", 1.0, 1.0), ("loss", 2.0, 2.0), definitions=(LOSS,)),
            metrics("R2:1:1", ("loss", 7.0, 1.0), definitions=(LOSS,)),
            metrics("R1:2:1", ("progress", 1.0, 0.5), definitions=(PROGRESS,)),
        ]
    )
    points = store.list_metric_points("R1")
    assert [(p.execution_id, p.key, p.value, p.at) for p in points] == [
        ("R1:1:1", "loss", 1.0, 1.0),
        ("R1:1:1", "loss", 2.0, 2.0),
        ("R1:2:1", "progress", 1.0, 0.5),
    ]
    assert [p.id for p in points] == sorted(p.id for p in points)
    # `after` is exclusive; `limit` cuts the page.
    assert store.list_metric_points("R1", after=points[0].id) == points[1:]
    assert store.list_metric_points("R1", after=points[-1].id) == []
    assert store.list_metric_points("R1", limit=2) == points[:2]
    assert store.list_metric_points("R1", execution_id="R1:2:1") == points[2:]
    assert store.list_metric_points("R1", execution_id="R1:1:1", after=points[0].id) == [points[1]]
    assert store.list_metric_points("R1", execution_id="R2:1:1") == []
    assert [p.value for p in store.list_metric_points("R2")] == [7.0]
    # New points come after the cursor.
    store.append([metrics("R1:1:1", ("loss", 3.0, 3.0))])
    newer = store.list_metric_points("R1", after=points[-1].id)
    assert [(p.key, p.value) for p in newer] == [("loss", 3.0)]


def test_values_and_xs_read_back_exactly(store: ProjectStore) -> None:
    exact = [0.1 + 0.2, 1e308, -1e-308, 5e-324, 2.0**53 + 1, -0.0, 123456.789012345678]
    store.append(two_runs())
    points = [("loss", value, float(index) + 0.1 + 0.2) for index, value in enumerate(exact)]
    store.append([metrics("R1:1:1", *points, definitions=(LOSS,))])
    read = store.list_metric_points("R1")
    assert [p.value for p in read] == exact
    assert [p.at for p in read] == [x for _, _, x in points]
    assert store.list_metrics("R1")[0].value == exact[-1]


def test_a_definition_repeated_in_a_later_batch_keeps_the_first(store: ProjectStore) -> None:
    # The orchestrator never sends one twice; the store does not fail a batch on it.
    store.append(two_runs())
    store.append([metrics("R1:1:1", definitions=(LOSS,))])
    other = protocol.MetricDefinition(key="loss", throttle=None)
    store.append([metrics("R1:1:1", ("loss", 1.0, 1.0), definitions=(other,), at=T0 + 5)])
    (loss,) = store.list_metrics("R1")
    assert (loss.group, loss.throttle, loss.created_at, loss.count) == (LOSS.group, 10.0, T0, 1)


def test_the_snapshot_holds_the_metrics_of_unfinished_executions(store: ProjectStore) -> None:
    store.append(two_runs())
    store.append(
        [
            metrics("R1:1:1", ("loss", 1.0, 1.0), ("loss", 2.0, 4.5), definitions=(LOSS, PROGRESS)),
            metrics("R1:2:1", ("progress", 1.0, 0.5), definitions=(PROGRESS,)),
        ]
    )
    assert store.load_snapshot().metrics == [
        ActiveMetric(execution_id="R1:1:1", key="loss", last_at=4.5, points=2),
        ActiveMetric(execution_id="R1:1:1", key="progress", last_at=None, points=0),
        ActiveMetric(execution_id="R1:2:1", key="progress", last_at=0.5, points=1),
    ]
    # A finished execution is not in the snapshot; its metrics stay readable.
    store.append(succeed("R1:2:1", T0 + 2))
    assert [(m.execution_id, m.key) for m in store.load_snapshot().metrics] == [
        ("R1:1:1", "loss"),
        ("R1:1:1", "progress"),
    ]
    assert [m.execution_id for m in store.list_metrics("R1")] == ["R1:1:1", "R1:1:1", "R1:2:1"]


def test_metrics_are_kept_across_a_reopen(backend: Backend, store: ProjectStore) -> None:
    store.append(two_runs())
    store.append([metrics("R1:1:1", ("loss", 1.0, 1.0), definitions=(LOSS,))])
    before = (store.list_metrics("R1"), store.list_metric_points("R1"), store.load_snapshot())
    reopened = backend.reopen(store)
    after = (reopened.list_metrics("R1"), reopened.list_metric_points("R1"))
    assert after == before[:2]
    assert reopened.load_snapshot().metrics == before[2].metrics
    # Its cursor goes on growing.
    reopened.append([metrics("R1:1:1", ("loss", 2.0, 2.0))])
    last: MetricPointView = before[1][-1]
    assert [p.value for p in reopened.list_metric_points("R1", after=last.id)] == [2.0]
