"""What the core asks the world to do after an event.

Two kinds of effect:

* **facts** (``Fact`` subclasses): what happened, to be appended to the project's
  store. The actor writes every fact of a batch of events in one transaction,
  before it performs any other effect, so nothing is ever sent that is not
  durable. Facts are append-only: a state change is a new row with its time.
* **deliveries** (``Send``, ``Resolve``, ``ReadOutcome``): messages to connected
  agents and answers to callers waiting inside this server process.

Facts double as the deltas published on live topics.
"""

from __future__ import annotations

from typing import Any

import msgspec

from coflux import protocol
from coflux.orchestration.model import Waiter
from coflux.orchestration.states import EnvironmentStatus, ExecutionState


class Fact(msgspec.Struct, frozen=True, tag_field="fact"):
    """Base of every fact; ``at`` is the time (seconds since the epoch)."""


class EnvironmentRecorded(Fact, frozen=True, tag="environment"):
    """An environment was created or changed; the row is its whole new state."""

    environment_id: str
    name: str
    base_id: str | None
    status: EnvironmentStatus
    at: float


class ManifestRegistered(Fact, frozen=True, tag="manifest"):
    """A repository's targets in an environment (an empty manifest removes them)."""

    environment_id: str
    manifest: protocol.Manifest
    at: float


class SessionStarted(Fact, frozen=True, tag="session"):
    session_id: str
    environment_id: str
    concurrency: int
    provides: dict[str, tuple[str, ...]]
    at: float
    secret_sha256: str | None = None  # of the resume secret (never the secret itself)


class RunCreated(Fact, frozen=True, tag="run"):
    run_id: str
    environment_id: str
    repository: str
    target: str
    idempotency_key: str | None
    at: float


class StepCreated(Fact, frozen=True, tag="step"):
    step_id: str
    run_id: str
    number: int
    parent_execution_id: str | None
    call_index: int | None
    repository: str
    target: str
    type: protocol.TargetType
    arguments: tuple[protocol.Value, ...]
    options: protocol.TargetOptions
    at: float
    cache_key: str | None = None
    memo_key: str | None = None
    group: protocol.Group | None = None  # the ``cf.group`` the call was made in


class ExecutionCreated(Fact, frozen=True, tag="execution"):
    execution_id: str
    step_id: str
    run_id: str
    attempt: int
    environment_id: str
    due_at: float
    at: float
    # Set when the attempt runs with other arguments than its step's (a sensor
    # restarted from its last checkpoint).
    arguments: tuple[protocol.Value, ...] | None = None


class CheckpointRecorded(Fact, frozen=True, tag="checkpoint"):
    """A running sensor's progress: the arguments it restarts with."""

    execution_id: str
    run_id: str
    arguments: tuple[protocol.Value, ...]
    at: float


class ExecutionTransitioned(Fact, frozen=True, tag="transition"):
    """Every state an execution enters, ``queued`` included, is one of these."""

    execution_id: str
    run_id: str
    state: ExecutionState
    session_id: str | None
    at: float


class ExecutionLinked(Fact, frozen=True, tag="link"):
    """A stand-in (a spawned, cached or deferred execution) follows ``leader_id``:
    it takes that execution's final outcome as its own.

    Recorded, not only held in memory, so that after a restart the stand-in is
    still linked to its leader (or to the attempt carrying on for it) and its
    waiters get the leader's outcome.
    """

    execution_id: str
    run_id: str
    leader_id: str
    at: float


class OutcomeRecorded(Fact, frozen=True, tag="outcome"):
    execution_id: str
    run_id: str
    outcome: protocol.Outcome
    at: float


class LogsRecorded(Fact, frozen=True, tag="logs"):
    entries: tuple[protocol.LogEntry, ...]
    run_ids: tuple[str, ...]  # the run of each entry, in the same order


class MetricsRecorded(Fact, frozen=True, tag="metrics"):
    """An execution's new metric definitions and points (``protocol.ExecutionMetrics``),
    as far as its bounds allow (``orchestration.metrics``); ``at`` is when the server
    recorded them, not a point's x."""

    execution_id: str
    run_id: str
    definitions: tuple[protocol.MetricDefinition, ...]
    series: tuple[protocol.MetricSeries, ...]
    at: float


class AssetRecorded(Fact, frozen=True, tag="asset"):
    """An execution persisted an asset (its files are already in the blob store)."""

    asset: protocol.AssetInfo
    run_id: str
    at: float


class AssetRestored(Fact, frozen=True, tag="asset_restored"):
    asset_id: str
    execution_id: str
    run_id: str
    at: float


class InputRequested(Fact, frozen=True, tag="input_requested"):
    """An execution asked for input (``orchestration.inputs``); it is pending until
    one ``InputResponded`` or ``InputDismissed`` settles it."""

    input: protocol.InputInfo
    run_id: str
    at: float


class InputResponded(Fact, frozen=True, tag="input_responded"):
    """Someone answered an input: ``value`` is the JSON answer (None: approved)."""

    input_id: str
    run_id: str
    value: Any
    responded_by: str
    at: float


class InputDismissed(Fact, frozen=True, tag="input_dismissed"):
    input_id: str
    run_id: str
    dismissed_by: str
    at: float


class Send(msgspec.Struct, frozen=True):
    """Deliver a message to an agent's session (dropped if it is disconnected)."""

    session_id: str
    message: protocol.ServerMessage


class Resolve(msgspec.Struct, frozen=True):
    """Answer a caller inside the server waiting on an execution's outcome."""

    token: int
    execution_id: str
    outcome: protocol.Outcome


class ReadOutcome(msgspec.Struct, frozen=True):
    """Deliver to ``waiter`` the outcome of an execution that has left memory.

    Only finished work leaves memory, so the store has the outcome; the actor
    reads it (after committing the batch's facts) and delivers it as ``deliver``
    would have.
    """

    waiter: Waiter
    execution_id: str


Delivery = Send | Resolve | ReadOutcome
Effect = Fact | Delivery
