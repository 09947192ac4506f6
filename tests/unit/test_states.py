"""The transition table, edge by edge: every legal move works, every other raises."""

from __future__ import annotations

import itertools

import pytest

from coflux.errors import InvalidTransition
from coflux.orchestration.states import TRANSITIONS, ExecutionState, transition

S = ExecutionState
# SPEC §3, written out independently of the table under test.
LEGAL = {
    (S.QUEUED, S.ASSIGNED), (S.QUEUED, S.CACHED), (S.QUEUED, S.DEFERRED),
    (S.QUEUED, S.SPAWNED), (S.QUEUED, S.CANCELLED),
    (S.ASSIGNED, S.SUCCEEDED), (S.ASSIGNED, S.FAILED), (S.ASSIGNED, S.ABANDONED),
    (S.ASSIGNED, S.CANCELLED), (S.ASSIGNED, S.SUSPENDED),
    # Timeouts (0.11's ``timeout=``): only a running execution can run past one.
    (S.ASSIGNED, S.TIMED_OUT),
    # An assignment that never reached its agent (issue 14: a takeover alone
    # abandons nothing): the execution is queued again (docs/semantics.md).
    (S.ASSIGNED, S.QUEUED),
}  # fmt: skip
ALL_EDGES = list(itertools.product(ExecutionState, ExecutionState))


def test_table_matches_the_spec() -> None:
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == LEGAL


@pytest.mark.parametrize(("current", "requested"), sorted(LEGAL, key=str))
def test_legal_transition(current: ExecutionState, requested: ExecutionState) -> None:
    assert transition("e", current, requested) is requested


@pytest.mark.parametrize(
    ("current", "requested"), [e for e in ALL_EDGES if e not in LEGAL], ids=str
)
def test_illegal_transition_raises(current: ExecutionState, requested: ExecutionState) -> None:
    with pytest.raises(InvalidTransition) as raised:
        transition("e1", current, requested)
    assert raised.value.current is current and raised.value.requested is requested
    assert "e1" in str(raised.value)


def test_terminal_states_are_those_with_no_way_out() -> None:
    terminal = {s for s in ExecutionState if s.terminal}
    assert terminal == set(ExecutionState) - {S.QUEUED, S.ASSIGNED}
