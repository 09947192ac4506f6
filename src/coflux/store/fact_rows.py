"""What a batch of facts writes, whatever the backend: the rows of each kind of fact.

Both schemas give a kind of fact's table the same columns, so the rows facts
become are built here once, in the column order both backends' statements use.
Each backend only decides how the rows reach its tables (``sqlite/writes.py``: a
statement per run of consecutive facts of one kind; ``postgres/writes.py``: a
statement per table per batch), through its ``Writers``: one per kind of fact, and
a refusal for a kind it has none for. Here too is what transitions change beyond
their rows: where they leave each execution, and which leave the working set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from coflux.ids import root_step_id, step_of
from coflux.orchestration.effects import (
    AssetRecorded,
    AssetRestored,
    CheckpointRecorded,
    EnvironmentRecorded,
    ExecutionCreated,
    ExecutionTransitioned,
    Fact,
    InputDismissed,
    InputRequested,
    InputResponded,
    LogsRecorded,
    ManifestRegistered,
    MetricsRecorded,
    OutcomeRecorded,
    RunCreated,
    SessionStarted,
    StepCreated,
)
from coflux.orchestration.states import STANDING_IN, ExecutionState
from coflux.store import codecs

Row = tuple[Any, ...]
W = TypeVar("W")  # a backend's writer of one kind of fact


class Writers(dict[type[Fact], W]):
    """A backend's writer of each kind of fact, by kind (``type(fact)``).

    Looking up a kind it has no writer for raises ``TypeError`` naming the
    backend. A plain dict otherwise: a batch looks up a writer for every run of
    facts of one kind, which in a batch of 1,000 facts can be most of them.
    """

    def __init__(self, backend: str, writers: Mapping[type[Fact], W]) -> None:
        super().__init__(writers)
        self.backend = backend

    def __missing__(self, kind: type[Fact]) -> W:
        raise TypeError(f"the {self.backend} store cannot write {kind.__name__} facts")


# --- the rows each kind of fact writes, table by table ---------------------------
# Each takes facts of its kind, in order, and gives their rows in the same order.


def environments(facts: Sequence[EnvironmentRecorded]) -> list[Row]:
    """``environments``: (id, created_at); only an environment's first record creates it."""
    return [(f.environment_id, f.at) for f in facts]


def environment_versions(facts: Sequence[EnvironmentRecorded]) -> list[Row]:
    """``environment_versions``: (environment_id, name, base_id, status, at)."""
    return [(f.environment_id, f.name, f.base_id, f.status.value, f.at) for f in facts]


def manifests(facts: Sequence[ManifestRegistered]) -> tuple[list[Row], list[dict[str, Any]]]:
    """``manifests``: (hash, manifest), and each registration's values (env, repo,
    hash, at): a registration is only worth a row when the content changed."""
    contents: list[Row] = []
    registrations: list[dict[str, Any]] = []
    for f in facts:
        digest, text = codecs.encode_manifest(f.manifest)
        contents.append((digest, text))
        registrations.append(
            {"env": f.environment_id, "repo": f.manifest.repository, "hash": digest, "at": f.at}
        )
    return contents, registrations


def sessions(facts: Sequence[SessionStarted]) -> list[Row]:
    """``sessions``: (id, environment_id, concurrency, provides, created_at, secret_sha256)."""
    return [
        (f.session_id, f.environment_id, f.concurrency, codecs.encode(f.provides), f.at,
         f.secret_sha256)
        for f in facts
    ]  # fmt: skip


def runs(facts: Sequence[RunCreated]) -> list[Row]:
    """``runs``: (id, environment_id, repository, target, idempotency_key, created_at)."""
    return [
        (f.run_id, f.environment_id, f.repository, f.target, f.idempotency_key, f.at) for f in facts
    ]


def steps(facts: Sequence[StepCreated]) -> list[Row]:
    """``steps``: (id, run_id, number, parent_execution_id, call_index, repository,
    target, type, arguments, options, created_at, cache_key, memo_key, group_index,
    group_name)."""
    return [
        (f.step_id, f.run_id, f.number, f.parent_execution_id, f.call_index, f.repository,
         f.target, f.type, codecs.encode(f.arguments), codecs.encode(f.options), f.at,
         f.cache_key, f.memo_key, f.group.index if f.group is not None else None,
         f.group.name if f.group is not None else None)
        for f in facts
    ]  # fmt: skip


def executions(facts: Sequence[ExecutionCreated]) -> list[Row]:
    """``executions``: (id, step_id, run_id, attempt, environment_id, due_at,
    created_at, arguments)."""
    return [
        (f.execution_id, f.step_id, f.run_id, f.attempt, f.environment_id, f.due_at, f.at,
         None if f.arguments is None else codecs.encode(f.arguments))
        for f in facts
    ]  # fmt: skip


def checkpoints(facts: Sequence[CheckpointRecorded]) -> list[Row]:
    """``checkpoints``: (execution_id, run_id, arguments, at)."""
    return [(f.execution_id, f.run_id, codecs.encode(f.arguments), f.at) for f in facts]


def outcomes(facts: Sequence[OutcomeRecorded]) -> list[Row]:
    """``outcomes``: (execution_id, run_id, outcome, at)."""
    return [(f.execution_id, f.run_id, codecs.encode(f.outcome), f.at) for f in facts]


def logs(facts: Sequence[LogsRecorded], template: Callable[[str], Any]) -> list[Row]:
    """``logs``: (run_id, execution_id, timestamp, level, template, template_values)
    of every entry, its template as ``template`` gives it (its backend's column)."""
    return [
        (run_id, entry.execution_id, entry.timestamp, entry.level, template(entry.template),
         codecs.encode(entry.values))
        for f in facts
        # strict: a fact whose two lists differ in length is a bug upstream.
        for entry, run_id in zip(f.entries, f.run_ids, strict=True)
    ]  # fmt: skip


def metrics(facts: Sequence[MetricsRecorded]) -> list[Row]:
    """``metrics``: (execution_id, key, run_id, definition, created_at) of each
    definition (the orchestrator sends each key of an execution once)."""
    return [
        (f.execution_id, d.key, f.run_id, codecs.encode(d), f.at)
        for f in facts
        for d in f.definitions
    ]


def metric_points(facts: Sequence[MetricsRecorded]) -> list[Row]:
    """``metric_points``: (run_id, execution_id, key, value, at) of every point, in order."""
    return [
        (f.run_id, f.execution_id, s.key, value, at)
        for f in facts
        for s in f.series
        for value, at in s.points
    ]


def assets(facts: Sequence[AssetRecorded]) -> list[Row]:
    """``assets``: (id, execution_id, run_id, kind, path, size, file_count,
    metadata, created_at). Asset ids are chosen by executors, so recording one again
    (a resent request) must add nothing, nor its entries."""
    return [
        (f.asset.id, f.asset.execution_id, f.run_id, f.asset.kind, f.asset.path, f.asset.size,
         f.asset.file_count, codecs.encode(f.asset.metadata), f.at)
        for f in facts
    ]  # fmt: skip


def asset_entries(facts: Sequence[AssetRecorded]) -> list[Row]:
    """``asset_entries``: (asset_id, path, size, blob) of each entry of each asset."""
    return [(f.asset.id, e.path, e.size, e.blob) for f in facts for e in f.asset.entries]


def restores(facts: Sequence[AssetRestored]) -> list[Row]:
    """``asset_restores``: (asset_id, execution_id, run_id, at)."""
    return [(f.asset_id, f.execution_id, f.run_id, f.at) for f in facts]


def inputs(facts: Sequence[InputRequested]) -> list[Row]:
    """``inputs``: (id, run_id, execution_id, key, info, created_at); ``info`` is the
    whole ``protocol.InputInfo`` (its template may hold NUL: JSON escapes it)."""
    return [
        (f.input.id, f.run_id, f.input.execution_id, f.input.key, codecs.encode(f.input), f.at)
        for f in facts
    ]


def input_responses(facts: Sequence[InputResponded | InputDismissed]) -> list[Row]:
    """``input_responses``: (input_id, run_id, kind, value, by, at); ``value`` is the
    answer as JSON (None for a dismissal)."""
    rows: list[Row] = []
    for f in facts:
        if isinstance(f, InputResponded):
            rows.append((f.input_id, f.run_id, "responded", codecs.encode(f.value),
                         f.responded_by, f.at))  # fmt: skip
        else:
            rows.append((f.input_id, f.run_id, "dismissed", None, f.dismissed_by, f.at))
    return rows


# --- transitions: their rows, and what they change beyond them -------------------

# Plain values, looked up once: this runs for every transition of every batch.
_ASSIGNED = ExecutionState.ASSIGNED
_LEAVING = frozenset(state for state in ExecutionState if state.terminal) - STANDING_IN


def transitions(
    facts: Sequence[ExecutionTransitioned], current: dict[str, list[Any]]
) -> tuple[list[Row], list[str]]:
    """``execution_transitions``: (execution_id, run_id, state, session_id, at), and
    what the transitions change beyond their rows.

    Args:
        current: where the batch's transitions so far leave each execution,
            updated with these: id -> [id, state, at, assigned_at, session_id]
            (None: unchanged by the batch). A step is often queued and assigned
            in one batch; its current state is written once, with where it ends.

    Returns:
        The rows, and the executions these transitions take out of the working
        set, in order: a terminal state does, but a stand-in's (spawned, cached,
        deferred). A stand-in stays until its outcome is recorded, which always
        takes an execution out (any other has left with its terminal transition).
    """
    rows: list[Row] = []
    leaving: list[str] = []
    for f in facts:
        execution_id, state, at = f.execution_id, f.state, f.at
        rows.append((execution_id, f.run_id, state.value, f.session_id, at))
        row = current.setdefault(execution_id, [execution_id, None, None, None, None])
        row[1], row[2] = state.value, at
        if state is _ASSIGNED:
            row[3] = at
        if f.session_id is not None:
            row[4] = f.session_id
        if state in _LEAVING:
            leaving.append(execution_id)
    return rows, leaving


def run_states(facts: Sequence[ExecutionTransitioned], states: dict[str, str]) -> None:
    """Where transitions leave each run's state (``runs.state``, which filters find
    runs by): the state of the latest execution of the run's first step.

    Args:
        states: run id -> state, updated with these transitions. Only a step's
            latest attempt ever transitions (an older one is terminal before the
            next is made), so the last transition of a first step's execution is
            its latest attempt's.
    """
    for f in facts:
        if step_of(f.execution_id) == root_step_id(f.run_id):
            states[f.run_id] = f.state.value
