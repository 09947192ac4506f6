"""The contract, continued: a step's ``cf.group`` and a ``timed_out`` execution are
recorded like everything else, and read back the same after a restart."""

from __future__ import annotations

import msgspec

from coflux import protocol
from coflux.orchestration.effects import Fact, StepCreated
from coflux.orchestration.states import ExecutionState
from coflux.store.base import ProjectStore
from tests.store.backends import Backend
from tests.store.facts import (
    T0,
    attempt,
    environment,
    outcome,
    session,
    start_run,
    step,
    succeed,
    transition,
)

Q = ExecutionState
CHAPTERS = protocol.Group(index=0, name="Process chapters")
TIMED_OUT = protocol.TimedOut(timeout=2.5)


def grouped_step(number: int, group: protocol.Group | None) -> list[Fact]:
    created, *rest = step("R1", number, T0 + 1, parent="R1:1:1", call_index=number - 2)
    assert isinstance(created, StepCreated)
    return [msgspec.structs.replace(created, group=group), *rest]


def time_out(execution_id: str, at: float) -> list[Fact]:
    return [
        transition(execution_id, Q.ASSIGNED, at, "s1"),
        transition(execution_id, Q.TIMED_OUT, at + 2.5, "s1"),
        outcome(execution_id, TIMED_OUT, at + 2.5),
    ]


def recorded() -> list[Fact]:
    """R1: in group 0 two steps, one of them timed out twice and is retried; a step
    in an unnamed group 1; one in no group. The root still runs."""
    return [
        environment(),
        session("s1"),
        *start_run("R1", T0),
        transition("R1:1:1", Q.ASSIGNED, T0 + 0.5, "s1"),
        *grouped_step(2, CHAPTERS),
        *grouped_step(3, CHAPTERS),
        *grouped_step(4, protocol.Group(index=1)),
        *grouped_step(5, None),
        *succeed("R1:2:1", T0 + 2),
        *time_out("R1:3:1", T0 + 2),
        *attempt("R1:3", 2, T0 + 5),
        *time_out("R1:3:2", T0 + 6),
        *attempt("R1:3", 3, T0 + 9),
    ]


def read_back(current: ProjectStore) -> None:
    run = current.get_run("R1")
    outline = current.get_run_outline("R1")
    assert run is not None and outline is not None
    for steps in (run.steps, outline.steps):
        assert [(s.id, s.group) for s in steps] == [
            ("R1:1", None),
            ("R1:2", CHAPTERS),
            ("R1:3", CHAPTERS),
            ("R1:4", protocol.Group(index=1)),
            ("R1:5", None),
        ]
    timed_out = run.steps[2].executions
    assert [(e.id, e.state, e.outcome) for e in timed_out] == [
        ("R1:3:1", "timed_out", TIMED_OUT),
        ("R1:3:2", "timed_out", TIMED_OUT),
        ("R1:3:3", "queued", None),
    ]
    assert current.get_outcome("R1:3:2") == TIMED_OUT
    # The restart's working set has the retry, not the attempts that timed out.
    active = {e.execution_id for e in current.load_snapshot().executions}
    assert "R1:3:3" in active
    assert not {"R1:3:1", "R1:3:2"} & active


def test_groups_and_timeouts_read_back_after_a_restart(
    backend: Backend, store: ProjectStore
) -> None:
    store.append(recorded())
    read_back(store)
    read_back(backend.reopen(store))


def test_a_run_whose_root_timed_out_is_listed_timed_out(
    backend: Backend, store: ProjectStore
) -> None:
    store.append([environment(), session("s1"), *start_run("R1", T0), *time_out("R1:1:1", T0)])
    reopened = backend.reopen(store)
    (summary,) = reopened.list_runs()
    assert (summary.id, summary.state) == ("R1", "timed_out")
    assert reopened.load_snapshot().runs == []
