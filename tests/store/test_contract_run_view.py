"""Contract: a run's full view puts every transition, value and option where it belongs.

A backend reads a run's executions and their transitions apart (a row each) and
the view is assembled from both, so these runs interleave what they record: the
transitions of several executions in one batch, an execution's across batches,
a retry created while other steps move on, and steps of one target with
different options.
"""

from __future__ import annotations

import msgspec

from coflux import protocol
from coflux.orchestration.effects import Fact, StepCreated
from coflux.orchestration.states import ExecutionState
from coflux.store.base import ProjectStore
from coflux.views import RunView
from tests.store.facts import (
    T0,
    attempt,
    environment,
    fail,
    session,
    start_run,
    step,
    succeed,
    transition,
    value,
)

Q = ExecutionState
CACHED = protocol.TargetOptions(cache=protocol.CacheOptions(max_age=60.0))


def with_options(facts: list[Fact], options: protocol.TargetOptions) -> list[Fact]:
    """The facts of ``step``, its step created with ``options``."""
    return [
        msgspec.structs.replace(f, options=options) if isinstance(f, StepCreated) else f
        for f in facts
    ]


def interleaved_run(store: ProjectStore) -> RunView:
    """R1's root calls steps 2, 3 and 4 (3 with other options), whose transitions
    are recorded interleaved; step 2 fails and is retried while 4, whose assignment
    never reached its agent, is queued again and assigned to another session."""
    store.append([environment(), session("s1"), session("s2"), *start_run("R1", T0)])
    store.append(
        [
            transition("R1:1:1", Q.ASSIGNED, T0 + 1, "s1"),
            *step("R1", 2, T0 + 2, parent="R1:1:1", call_index=0, arguments=(value(2),)),
            *with_options(
                step("R1", 3, T0 + 2, parent="R1:1:1", call_index=1, arguments=(value(3),)),
                CACHED,
            ),
            *step("R1", 4, T0 + 2, parent="R1:1:1", call_index=2, arguments=(value(4),)),
        ]
    )
    store.append(
        [
            transition("R1:4:1", Q.ASSIGNED, T0 + 3, "s2"),
            transition("R1:2:1", Q.ASSIGNED, T0 + 3, "s1"),
            transition("R1:3:1", Q.ASSIGNED, T0 + 3, "s2"),
        ]
    )
    store.append(
        [*succeed("R1:3:1", T0 + 4, data=3, session_id="s2")[1:], *fail("R1:2:1", T0 + 4)[1:]]
    )
    store.append([*attempt("R1:2", 2, T0 + 5), transition("R1:4:1", Q.QUEUED, T0 + 5)])
    store.append(
        [
            *succeed("R1:2:2", T0 + 6, data=2),
            transition("R1:4:1", Q.ASSIGNED, T0 + 6, "s1"),
            *succeed("R1:4:1", T0 + 7, data=4)[1:],
        ]
    )
    run = store.get_run("R1")
    assert run is not None
    return run


def test_each_execution_has_its_own_transitions_in_the_order_recorded(
    store: ProjectStore,
) -> None:
    run = interleaved_run(store)
    transitions = {
        e.id: [(t.state, t.at, t.session_id) for t in e.transitions]
        for s in run.steps
        for e in s.executions
    }
    assert transitions == {
        "R1:1:1": [("queued", T0, None), ("assigned", T0 + 1, "s1")],
        "R1:2:1": [("queued", T0 + 2, None), ("assigned", T0 + 3, "s1"), ("failed", T0 + 5, "s1")],
        "R1:2:2": [("queued", T0 + 5, None), ("assigned", T0 + 6, "s1"), ("succeeded", T0 + 7, "s1")],
        "R1:3:1": [("queued", T0 + 2, None), ("assigned", T0 + 3, "s2"), ("succeeded", T0 + 5, "s2")],
        "R1:4:1": [
            ("queued", T0 + 2, None),
            ("assigned", T0 + 3, "s2"),
            ("queued", T0 + 5, None),
            ("assigned", T0 + 6, "s1"),
            ("succeeded", T0 + 8, "s1"),
        ],
    }  # fmt: skip


def test_each_step_has_its_own_values_and_options(store: ProjectStore) -> None:
    run = interleaved_run(store)
    assert [s.id for s in run.steps] == ["R1:1", "R1:2", "R1:3", "R1:4"]
    _, second, third, fourth = run.steps
    assert [s.arguments for s in (second, third, fourth)] == [[value(2)], [value(3)], [value(4)]]
    assert third.options == CACHED
    assert second.options == fourth.options != CACHED
    assert [(e.id, e.state, e.outcome) for e in second.executions] == [
        ("R1:2:1", "failed", second.executions[0].outcome),
        ("R1:2:2", "succeeded", protocol.Succeeded(value=value(2))),
    ]
    assert isinstance(second.executions[0].outcome, protocol.Failed)
    assert [e.outcome for s in (third, fourth) for e in s.executions] == [
        protocol.Succeeded(value=value(3)),
        protocol.Succeeded(value=value(4)),
    ]
    assert (run.state, run.completed_at) == ("assigned", None)  # the root still runs
