"""What a row of each of the stores' reads is, and the view or record it becomes.

Both backends answer the same queries (``reading.Queries``) with rows of the same
columns in the same order; this module turns those rows into the read models of
``coflux.views`` and the snapshot's records of ``store.base``, by rules that hold
on every backend: "current" means the latest row by id, an execution with no
state counts as queued, and a terminal state's time is the completion time.
Where the backends keep a column in different types (a log's template), the
function takes the backend's decoding as an argument.

Nothing here does I/O: a caller runs the queries and hands over their rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import msgspec

from coflux import previews, protocol
from coflux.orchestration.effects import EnvironmentRecorded
from coflux.orchestration.events import StepRecord
from coflux.orchestration.states import EnvironmentStatus, ExecutionState
from coflux.store import codecs
from coflux.store.base import ActiveExecution, ActiveInput, ActiveMetric, ActiveRun
from coflux.views import (
    AssetRestoreView,
    AssetSummary,
    EnvironmentView,
    ExecutionOutline,
    ExecutionView,
    InputView,
    LogView,
    MetricPointView,
    MetricView,
    ProjectInfo,
    RunAssets,
    RunOutline,
    RunSummary,
    RunView,
    StepOutline,
    StepView,
    TransitionView,
)

Row = tuple[Any, ...]

_QUEUED = ExecutionState.QUEUED.value
# Plain strings, looked up once: enum attribute access is slow in the loops that
# build views of runs with thousands of executions.
_TERMINAL = frozenset(state.value for state in ExecutionState if state.terminal)
_metadata = msgspec.json.Decoder(dict[str, Any])


def project_info(row: Row | None) -> ProjectInfo | None:
    """The project from its row: id, name, created_at."""
    return None if row is None else ProjectInfo(id=row[0], name=row[1], created_at=row[2])


# --- environments and manifests -------------------------------------------------
# An environment's row: id, created_at, name, base_id, status, updated_at (of its
# current version), oldest environment first.


def environment_names(rows: Iterable[Row]) -> dict[str, str]:
    """Each environment's current name, by id."""
    return {row[0]: row[2] for row in rows}


def _name(names: dict[str, str], env_id: str) -> str:
    """An environment's name, or its id where it has none (a row cannot lack one)."""
    return names.get(env_id, env_id)


def environment_views(rows: Iterable[Row]) -> list[EnvironmentView]:
    found = list(rows)
    names = environment_names(found)
    return [
        EnvironmentView(
            id=env_id,
            name=name,
            base=None if base_id is None else names.get(base_id),
            status=status,
            created_at=created_at,
            updated_at=updated_at,
        )
        for env_id, created_at, name, base_id, status, updated_at in found
    ]


def environment_records(rows: Iterable[Row]) -> list[EnvironmentRecorded]:
    """The facts that would record each environment as it is now (for the snapshot)."""
    return [
        EnvironmentRecorded(
            environment_id=env_id,
            name=name,
            base_id=base_id,
            status=EnvironmentStatus(status),
            at=at,
        )
        for env_id, _created_at, name, base_id, status, at in rows
    ]


def manifests(rows: Iterable[Row]) -> list[protocol.Manifest]:
    """The manifests of rows of their text (the latest of each repository, by
    repository name), empty ones left out: an empty manifest means the repository
    has no targets there, and leaving it out says exactly that."""
    decoded = (codecs.decode_manifest(text) for (text,) in rows)
    return [manifest for manifest in decoded if manifest.targets]


# --- runs -----------------------------------------------------------------------


def status(state: str | None, at: float | None) -> tuple[str, float | None]:
    """A state and completion time from an execution's current state.

    A terminal state has no way out, so when the current state is terminal its
    time is the completion time. An execution with no state (the core records
    `queued` with every new execution, so this is defensive) counts as queued.
    """
    if state is None or at is None:
        return _QUEUED, None
    return state, at if state in _TERMINAL else None


def run_summaries(rows: Iterable[Row], names: dict[str, str]) -> list[RunSummary]:
    """Runs from their rows: id, environment id, repository, target, created_at and
    their root execution's current state and its time."""
    summaries = []
    for run_id, env_id, repo, tgt, created_at, state, at in rows:
        state, completed_at = status(state, at)
        summaries.append(
            RunSummary(
                id=run_id,
                environment=_name(names, env_id),
                repository=repo,
                target=tgt,
                state=state,
                created_at=created_at,
                completed_at=completed_at,
            )
        )
    return summaries


def run_view(
    run_id: str,
    run: Row,
    names: dict[str, str],
    outline: Iterable[Row],
    transitions: Iterable[Row],
) -> RunView:
    """A run with its steps and their executions, their values and transitions.

    Args:
        run: the run's row (environment id, repository, target, idempotency key,
            created_at, the execution that spawned it).
        outline: the rows of ``run_outline`` with values (each step's arguments
            and each execution's outcome), then the step's options.
        transitions: (execution id, state, at, session id) of every transition of
            the run, each execution's together and in the order they were recorded.
    """
    recorded = _transitions_by_execution(transitions)
    # The calls of one target mostly share their options' text: decoded once each
    # (the options are frozen, so the steps can share them).
    options: dict[str, protocol.TargetOptions] = {}
    steps: list[StepView] = []
    step: StepView | None = None
    for row in outline:
        if step is None or step.id != row[0]:
            text = row[21]
            shared = options.get(text)
            if shared is None:
                shared = options[text] = codecs.decode_options(text)
            step = _step_view(row, codecs.decode_argument_list(row[19]), shared)
            steps.append(step)
        if row[10] is not None:  # NULL: the step has no execution (yet)
            outcome = None if row[20] is None else codecs.decode_outcome(row[20])
            step.executions.append(_execution_view(row, names, outcome, recorded.get(row[10], [])))
    return RunView(**_run_fields(run_id, run, names), **_run_state(steps), steps=steps)


def _transitions_by_execution(rows: Iterable[Row]) -> dict[str, list[TransitionView]]:
    """The transitions by execution id, from rows with each execution's together."""
    by_execution: dict[str, list[TransitionView]] = {}
    current_id, current = None, []
    for execution_id, state, at, session_id in rows:
        if execution_id != current_id:  # the next execution's (one look-up each)
            current_id, current = execution_id, by_execution.setdefault(execution_id, [])
        current.append(TransitionView(state=state, at=at, session_id=session_id))
    return by_execution


def run_outline(
    run_id: str,
    run: Row,
    names: dict[str, str],
    outline: Iterable[Row],
    *,
    with_previews: bool = False,
) -> RunOutline:
    """A run's outline from its row (as ``run_view``'s) and a row per execution: its
    step's columns, then its own (all NULL for a step that has none), in step and
    attempt order; ``with_previews``: then the step's arguments and the execution's
    outcome, made into their previews (``coflux.previews``: decoding and cutting
    them triples the cost of a large run's outline, so only ``runs inspect`` asks)."""
    steps: list[StepOutline] = []
    step: StepOutline | None = None
    for row in outline:
        if step is None or step.id != row[0]:
            shown = (
                previews.argument_previews(codecs.decode_arguments(row[19]))
                if with_previews
                else []
            )
            step = _step_outline(row, shown)
            steps.append(step)
        if row[10] is not None:  # NULL: the step has no execution (yet)
            preview = None
            if with_previews and row[20] is not None:
                preview = previews.outcome_preview(codecs.decode_outcome(row[20]))
            step.executions.append(_execution_outline(row, names, preview))
    return RunOutline(**_run_fields(run_id, run, names), **_run_state(steps), steps=steps)


def _run_fields(run_id: str, run: Row, names: dict[str, str]) -> dict[str, Any]:
    """The fields every view of the run starts with."""
    env_id, repository, target, key, created_at, spawned_by = run
    return {
        "id": run_id,
        "environment": _name(names, env_id),
        "repository": repository,
        "target": target,
        "idempotency_key": key,
        "created_at": created_at,
        "spawned_by": spawned_by,
    }


def _run_state(steps: Sequence[StepOutline | StepView]) -> dict[str, Any]:
    """A run's state and completion: those of its first step's latest execution."""
    root = steps[0].executions if steps and steps[0].number == 1 else []
    if not root:
        return {"state": _QUEUED, "completed_at": None}
    return {"state": root[-1].state, "completed_at": root[-1].completed_at}


# --- a step and an execution from a row of ``Queries.outline_of_run`` --------------
# Its columns: [0:10] the step's: id, number, parent execution, call index,
# repository, target, type, created_at, and the index and name of the ``cf.group``
# it was called in (NULL: none); [10:19] the execution's: id, attempt, environment
# id, created_at, its current state, that state's time, when it was assigned, its
# session, and the execution it stands in for; with values, [19] the step's
# arguments, [20] the execution's outcome and [21] the step's options.
# Each view class has its builder, its fields spelled out: one shared by both,
# taking the rest as ``**kwargs``, took three times as long (45 against 15 ms for
# 10,000 steps and their executions).


def _group(row: Row) -> protocol.Group | None:
    return None if row[8] is None else protocol.Group(index=row[8], name=row[9])


def _step_view(
    row: Row, arguments: list[protocol.Value], options: protocol.TargetOptions
) -> StepView:
    return StepView(
        id=row[0], number=row[1], parent_execution=row[2], call_index=row[3],
        repository=row[4], target=row[5], type=row[6], created_at=row[7], group=_group(row),
        arguments=arguments, options=options, executions=[],
    )  # fmt: skip


def _step_outline(row: Row, argument_previews: list[str]) -> StepOutline:
    return StepOutline(
        id=row[0], number=row[1], parent_execution=row[2], call_index=row[3],
        repository=row[4], target=row[5], type=row[6], created_at=row[7], group=_group(row),
        argument_previews=argument_previews, executions=[],
    )  # fmt: skip


def _execution_view(
    row: Row,
    names: dict[str, str],
    outcome: protocol.Outcome | None,
    transitions: list[TransitionView],
) -> ExecutionView:
    state, completed_at = status(row[14], row[15])
    return ExecutionView(
        id=row[10], attempt=row[11], state=state, environment=_name(names, row[12]),
        created_at=row[13], assigned_at=row[16], completed_at=completed_at,
        session_id=row[17], successor=row[18], outcome=outcome, transitions=transitions,
    )  # fmt: skip


def _execution_outline(
    row: Row, names: dict[str, str], outcome_preview: str | None
) -> ExecutionOutline:
    state, completed_at = status(row[14], row[15])
    return ExecutionOutline(
        id=row[10], attempt=row[11], state=state, environment=_name(names, row[12]),
        created_at=row[13], assigned_at=row[16], completed_at=completed_at,
        session_id=row[17], successor=row[18], outcome_preview=outcome_preview,
    )  # fmt: skip


def step_record(row: Row | None) -> StepRecord | None:
    """What re-running a step needs, from its row (``queries.STEP_RECORD``)."""
    if row is None:
        return None
    (run_id, env_id, step_count, root, step_id, number, repository, target, kind,
     arguments, options, parent, latest_id, latest_attempt) = row  # fmt: skip
    return StepRecord(
        run_id=run_id,
        run_environment_id=env_id,
        run_step_count=step_count,
        root_execution_id=root,
        step_id=step_id,
        number=number,
        repository=repository,
        target=target,
        type=kind,
        arguments=codecs.decode_arguments(arguments),
        options=codecs.decode_options(options),
        parent_execution_id=parent,
        latest_execution_id=latest_id,
        latest_attempt=latest_attempt,
    )


def log_views(rows: Iterable[Row], template: Callable[[Any], str]) -> list[LogView]:
    """Log entries from their rows: id, run id, execution id, timestamp, level,
    template (decoded by ``template``) and values."""
    return [
        LogView(
            id=log_id,
            run_id=run_id,
            execution_id=execution_id,
            timestamp=timestamp,
            level=level,
            template=template(text),
            values=codecs.decode_log_values(values),
        )
        for log_id, run_id, execution_id, timestamp, level, text, values in rows
    ]


def metric_views(rows: Iterable[Row]) -> list[MetricView]:
    """Metrics from their rows: execution id, key, definition, created_at, point
    count, and the latest point's value and x (NULL: no point yet)."""
    views = []
    for execution_id, key, definition, created_at, count, value, at in rows:
        defined = codecs.decode_metric(definition)
        views.append(
            MetricView(
                execution_id=execution_id,
                key=key,
                group=defined.group,
                scale=defined.scale,
                throttle=defined.throttle,
                created_at=created_at,
                count=count,
                value=value,
                at=at,
            )
        )
    return views


def metric_point_views(rows: Iterable[Row]) -> list[MetricPointView]:
    """Metric points from their rows: id, execution id, key, value, at."""
    return [
        MetricPointView(id=point_id, execution_id=execution_id, key=key, value=value, at=at)
        for point_id, execution_id, key, value, at in rows
    ]


def active_metrics(rows: Iterable[Row]) -> list[ActiveMetric]:
    """The metrics of unfinished executions: execution id, key, latest x, point count."""
    return [
        ActiveMetric(execution_id=execution_id, key=key, last_at=last_at, points=points)
        for execution_id, key, last_at, points in rows
    ]


# --- look-ups -------------------------------------------------------------------


def identifier(row: Row | None) -> str | None:
    """The id a look-up found (its first column), if it found one."""
    return None if row is None else str(row[0])


def outcome(row: Row | None) -> protocol.Outcome | None:
    """The outcome in a row's first column, if there is a row and it has one."""
    return None if row is None or row[0] is None else codecs.decode_outcome(row[0])


def cached(row: Row | None) -> tuple[str, protocol.Outcome] | None:
    """A cache hit's execution and outcome, from its row (id, outcome)."""
    return None if row is None else (str(row[0]), codecs.decode_outcome(row[1]))


def memoised(row: Row | None) -> str | None:
    """A memo hit's execution, from its row (id, outcome or NULL), unless it failed
    or was cancelled: such a call is not reused."""
    if row is None:
        return None
    if row[1] is not None and not isinstance(codecs.decode_outcome(row[1]), protocol.Succeeded):
        return None
    return str(row[0])


# --- the snapshot ---------------------------------------------------------------


def active_runs(rows: Iterable[Row]) -> list[ActiveRun]:
    """Unfinished runs from their rows: id, environment id, root execution, step count."""
    return [
        ActiveRun(
            run_id=run_id, environment_id=env_id, root_execution_id=root, step_count=step_count
        )
        for run_id, env_id, root, step_count in rows
        # A run always has its first execution by the time any of its executions
        # is active; a row without one would be a partial batch, which cannot exist.
        if root is not None
    ]


def active_executions(rows: Iterable[Row]) -> list[ActiveExecution]:
    """The working set's executions from their rows (``queries.ACTIVE_EXECUTIONS``)."""
    return [_active_execution(row) for row in rows]


def _active_execution(row: Row) -> ActiveExecution:
    (execution_id, step_id, run_id, number, attempt, env_id, state, session_id, created_at,
     due_at, repository, target, kind, arguments, options, parent, call_index, checkpoint,
     leader_id) = row  # fmt: skip
    return ActiveExecution(
        execution_id=execution_id,
        step_id=step_id,
        run_id=run_id,
        step_number=number,
        attempt=attempt,
        environment_id=env_id,
        # The core records `queued` with every new execution; without it, queued.
        state=ExecutionState(state) if state is not None else ExecutionState.QUEUED,
        session_id=session_id,
        created_at=created_at,
        due_at=due_at,
        repository=repository,
        target=target,
        type=kind,
        arguments=codecs.decode_arguments(arguments),
        options=codecs.decode_options(options),
        parent_execution_id=parent,
        call_index=call_index,
        checkpoint=None if checkpoint is None else codecs.decode_arguments(checkpoint),
        leader_id=leader_id,
    )


def calls(rows: Iterable[Row]) -> list[tuple[str, int, str]]:
    """(parent, call index, child) of the calls unfinished executions made, from rows
    whose child is NULL for a step with no execution yet (those are left out)."""
    return [(parent, index, child) for parent, index, child in rows if child is not None]


# --- assets ---------------------------------------------------------------------
# An asset's row: id, execution id, kind, path, size, file count, metadata, created_at.


def asset_info(row: Row, entries: Iterable[Row]) -> protocol.AssetInfo:
    """An asset from its row and its entries' (path, size, blob), in path order."""
    summary = _asset_summary(row)
    return protocol.AssetInfo(
        id=summary.id,
        execution_id=summary.execution_id,
        kind=summary.kind,  # type: ignore[arg-type]  # written from an AssetKind
        path=summary.path,
        size=summary.size,
        file_count=summary.file_count,
        metadata=summary.metadata,
        entries=tuple(
            protocol.AssetEntry(path=path, size=size, blob=blob) for path, size, blob in entries
        ),
    )


def run_assets(assets: Iterable[Row], restores: Iterable[Row]) -> RunAssets:
    """A run's assets from their rows, and its restores from theirs (asset id,
    execution id, at)."""
    return RunAssets(
        assets=[_asset_summary(row) for row in assets],
        restores=[AssetRestoreView(asset_id=a, execution_id=e, at=t) for a, e, t in restores],
    )


def _asset_summary(row: Row) -> AssetSummary:
    asset_id, execution_id, kind, path, size, file_count, metadata, created_at = row
    return AssetSummary(
        id=asset_id,
        execution_id=execution_id,
        kind=kind,
        path=path,
        size=size,
        file_count=file_count,
        metadata=_metadata.decode(metadata),
        created_at=created_at,
    )


# --- inputs -----------------------------------------------------------------------
# An input's row: info, environment_id, then its settlement's kind, value, by and at
# (all None while it is pending).

_input_info = msgspec.json.Decoder(protocol.InputInfo)
_json = msgspec.json.Decoder()


def input_view(row: Row, names: dict[str, str]) -> InputView:
    """An input as the API shows it, named by its environment's current name."""
    info, env_id, kind, value, by, at = row
    asked = _input_info.decode(info)
    return InputView(
        id=asked.id, execution_id=asked.execution_id, run_id=asked.run_id,
        environment=_name(names, env_id), key=asked.key, title=asked.title,
        template=asked.template, placeholders=asked.placeholders, schema=asked.schema,
        initial=asked.initial, actions=asked.actions, requires=asked.requires,
        created_at=asked.created_at, status=kind or "pending", responded_at=at,
        responded_by=by, response=_json.decode(value) if value is not None else None,
    )  # fmt: skip


def active_inputs(found: Iterable[Row]) -> list[ActiveInput]:
    """The snapshot's inputs from rows of id, run_id, execution_id, key, info, kind, value."""
    restored = []
    for input_id, run_id, execution_id, key, info, kind, value in found:
        response: protocol.InputResponse | None = None
        if kind == "responded":
            response = protocol.InputResponded(_json.decode(value))
        elif kind == "dismissed":
            response = protocol.InputDismissed()
        schema = _input_info.decode(info).schema
        restored.append(ActiveInput(
            input_id=input_id, run_id=run_id, execution_id=execution_id, key=key,
            schema=schema, response=response,
        ))  # fmt: skip
    return restored
