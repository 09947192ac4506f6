"""Metrics in the pure core: a session records its own executions' metrics, within
their bounds and in order, whatever it sends, and the bounds survive a restart."""

from __future__ import annotations

from coflux import protocol
from coflux.orchestration import events as ev
from coflux.orchestration.effects import (
    Effect,
    EnvironmentRecorded,
    LogsRecorded,
    MetricsRecorded,
    OutcomeRecorded,
)
from coflux.orchestration.metrics import DROPPED
from coflux.orchestration.recovery import restore
from coflux.orchestration.sessions import secret_digest
from coflux.orchestration.states import EnvironmentStatus, ExecutionState
from coflux.store.base import ActiveMetric, ActiveRun, Snapshot
from tests.unit.test_core import HELLO, Harness, active

P = protocol
LOSS = P.MetricDefinition(key="loss", throttle=10.0)


def batch(
    execution_id: str,
    *series: tuple[str, list[tuple[float, float]]],
    definitions: tuple[P.MetricDefinition, ...] = (),
) -> P.ExecutionMetrics:
    return P.ExecutionMetrics(
        execution_id, definitions, tuple(P.MetricSeries(key, tuple(p)) for key, p in series)
    )


def running() -> tuple[Harness, str, str]:
    """r1:1:1 runs in session ``mine``, r2:1:1 in ``other``."""
    h = Harness()
    h.setup()
    mine, _ = h.connect(concurrency=1)
    other, _ = h.connect(concurrency=1)
    h.submit("r1")
    h.submit("r2")
    assert h.state.executions["r2:1:1"].session_id == other
    return h, mine, other


def recorded(effects: list[Effect]) -> list[MetricsRecorded]:
    return [e for e in effects if isinstance(e, MetricsRecorded)]


def warnings(effects: list[Effect]) -> list[str]:
    return [
        entry.template
        for e in effects
        if isinstance(e, LogsRecorded)
        for entry in e.entries
        if entry.level == "warning"
    ]


def test_a_session_records_metrics_only_for_its_own_executions() -> None:
    h, mine, _ = running()
    sent = batch("r1:1:1", ("loss", [(1.0, 0.5)]), definitions=(LOSS,))
    effects = h.apply(
        ev.RecordMetrics(mine, (sent, batch("r2:1:1", definitions=(LOSS,)), batch("nope:1:1")))
    )
    assert effects == [MetricsRecorded("r1:1:1", "r1", (LOSS,), sent.series, h.now)]
    assert h.apply(ev.RecordMetrics(mine, (batch("r2:1:1", ("loss", [(1.0, 1.0)])),))) == []
    assert h.state.executions["r2:1:1"].metrics is None


def test_points_are_kept_in_strictly_increasing_x_so_a_resend_adds_nothing() -> None:
    h, mine, _ = running()
    first = batch("r1:1:1", ("loss", [(1.0, 1.0), (2.0, 2.0)]), definitions=(LOSS,))
    h.apply(ev.RecordMetrics(mine, (first,)))
    assert h.apply(ev.RecordMetrics(mine, (first,))) == []  # sent again after a reconnect
    effects = h.apply(
        ev.RecordMetrics(mine, (batch("r1:1:1", ("loss", [(9.0, 2.0), (3.0, 3.0), (8.0, 2.5)])),))
    )
    (fact,) = recorded(effects)
    assert fact.definitions == ()
    assert fact.series == (P.MetricSeries("loss", ((3.0, 3.0),)),)
    assert warnings(effects) == []  # out of order is not past a bound


def test_a_key_is_defined_once_its_first_definition_kept() -> None:
    h, mine, _ = running()
    h.apply(ev.RecordMetrics(mine, (batch("r1:1:1", definitions=(LOSS,)),)))
    other = P.MetricDefinition(key="loss", throttle=None)
    effects = h.apply(
        ev.RecordMetrics(mine, (batch("r1:1:1", ("loss", [(1.0, 1.0)]), definitions=(other,)),))
    )
    (fact,) = recorded(effects)
    assert fact.definitions == () and len(fact.series) == 1


def test_definitions_past_the_bound_are_dropped_with_one_warning() -> None:
    h, mine, _ = running()
    keys = [P.MetricDefinition(key=f"m{i}") for i in range(P.MAX_METRIC_KEYS + 5)]
    effects = h.apply(
        ev.RecordMetrics(
            mine, (batch("r1:1:1", ("m104", [(1.0, 1.0)]), definitions=tuple(keys[:100])),)
        )
    )
    assert len(recorded(effects)[0].definitions) == P.MAX_METRIC_KEYS
    assert warnings(effects) == [DROPPED]  # the points of a metric it could not define
    effects = h.apply(ev.RecordMetrics(mine, (batch("r1:1:1", definitions=tuple(keys[100:])),)))
    assert recorded(effects) == [] and warnings(effects) == []  # warned once
    assert len(h.state.executions["r1:1:1"].metrics.last_at) == P.MAX_METRIC_KEYS  # type: ignore[union-attr]


def test_points_past_the_bound_are_cut_with_one_warning_and_the_rest_goes_on() -> None:
    h, mine, _ = running()
    many = [(float(i), float(i)) for i in range(P.MAX_METRIC_POINTS - 2)]
    h.apply(ev.RecordMetrics(mine, (batch("r1:1:1", ("loss", many), definitions=(LOSS,)),)))
    more = [(float(i), float(i)) for i in range(P.MAX_METRIC_POINTS, P.MAX_METRIC_POINTS + 5)]
    effects = h.apply(ev.RecordMetrics(mine, (batch("r1:1:1", ("loss", more)),)))
    (fact,) = recorded(effects)
    assert fact.series[0].points == tuple(more[:2])
    assert warnings(effects) == [DROPPED]
    assert h.apply(ev.RecordMetrics(mine, (batch("r1:1:1", ("loss", [(1.0, 1e9)])),))) == []
    # Its other messages are not affected: it completes as ever.
    effects = h.complete(mine, "r1:1:1")
    assert any(isinstance(e, OutcomeRecorded) and e.execution_id == "r1:1:1" for e in effects)


def test_the_bounds_go_on_after_a_restart() -> None:
    # r1's workflow was running in session s-old, with a metric near the bound.
    snapshot = Snapshot(
        environments=[EnvironmentRecorded("id-production", "production", None, EnvironmentStatus.ACTIVE, 0.0)],
        manifests=[("id-production", HELLO)],
        runs=[ActiveRun(run_id="r1", environment_id="id-production",
                        root_execution_id="r1:1:1", step_count=1)],
        executions=[active("r1:1:1", ExecutionState.ASSIGNED, session="s-old")],
        calls=[],
        session_secrets={"s-old": secret_digest("secret-s-old")},
        metrics=[
            ActiveMetric(execution_id="r1:1:1", key="loss", last_at=4.0,
                         points=P.MAX_METRIC_POINTS - 1),
            ActiveMetric(execution_id="r1:1:1", key="quiet", last_at=None, points=0),
            ActiveMetric(execution_id="gone:1:1", key="loss", last_at=1.0, points=1),
        ],
    )  # fmt: skip
    h = Harness()
    h.state = restore(snapshot, session_timeout=10.0, now=h.now)
    h.secrets["s-old"] = "secret-s-old"
    session, _ = h.connect(session_id="s-old", executing=("r1:1:1",))
    points = ("loss", [(1.0, 4.0), (2.0, 5.0), (3.0, 6.0)])
    effects = h.apply(ev.RecordMetrics(session, (batch("r1:1:1", points, ("quiet", [])),)))
    (fact,) = recorded(effects)
    # Not again what it had (up to x 4.0), and one more point fits.
    assert fact.series == (P.MetricSeries("loss", ((2.0, 5.0),)),)
    assert warnings(effects) == [DROPPED]
