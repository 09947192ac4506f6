"""A run's committed facts as the run topic's deltas (``coflux.views.RunDelta``).

Subscribers to a run hold its ``RunView``; the facts say what happened in the
orchestrator's terms (environment ids, transitions to fold into times). This is
the one place that turns them into changes of the view, the same way the stores
build it (``coflux.store.rows``, ``fact_rows``), so a client applies a delta
without a second implementation of the view. Facts no part of a ``RunView``
shows (metrics, assets, inputs, checkpoints) are handed back as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from coflux.orchestration.effects import (
    ExecutionCreated,
    ExecutionLinked,
    ExecutionTransitioned,
    Fact,
    LogsRecorded,
    OutcomeRecorded,
    StepCreated,
)
from coflux.orchestration.states import ExecutionState
from coflux.views import (
    ExecutionAdded,
    ExecutionChanged,
    ExecutionView,
    LogsAdded,
    RunDelta,
    StepAdded,
    StepView,
    TransitionView,
)

_IN_VIEW = (StepCreated, ExecutionCreated, ExecutionTransitioned, ExecutionLinked, OutcomeRecorded)


def run_deltas(
    run_id: str, facts: Sequence[Fact], environment_names: Mapping[str, str]
) -> tuple[list[RunDelta], list[Fact]]:
    """The changes that ``facts`` make to the ``RunView`` of ``run_id``, in order,
    and the facts about the run that no view field shows.

    Args:
        environment_names: environment id -> name (views name environments); an id
            missing from it is shown as it is.
    """
    deltas: list[RunDelta] = []
    others: list[Fact] = []
    for fact in facts:
        if isinstance(fact, LogsRecorded):
            entries = [
                e for e, run in zip(fact.entries, fact.run_ids, strict=True) if run == run_id
            ]
            if entries:
                deltas.append(LogsAdded(entries=entries))
        elif not isinstance(fact, _IN_VIEW):
            if getattr(fact, "run_id", None) == run_id:
                others.append(fact)
        elif fact.run_id == run_id:
            deltas.append(_delta(fact, environment_names))
    return deltas, others


def _delta(
    fact: StepCreated
    | ExecutionCreated
    | ExecutionTransitioned
    | ExecutionLinked
    | OutcomeRecorded,
    environment_names: Mapping[str, str],
) -> RunDelta:
    match fact:
        case StepCreated():
            return StepAdded(step=_step(fact))
        case ExecutionCreated():
            environment = environment_names.get(fact.environment_id, fact.environment_id)
            return ExecutionAdded(step_id=fact.step_id, execution=_execution(fact, environment))
        case ExecutionTransitioned():
            return _transitioned(fact)
        case ExecutionLinked():
            return ExecutionChanged(execution_id=fact.execution_id, successor=fact.leader_id)
        case OutcomeRecorded():
            return ExecutionChanged(execution_id=fact.execution_id, outcome=fact.outcome)


def _step(fact: StepCreated) -> StepView:
    return StepView(
        id=fact.step_id,
        number=fact.number,
        repository=fact.repository,
        target=fact.target,
        type=fact.type,
        parent_execution=fact.parent_execution_id,
        call_index=fact.call_index,
        created_at=fact.at,
        arguments=list(fact.arguments),
        executions=[],
        options=fact.options,
        group=fact.group,
    )


def _execution(fact: ExecutionCreated, environment: str) -> ExecutionView:
    # Its first transition (``queued``) is a fact of its own, so it starts with none.
    return ExecutionView(
        id=fact.execution_id,
        attempt=fact.attempt,
        state=ExecutionState.QUEUED.value,
        environment=environment,
        created_at=fact.at,
        assigned_at=None,
        completed_at=None,
        session_id=None,
        outcome=None,
        transitions=[],
    )


def _transitioned(fact: ExecutionTransitioned) -> ExecutionChanged:
    """As the stores keep an execution's current state: assigned at its
    assignment, completed at its terminal state, its session the latest named."""
    state, at, session_id = fact.state, fact.at, fact.session_id
    return ExecutionChanged(
        execution_id=fact.execution_id,
        state=state.value,
        transition=TransitionView(state=state.value, at=at, session_id=session_id),
        assigned_at=at if state is ExecutionState.ASSIGNED else msgspec.UNSET,
        completed_at=at if state.terminal else msgspec.UNSET,
        session_id=session_id if session_id is not None else msgspec.UNSET,
    )
