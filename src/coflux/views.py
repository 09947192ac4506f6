"""What the HTTP API answers: the read models, which every store backend builds
(so all produce exactly the same shapes, checked by one contract test suite),
and the envelopes of its other answers. The server encodes these types and the
client decodes them: one definition for both sides.

They depend on ``coflux.protocol`` only, so a client (every CLI command) loads
neither the store nor the orchestrator to read them.
"""

from __future__ import annotations

from typing import Any

import msgspec

from coflux import protocol


class View(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Base of the read models.

    Untracked by the cycle collector (``gc=False``): a view is a tree of values that
    never refers back to itself, and the view of a 10,000-step run holds some 20,000
    of them, whose tracking set off collections (the oldest generation's walks every
    object of the server) that took ~20 of the ~180 ms the server took to send it.
    """


class ProjectInfo(View, frozen=True):
    id: str
    name: str
    created_at: float
    # "ok", or "unavailable" with the reason in ``error``: its database could not be
    # opened, or its orchestrator failed and is being rebuilt. Defaults, so that
    # answers without them (older servers) still decode.
    status: str = "ok"
    error: str | None = None


class ServerView(View, frozen=True):
    """A server sharing the projects' database, as ``GET /api/servers`` lists it."""

    id: str
    address: str  # where the other servers (and clients) reach it
    started_at: float
    heartbeat_at: float  # by the database's clock
    live: bool  # heard from within one lease time
    projects: list[str]  # the names of the projects it owns now


class ServersView(View, frozen=True):
    shared: bool  # several servers may share the database (False: this one alone)
    servers: list[ServerView]
    unowned: list[str]  # projects no live server owns right now (a takeover is due)


class EnvironmentView(View, frozen=True):
    id: str
    name: str
    base: str | None  # the base environment's name
    status: str  # EnvironmentStatus value
    created_at: float
    updated_at: float


class TransitionView(View, frozen=True):
    state: str  # ExecutionState value
    at: float
    session_id: str | None = None


class ExecutionOutline(View, frozen=True, kw_only=True, omit_defaults=True):
    """Where an execution is (its state, times and agent session), not what it holds.

    ``queued_reason``: for a queued execution, why no agent runs it yet (no agent
    hosts its target or provides a required tag, every one that could is full,
    its environment is paused, ...), from the server's live state when the view
    is read; absent otherwise (``omit_defaults``: no key at all in large views).

    ``successor``: for a stand-in, the execution whose outcome it takes: for a
    *spawned* one, the first execution of the run it started; *cached*, the
    execution whose result it reuses (in any run); *deferred*, the newer equal
    call that replaced it. Absent for every other execution (a retry's or a
    re-run's successor is the step's next attempt, already in the view).
    """

    id: str
    attempt: int
    state: str
    environment: str  # environment name
    created_at: float
    assigned_at: float | None
    completed_at: float | None
    session_id: str | None
    queued_reason: str | None = None
    successor: str | None = None
    # In an outline read with previews (``runs inspect``): its result's or its
    # error's first characters (``coflux.previews``); absent otherwise.
    outcome_preview: str | None = None


class ExecutionView(ExecutionOutline, frozen=True, kw_only=True):
    outcome: protocol.Outcome | None
    transitions: list[TransitionView]


class StepHeader(View, frozen=True):
    """What a step is and where it sits in its run's call tree."""

    id: str
    number: int
    repository: str
    target: str
    type: str
    parent_execution: str | None
    call_index: int | None
    created_at: float


class StepOutline(StepHeader, frozen=True, omit_defaults=True):
    executions: list[ExecutionOutline]
    group: protocol.Group | None = None  # the ``cf.group`` its caller made it in
    # In an outline read with previews: each argument's first characters.
    argument_previews: list[str] = []


class StepView(StepHeader, frozen=True):
    arguments: list[protocol.Value]
    executions: list[ExecutionView]
    options: protocol.TargetOptions = protocol.TargetOptions()
    group: protocol.Group | None = None  # the ``cf.group`` its caller made it in


class RunSummary(View, frozen=True):
    id: str
    environment: str
    repository: str
    target: str
    state: str  # state of the latest execution of the run's first step
    created_at: float
    completed_at: float | None


class RunListed(RunSummary, frozen=True):
    """A run as ``GET /api/projects/{project}/runs`` lists it: its summary, and the
    cursor of its place in the list (the last one's, as ``after``, gives the next
    page: the runs past it, in the same filters and order, or in the other order
    the runs before it)."""

    cursor: str = ""  # empty only from a server from before cursors


class RunOutline(RunSummary, frozen=True):
    """A run's call tree with each execution's state and times: what ``runs
    inspect`` shows, without the values (arguments, outcomes) or the transitions
    that make a ``RunView`` several times larger. Read with ``?previews=1``, it
    also has their short previews (``argument_previews``, ``outcome_preview``:
    ``coflux.previews``), which cost more to make than the rest of it."""

    idempotency_key: str | None
    steps: list[StepOutline]
    # The execution (in another run) that spawned this run: a workflow called from
    # a task; None for a submitted run.
    spawned_by: str | None = None


class RunView(RunSummary, frozen=True):
    idempotency_key: str | None
    steps: list[StepView]
    spawned_by: str | None = None  # as in ``RunOutline``


class LogView(View, frozen=True):
    id: int  # a cursor: pass the last one seen as ``after``
    run_id: str
    execution_id: str
    timestamp: float
    level: str
    template: str
    values: dict[str, protocol.Value]


class MetricView(View, frozen=True):
    """A metric of an execution: its definition (``protocol.MetricDefinition``), how
    many points it has, and its latest point (``value`` and ``at`` None: none yet)."""

    execution_id: str
    key: str
    group: protocol.MetricGroupInfo | None
    scale: protocol.MetricScaleInfo | None
    throttle: float | None
    created_at: float
    count: int
    value: float | None
    at: float | None


class InputView(View, frozen=True):
    """An input (``cf.Prompt``), as ``GET .../inputs`` shows it: what was asked
    (``protocol.InputInfo``'s fields) and where it stands. ``responded_at`` and
    ``responded_by`` say when and by whom it was settled (answered or dismissed);
    ``response`` is the answer's value (None while pending, when dismissed, and for
    an approval)."""

    id: str
    execution_id: str
    run_id: str
    environment: str
    key: str
    title: str | None
    template: str
    placeholders: dict[str, protocol.Value]
    schema: dict[str, Any] | None
    initial: Any
    actions: tuple[str, str] | None
    requires: dict[str, tuple[str, ...]]
    created_at: float
    status: str  # "pending", "responded" or "dismissed"
    responded_at: float | None = None
    responded_by: str | None = None
    response: Any = None


class InputList(View, frozen=True):
    inputs: list[InputView]


class MetricPointView(View, frozen=True):
    id: int  # a cursor: pass the last one seen as ``after``
    execution_id: str
    key: str
    value: float
    at: float


class AssetSummary(View, frozen=True):
    """An asset without its entries (``protocol.AssetInfo`` has them)."""

    id: str
    execution_id: str
    kind: str
    path: str
    size: int
    file_count: int
    metadata: dict[str, Any]
    created_at: float


class AssetRestoreView(View, frozen=True):
    asset_id: str
    execution_id: str  # the execution that restored it
    at: float


class RunAssets(View, frozen=True):
    """The assets a run's executions persisted, and every restore they made."""

    assets: list[AssetSummary]
    restores: list[AssetRestoreView]


# --- envelopes of the other answers ----------------------------------------------


class RunSubmitted(View, frozen=True, omit_defaults=True):
    run_id: str
    created: bool  # False: an earlier run had the same idempotency key
    # Why no agent can start the run as things stand (none connected hosts the
    # workflow, or none that does provides its tags): it waits queued until one
    # can. Absent (no key) when one can.
    warning: str | None = None


class RunResult(View, frozen=True):
    """A run's state and, once it has ended, its outcome."""

    run_id: str
    state: str
    outcome: protocol.Outcome | None = None


class LogPage(View, frozen=True):
    logs: list[LogView]
    cursor: int  # the last log id seen: pass it as ``after`` for the next page


class MetricPointPage(View, frozen=True):
    points: list[MetricPointView]
    cursor: int  # the last point id seen: pass it as ``after`` for the next page


class RerunStarted(View, frozen=True):
    execution_id: str


class CancelResult(View, frozen=True):
    cancelled: list[str]  # the executions cancelled


class Registered(View, frozen=True):
    repositories: list[str]


class ErrorDetail(View, frozen=True):
    reason: str  # a machine-readable name, e.g. ``unknown_run``
    message: str


class ErrorBody(View, frozen=True):
    """Every refused request's body (and the live endpoint's refusal)."""

    error: ErrorDetail


class TokenView(View, frozen=True):
    """A project token as listed: everything but the token itself."""

    id: str
    project: str  # the project's id
    environments: tuple[str, ...] | None  # None: every environment of the project
    read_only: bool
    description: str
    created_at: float
    revoked_at: float | None


class TokenCreated(View, frozen=True):
    token: str  # shown this once: only its hash is kept
    info: TokenView


class AuthView(View, frozen=True):
    """Whether the server needs a token, and what the caller's token opens."""

    required: bool
    authenticated: bool  # the token opens something (or none is needed)
    admin: bool
    token: TokenView | None  # the caller's project token, when it carried one


# --- a project's recent activity (the landing pages) ------------------------------


class EnvironmentActivity(View, frozen=True):
    """An environment's recent activity, as Studio's landing pages show it.

    The counts are of the runs created in each window (the last 24 hours, the last
    7 days, both ending at ``ProjectActivity.at``), by the run's state as
    ``RunSummary.state`` has it; a state no run is in has no key. The newest
    failure is the newest run in the ``failed`` state whatever its age, so a
    quiet environment's last failure stays one click away. ``agents``: how many
    agents are connected to it now (the server's live state, not the store).
    """

    environment: str  # its name
    status: str  # EnvironmentStatus value
    last_day: dict[str, int]
    last_week: dict[str, int]
    newest_failure: RunSummary | None
    agents: int


class ProjectActivity(View, frozen=True):
    """``GET /api/projects/{project}/activity``: each environment's activity, in the
    order environments are listed (archived ones, and those a token does not
    open, left out)."""

    project: str  # the project's id
    at: float  # the server's time when the counts were taken
    environments: list[EnvironmentActivity]


# --- a run's live changes (the run topic's deltas) ---------------------------------


class Delta(View, frozen=True, tag_field="delta"):
    """Base of the changes the run topic streams after its ``RunView`` snapshot.

    Each says what changed in the snapshot's terms (a ``StepView``, an
    ``ExecutionView``'s fields), so a client keeps its view current without knowing
    the orchestrator's facts (``coflux.server.deltas`` makes them from those).
    Applying one twice changes nothing: the topic may repeat a change that the
    snapshot already holds.
    """


class StepAdded(Delta, frozen=True, tag="step_added"):
    """A new step, as ``RunView.steps`` has it (its executions follow as
    ``ExecutionAdded``)."""

    step: StepView


class ExecutionAdded(Delta, frozen=True, tag="execution_added"):
    """A new execution (attempt) of the step ``step_id``."""

    step_id: str
    execution: ExecutionView


class ExecutionChanged(Delta, frozen=True, tag="execution_changed"):
    """The fields of an ``ExecutionView`` that changed; an absent one did not.

    ``transition`` is appended to its ``transitions`` (one it holds already is a
    repeat); ``state``, ``assigned_at``, ``completed_at`` and ``session_id`` come
    with it, set as the stores set them. ``outcome`` and ``successor`` come alone.
    """

    execution_id: str
    state: str | msgspec.UnsetType = msgspec.UNSET
    transition: TransitionView | msgspec.UnsetType = msgspec.UNSET
    assigned_at: float | msgspec.UnsetType = msgspec.UNSET
    completed_at: float | msgspec.UnsetType = msgspec.UNSET
    session_id: str | msgspec.UnsetType = msgspec.UNSET
    outcome: protocol.Outcome | msgspec.UnsetType = msgspec.UNSET
    successor: str | msgspec.UnsetType = msgspec.UNSET


class LogsAdded(Delta, frozen=True, tag="logs_added"):
    """The run's new log lines (``LogView`` without the cursor: read the logs
    endpoint for those)."""

    entries: list[protocol.LogEntry]


RunDelta = StepAdded | ExecutionAdded | ExecutionChanged | LogsAdded
