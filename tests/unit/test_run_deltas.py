"""The run topic's deltas (coflux.server.deltas) change a RunView as the store does.

A snapshot read from a real (SQLite) store, with the deltas of every later batch
applied the way a client applies them, must equal the view the store reads after
those batches: then a client that applies deltas needs no model of the facts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from coflux import protocol
from coflux.orchestration.effects import (
    ExecutionLinked,
    Fact,
    InputDismissed,
    MetricsRecorded,
)
from coflux.orchestration.states import ExecutionState
from coflux.server.deltas import run_deltas
from coflux.views import (
    ExecutionAdded,
    ExecutionChanged,
    LogsAdded,
    RunDelta,
    StepAdded,
)
from tests.store.backends import SqliteBackend
from tests.store.facts import (
    ENV,
    T0,
    attempt,
    environment,
    fail,
    logs,
    outcome,
    session,
    start_run,
    step,
    succeed,
    transition,
    value,
)

Q = ExecutionState
DEV = "env-dev"
NAMES = {ENV: "production", DEV: "dev"}


def _apply(view: dict[str, Any], delta: RunDelta) -> None:
    """A client's application of one delta to a view (as builtins), idempotent."""
    steps: list[dict[str, Any]] = view["steps"]
    match delta:
        case StepAdded(step=step):
            if all(s["id"] != step.id for s in steps):
                steps.append(msgspec.to_builtins(step))
                steps.sort(key=lambda s: s["number"])
        case ExecutionAdded(step_id=step_id, execution=execution):
            executions = next(s for s in steps if s["id"] == step_id)["executions"]
            if all(e["id"] != execution.id for e in executions):
                executions.append(msgspec.to_builtins(execution))
        case ExecutionChanged():
            execution = next(
                e for s in steps for e in s["executions"] if e["id"] == delta.execution_id
            )
            for name, change in msgspec.to_builtins(delta).items():
                if name == "transition":
                    if change not in execution["transitions"]:
                        execution["transitions"].append(change)
                elif name not in ("delta", "execution_id"):
                    execution[name] = change
        case LogsAdded():
            pass


def _batches() -> list[list[Fact]]:
    """R1: the root calls a task that fails, is retried in a child environment and
    succeeds, and a cached step that stands in for R1:2:2; R9's facts interleave."""
    return [
        [environment(), environment(DEV, "dev", base_id=ENV), session("s1")],
        [*start_run("R1", T0, arguments=(value(1),))],
        [transition("R1:1:1", Q.ASSIGNED, T0 + 1, "s1"), *start_run("R9", T0 + 1)],
        [*step("R1", 2, T0 + 2, parent="R1:1:1", call_index=0, arguments=(value(2),))],
        [*fail("R1:2:1", T0 + 3), *attempt("R1:2", 2, T0 + 5, env_id=DEV)],
        [*succeed("R1:2:2", T0 + 6, data=42), logs(("R1:2:2", "hi", T0 + 6))],
        [
            *step("R1", 3, T0 + 7, parent="R1:1:1", call_index=1),
            transition("R1:3:1", Q.CACHED, T0 + 7),
            ExecutionLinked(execution_id="R1:3:1", run_id="R1", leader_id="R1:2:2", at=T0 + 7),
        ],
        [
            outcome("R1:3:1", protocol.Succeeded(value=value(42)), T0 + 7),
            transition("R1:1:1", Q.SUCCEEDED, T0 + 8, "s1"),
            outcome("R1:1:1", protocol.Succeeded(value=value("done")), T0 + 8),
        ],
    ]


def test_deltas_rebuild_the_stores_view(tmp_path: Path) -> None:
    backend = SqliteBackend(tmp_path)
    store = backend.create()
    try:
        batches = _batches()
        for batch in batches[:2]:
            store.append(batch)
        snapshot = store.get_run("R1")
        assert snapshot is not None
        view = msgspec.to_builtins(snapshot)
        for batch in batches[2:]:
            store.append(batch)
            deltas, _ = run_deltas("R1", batch, NAMES)
            for delta in deltas + deltas:  # applying twice changes nothing
                _apply(view, delta)
            stored = store.get_run("R1")
            assert stored is not None
            assert view["steps"] == msgspec.to_builtins(stored)["steps"]
        assert [e["environment"] for e in view["steps"][1]["executions"]] == ["production", "dev"]
        assert view["steps"][2]["executions"][0]["successor"] == "R1:2:2"
    finally:
        backend.close_all()


def test_logs_of_the_run_only_and_facts_beyond_the_view_pass_through() -> None:
    metrics = MetricsRecorded(execution_id="R1:1:1", run_id="R1", definitions=(), series=(), at=T0)
    dismissed = InputDismissed(input_id="i1", run_id="R9", dismissed_by="ann", at=T0)
    facts: list[Fact] = [
        logs(("R1:1:1", "mine", T0), ("R9:1:1", "theirs", T0), ("R1:2:1", "also", T0)),
        metrics,
        dismissed,
        transition("R9:1:1", Q.ASSIGNED, T0, "s1"),
    ]
    deltas, others = run_deltas("R1", facts, NAMES)
    assert len(deltas) == 1
    assert isinstance(deltas[0], LogsAdded)
    assert [e.template for e in deltas[0].entries] == ["mine", "also"]
    assert others == [metrics]


def test_a_change_names_only_what_changed() -> None:
    (queued,) = run_deltas("R1", [transition("R1:1:1", Q.QUEUED, T0)], NAMES)[0]
    assert msgspec.json.decode(msgspec.json.encode(queued)) == {
        "delta": "execution_changed",
        "execution_id": "R1:1:1",
        "state": "queued",
        "transition": {"state": "queued", "at": T0, "session_id": None},
    }
    (failed,) = run_deltas("R1", [transition("R1:1:1", Q.FAILED, T0 + 1, "s1")], NAMES)[0]
    assert isinstance(failed, ExecutionChanged)
    assert (failed.completed_at, failed.session_id) == (T0 + 1, "s1")
    assert failed.assigned_at is msgspec.UNSET
