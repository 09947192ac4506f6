"""Everything that can happen to a project, as input to the pure core.

Events carry every id and every random choice they need (new run ids, session
ids), so ``core.apply`` stays deterministic: the shell around it generates them.
Environments are named by name, as users name them; the core resolves names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from coflux import protocol
from coflux.orchestration.effects import AssetRecorded, AssetRestored
from coflux.orchestration.states import EnvironmentStatus


@dataclass(frozen=True, slots=True)
class CreateEnvironment:
    environment_id: str
    name: str
    base: str | None


@dataclass(frozen=True, slots=True)
class UpdateEnvironment:
    """Rename and/or re-base; ``change_base`` says whether ``base`` applies."""

    name: str
    new_name: str | None = None
    change_base: bool = False
    base: str | None = None


@dataclass(frozen=True, slots=True)
class SetEnvironmentStatus:
    name: str
    status: EnvironmentStatus


@dataclass(frozen=True, slots=True)
class RegisterManifests:
    environment: str
    manifests: tuple[protocol.Manifest, ...]


@dataclass(frozen=True, slots=True)
class SubmitRun:
    """Start a run of a workflow, or of a sensor (``kind``), which the server keeps running."""

    run_id: str
    environment: str
    repository: str
    target: str
    arguments: tuple[protocol.Value, ...]
    idempotency_key: str | None = None
    kind: Literal["workflow", "sensor"] = "workflow"


@dataclass(frozen=True, slots=True)
class RecordLogs:
    """Log entries an agent's session sent for its executions."""

    session_id: str
    entries: tuple[protocol.LogEntry, ...]


@dataclass(frozen=True, slots=True)
class RecordMetrics:
    """Metric definitions and points an agent's session sent for its executions."""

    session_id: str
    executions: tuple[protocol.ExecutionMetrics, ...]


@dataclass(frozen=True, slots=True)
class RecordCheckpoint:
    session_id: str
    execution_id: str
    arguments: tuple[protocol.Value, ...]


@dataclass(frozen=True, slots=True)
class ConnectSession:
    """An agent connected: opens ``new_session_id`` unless ``session_id`` resumes one.

    ``connection`` numbers the agent's connections so that the disconnect of a
    replaced connection, arriving late, cannot mark the new one disconnected.
    """

    new_session_id: str
    connection: int
    environment: str
    hello: protocol.Hello
    # The resume secret of a new session (random, from the edge: the core stays pure).
    new_secret: str = ""


@dataclass(frozen=True, slots=True)
class DeclareTargets:
    session_id: str
    targets: dict[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class DisconnectSession:
    session_id: str
    connection: int


@dataclass(frozen=True, slots=True)
class ReportBlocked:
    """An agent says one of its executions started (or stopped) waiting for a result."""

    session_id: str
    execution_id: str
    blocked: bool


@dataclass(frozen=True, slots=True)
class CacheHit:
    execution_id: str
    outcome: protocol.Outcome | None  # None while it is still running


@dataclass(frozen=True, slots=True)
class Lookups:
    """What the store found for a call that memory could not answer (see ``LookupRequired``)."""

    cache: CacheHit | None = None
    memo: str | None = None  # the execution a memoised equal call already has


@dataclass(frozen=True, slots=True)
class ScheduleStep:
    """A call from a running execution; ``new_run_id`` names the run a workflow call starts."""

    session_id: str
    submit: protocol.Submit
    new_run_id: str | None = None
    lookups: Lookups | None = None


class LookupRequired(Exception):
    """Raised by the core (changing nothing) when a call needs the store's history.

    The actor answers by looking up the cache key in the given environments
    (results completed at or after ``since``) and/or the memo key in the run, then
    applies the event again with ``lookups`` filled in.
    """

    def __init__(
        self,
        *,
        cache: tuple[str, tuple[str, ...], float] | None,
        memo: tuple[str, str] | None,
    ) -> None:
        super().__init__("the call needs a look-up in the store")
        self.cache = cache
        self.memo = memo


@dataclass(frozen=True, slots=True)
class StepRecord:
    """What the store holds about a step, for re-running it when its run left memory."""

    run_id: str
    run_environment_id: str
    run_step_count: int
    root_execution_id: str
    step_id: str
    number: int
    repository: str
    target: str
    type: protocol.TargetType
    arguments: tuple[protocol.Value, ...]
    options: protocol.TargetOptions
    parent_execution_id: str | None
    latest_execution_id: str
    latest_attempt: int


@dataclass(frozen=True, slots=True)
class RerunStep:
    """Run a step again, in ``environment`` (default: the run's own).

    The actor fills ``record`` from the store before the core sees the event.
    """

    step_id: str
    environment: str | None
    record: StepRecord | None = None


@dataclass(frozen=True, slots=True)
class RequestResult:
    session_id: str
    request: protocol.GetResult


@dataclass(frozen=True, slots=True)
class AwaitOutcome:
    """A caller inside the server waits for an execution (``token`` names it)."""

    token: int
    execution_id: str


@dataclass(frozen=True, slots=True)
class ForgetWaiter:
    token: int
    execution_id: str


@dataclass(frozen=True, slots=True)
class CompleteExecution:
    session_id: str
    execution_id: str
    outcome: protocol.ReportedOutcome


@dataclass(frozen=True, slots=True)
class CancelExecution:
    """Cancel an execution; from an agent, on behalf of one of its running ones."""

    execution_id: str
    session_id: str | None = None
    from_execution_id: str | None = None


@dataclass(frozen=True, slots=True)
class RecordAsset:
    """An agent's execution persisted (or restored) an asset."""

    session_id: str
    fact: AssetRecorded | AssetRestored


@dataclass(frozen=True, slots=True)
class RequestInput:
    """A running execution asks for input; ``new_input_id`` names the input it makes
    (unless its run already has one of the same key). Chosen by the shell, from
    the run's id (``inputs.new_input_id``)."""

    session_id: str
    request: protocol.SubmitInput
    new_input_id: str


@dataclass(frozen=True, slots=True)
class AwaitInput:
    """A running execution waits for an input's response."""

    session_id: str
    request: protocol.GetInput


@dataclass(frozen=True, slots=True)
class SettleInput:
    """Someone answers (``response``) an input, or dismisses it; ``by`` says who."""

    input_id: str
    response: protocol.InputResponse
    by: str


@dataclass(frozen=True, slots=True)
class CancelRun:
    run_id: str


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed: expire silent sessions, make delayed executions due."""


@dataclass(frozen=True, slots=True)
class Assign:
    """Hand due, queued executions to agents with capacity.

    The actor applies this once after each batch of events rather than after every
    event, so a burst of submissions costs one pass over the queue.
    """


Event = (
    CreateEnvironment
    | UpdateEnvironment
    | SetEnvironmentStatus
    | RegisterManifests
    | SubmitRun
    | ConnectSession
    | DeclareTargets
    | DisconnectSession
    | ReportBlocked
    | ScheduleStep
    | RecordCheckpoint
    | RecordLogs
    | RecordMetrics
    | RecordAsset
    | RerunStep
    | RequestResult
    | AwaitOutcome
    | ForgetWaiter
    | CompleteExecution
    | CancelExecution
    | CancelRun
    | RequestInput
    | AwaitInput
    | SettleInput
    | Tick
    | Assign
)
