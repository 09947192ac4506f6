"""The narrow interface between the engine and a project's durable storage.

One ``ProjectStore`` holds one project. The orchestrator is its only writer: it
appends the facts of a batch of events with ``append`` (one transaction). Every
other method reads, and may be called from any thread (each backend gives readers
their own connection), so HTTP handlers read views without going through the
project's actor.

The views it returns are the API's read models, in ``coflux.views``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from coflux import protocol
from coflux.orchestration.effects import EnvironmentRecorded, Fact
from coflux.orchestration.events import StepRecord
from coflux.orchestration.states import ExecutionState
from coflux.views import (
    EnvironmentView,
    InputView,
    LogView,
    MetricPointView,
    MetricView,
    ProjectInfo,
    RunAssets,
    RunOutline,
    RunSummary,
    RunView,
    View,
)


class ActiveExecution(View, frozen=True):
    """An execution that had not reached a terminal state, or a stand-in still
    waiting for its leader's outcome, with its step."""

    execution_id: str
    step_id: str
    run_id: str
    step_number: int
    attempt: int
    environment_id: str
    state: ExecutionState
    session_id: str | None
    created_at: float
    due_at: float
    repository: str
    target: str
    type: protocol.TargetType
    arguments: tuple[protocol.Value, ...]
    options: protocol.TargetOptions
    parent_execution_id: str | None
    call_index: int | None
    checkpoint: tuple[protocol.Value, ...] | None = None  # a sensor's latest
    leader_id: str | None = None  # what a stand-in (spawned, cached, deferred) follows


class ActiveMetric(View, frozen=True):
    """A metric of an unfinished execution: what its bounds need after a restart."""

    execution_id: str
    key: str
    last_at: float | None  # its latest point's x (None: no point yet)
    points: int


class ActiveInput(View, frozen=True):
    """An input of an unfinished run: what answering it (or waiting for it) needs
    after a restart. ``response`` is None while it is pending."""

    input_id: str
    run_id: str
    execution_id: str
    key: str
    schema: dict[str, Any] | None
    response: protocol.InputResponse | None


class ActiveRun(View, frozen=True):
    run_id: str
    environment_id: str
    root_execution_id: str  # latest execution of step 1
    step_count: int


class Snapshot(View, frozen=True):
    """What the orchestrator needs to rebuild its in-memory state after a restart.

    Only unfinished work: completed runs stay in the store.
    """

    environments: list[EnvironmentRecorded]
    manifests: list[tuple[str, protocol.Manifest]]  # (environment_id, manifest)
    runs: list[ActiveRun]
    executions: list[ActiveExecution]
    # child calls already made by each unfinished execution:
    # (parent_execution_id, call_index, child_execution_id)
    calls: list[tuple[str, int, str]]
    # the resume secret's sha256 of each session that holds an unfinished execution
    session_secrets: dict[str, str] = msgspec.field(default_factory=dict)
    # the metrics the unfinished executions have recorded
    metrics: list[ActiveMetric] = msgspec.field(default_factory=list)
    # the inputs of the unfinished runs, pending and settled
    inputs: list[ActiveInput] = msgspec.field(default_factory=list)


# A run's place in the order runs are listed in: its creation time, then its
# sequence number in the store (the order of appending), which breaks ties.
RunPosition = tuple[float, int]


@dataclass(frozen=True, slots=True)
class InputQuery:
    """Which inputs to list: of one environment and/or one run (None: any), with one
    of these statuses (None: any), at most ``limit``."""

    environment_id: str | None = None
    run_id: str | None = None
    statuses: tuple[str, ...] | None = ("pending",)
    limit: int = 1000


@dataclass(frozen=True, slots=True)
class RunQuery:
    """Which runs ``find_runs`` finds (each condition given must hold), in which order.

    ``search`` matches a run whose id it is, or whose first step's arguments as
    recorded (their JSON text, its first 10,000 characters) contain it, exactly
    (case counts); a text of fewer than three characters matches ids only.
    """

    environment_ids: tuple[str, ...] | None = None  # any of these (None: any at all)
    repository: str | None = None
    target: str | None = None
    states: tuple[str, ...] | None = None  # any of these ExecutionState values
    since: float | None = None  # created at or after
    until: float | None = None  # created before
    idempotency_key: str | None = None
    search: str | None = None
    oldest_first: bool = False  # else newest first


@dataclass(frozen=True, slots=True)
class FoundRuns:
    """A page of ``find_runs``: the runs, and the position of each (pass the last
    one as ``after`` for the next page). A page shorter than asked for is the last."""

    runs: list[RunSummary]
    positions: list[RunPosition]


class ProjectUnopenable(Exception):
    """A project the catalog holds but cannot open (damaged, foreign, misplaced).

    Args:
        project_id: the id the catalog knows it by.
        detail: why, in a sentence for the project's listing.
        changed_at: when its record last changed, as far as the catalog knows (its
            creation time is in the record that cannot be read).
        location: where it is, for the operator (a file's path), if not the catalog.
    """

    def __init__(
        self, project_id: str, detail: str, changed_at: float = 0.0, location: str = ""
    ) -> None:
        super().__init__(detail)
        self.project_id = project_id
        self.detail = detail
        self.changed_at = changed_at
        self.location = location


# --- several servers on one database (store/postgres/leases.py) ---------------------


# Seconds a server owns its projects without renewing their leases, when several
# share a database (``--lease-ttl``). A takeover after a server dies waits for its
# leases to run out, then restores the projects: about this long and a second or
# two (``docs/design.md``), within the 15 s the takeover is allowed by default.
DEFAULT_LEASE_TTL = 10.0


@dataclass(frozen=True, slots=True)
class Placement:
    """What this server should do with the projects, given the live servers.

    ``take``: projects it does not serve whose lease is free (expired) and that
    prefer this server or have been free for a whole lease time (their preferred
    server is not taking them), projects never owned, and its own leases from
    before a restart. ``hand_over``: projects it serves that prefer another live
    server now (one that joined): released, the other takes them at its next look.
    ``projects``: every project, in order of creation (those created by other
    servers since the last look included). ``next_expiry``: seconds until the
    first live lease of another server runs out unless renewed (None: there is
    none), so that the server looks again when a dead one's leases expire."""

    take: list[str]
    hand_over: list[str]
    projects: list[str]
    next_expiry: float | None = None


@dataclass(frozen=True, slots=True)
class Lease:
    project_id: str
    owner: str  # the server's id
    address: str  # where the owner is reached (its --advertise address)
    epoch: int
    expires_at: float  # seconds since the epoch, by the database's clock
    live: bool  # not expired now


@dataclass(frozen=True, slots=True)
class ServerRecord:
    id: str
    address: str
    started_at: float
    heartbeat_at: float
    live: bool  # heard from within one lease time


# --- project tokens (checked by server/tokens.py) -------------------------------------


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A project token as stored (without its secret)."""

    id: str
    project: str
    environments: tuple[str, ...] | None  # None: every environment of the project
    read_only: bool
    description: str
    created_at: float
    revoked_at: float | None
    secret_sha256: str

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class TokenRecords(Protocol):
    """Where a server's project tokens are kept: each token's record, with the sha256
    of its secret and never the secret. A record is never deleted, and a token is
    revoked once (a second revocation keeps the first one's time).

    ``shared``: whether other servers create and revoke these tokens too (several
    servers on one database): then a server's copy of them goes stale and must be
    read again (``server/tokens.py`` says how often).
    """

    shared: bool

    def load(self) -> list[TokenRecord]:
        """Every token, oldest first, as one moment saw them."""
        ...

    def counts(self) -> tuple[int, int]:
        """How many tokens, and how many revocations, are recorded. Nothing is ever
        deleted, so the same counts as a ``load`` mean the same records."""
        ...

    def insert(self, record: TokenRecord) -> bool:
        """Record a new, unrevoked token; False (nothing written) if its id is taken.

        Raises:
            coflux.errors.NotFound: ``unknown_project``: its project is not recorded
                (a backend that records projects beside the tokens).
        """
        ...

    def revoke(self, token_id: str, at: float) -> TokenRecord | None:
        """Record that the token was revoked at ``at``, unless it already was; the
        token as recorded then, or None if there is no token by that id."""
        ...

    def close(self) -> None: ...


class ProjectCatalog(Protocol):
    """Where a server's projects are kept: it lists them, creates them with unique
    names, and opens their stores. One per server, chosen by ``--database``."""

    @property
    def takeover_interval(self) -> float | None:
        """Seconds between a server's looks for projects to take over, when several
        servers share the catalog's database; None: the catalog is this server's alone."""
        ...

    def owner_address(self, project_id: str) -> str | None:
        """Where the server that owns the project now is reached, when that is
        another server sharing the database; None otherwise (this one, or none)."""
        ...

    def placement(self, serving: Collection[str]) -> Placement:
        """Which projects this server should take over, and which hand over, now
        (``serving``: the projects it serves). For a catalog that is this server's
        alone: every project it does not serve yet, and none to hand over."""
        ...

    def ownership(self) -> tuple[list[ServerRecord], list[Lease]] | None:
        """The servers sharing the database and every project's lease; None for a
        catalog that is this server's alone."""
        ...

    def tokens(self) -> TokenRecords | None:
        """Where the project tokens are kept when the catalog's database is shared by
        several servers, so that every server checks the same tokens; None for a
        catalog that is this server's alone (the server keeps them in its data
        directory, ``server/tokens.py``)."""
        ...

    def project_ids(self) -> list[str]:
        """Every project's id, whether or not it can be opened."""
        ...

    def open(self, project_id: str) -> ProjectStore:
        """Open a project's store, migrating it forward if needed.

        Raises:
            ProjectUnopenable: it is there but cannot be opened (or any other error
                the backend raises on a damaged record).
        """
        ...

    def create(self, project_id: str, name: str, now: float) -> ProjectStore:
        """Record a new project and open its store.

        Raises:
            coflux.errors.Conflict: ``project_exists``: the name is taken (also when
                two servers or requests create it at once: only one wins).
        """
        ...

    def close(self) -> None: ...


class ProjectStore(Protocol):
    # Batches of at most this many facts may be committed on the event loop (a local
    # database's commit is that cheap); 0: always on a thread (a networked database).
    inline_commit_limit: int

    def info(self) -> ProjectInfo: ...

    def take_ownership(self) -> None:
        """Make this process the project's only writer, before its state is loaded.

        A store whose database has one server (SQLite: the data directory's lock
        keeps others out) has nothing to do; a shared database's store acquires
        the project's lease (``store/postgres/leases.py``).

        Raises:
            coflux.errors.ProjectOwnedElsewhere: another server owns the project.
        """
        ...

    def append(self, facts: Sequence[Fact]) -> None:
        """Write all ``facts`` in one transaction, in order.

        Raises:
            coflux.errors.Conflict: ``fact_conflict``: a fact contradicts the record
                (a duplicate id, an unknown reference); nothing of the batch is written.
            coflux.errors.ProjectOwnedElsewhere: this process is no longer the
                project's writer (another server acquired it); nothing is written.
        """
        ...

    def load_snapshot(self) -> Snapshot: ...

    def get_outcome(self, execution_id: str) -> protocol.Outcome | None:
        """The recorded outcome of an execution, or None if it has none (yet)."""
        ...

    def get_step_outcome(self, execution_id: str) -> protocol.Outcome | None:
        """The outcome of the latest execution of ``execution_id``'s step.

        This is what a caller waiting on an execution receives: retries and
        re-runs of its step carry on for it. None if there is none (yet).
        """
        ...

    def find_cached(
        self, key: str, environment_ids: Sequence[str], since: float
    ) -> tuple[str, protocol.Outcome] | None:
        """The newest execution that succeeded with cache key ``key`` in one of the
        environments, finished at or after ``since``, with its outcome."""
        ...

    def find_memoised(self, run_id: str, key: str) -> str | None:
        """The execution an earlier call with memo key ``key`` has in the run, unless
        it failed or was cancelled."""
        ...

    def find_run_by_idempotency_key(self, key: str) -> str | None: ...

    def list_environments(self) -> list[EnvironmentView]: ...

    def list_manifests(self, environment_id: str) -> list[protocol.Manifest]:
        """The latest manifest of each repository in the environment (non-empty ones)."""
        ...

    def find_runs(
        self, query: RunQuery, *, after: RunPosition | None = None, limit: int = 100
    ) -> FoundRuns:
        """The runs ``query`` selects, in its order, from just past ``after`` (a
        run's position, in either order), at most ``limit``. Every page is read
        through an index, so it costs about the same wherever it is in a long
        history; one that starts at the last position of a page holds neither a run
        of an earlier page nor a gap, whatever was recorded meanwhile (a newer run
        comes before the first page, newest first; after the last, oldest first)."""
        ...

    def list_runs(
        self,
        *,
        environment_id: str | None = None,
        repository: str | None = None,
        target: str | None = None,
        limit: int = 100,
    ) -> list[RunSummary]:
        """Most recent first: the first page of ``find_runs`` of those filters."""
        ...

    def count_runs(self, environment_ids: Sequence[str], since: float) -> dict[str, dict[str, int]]:
        """How many runs each environment has that were created at or after ``since``,
        by the run's state (as ``find_runs`` filters on it): environment id -> state ->
        count, without the states (or environments) that have none. Each count is a
        range of the index by environment, state and time: it costs what the window
        holds, not the history."""
        ...

    def get_run(self, run_id: str) -> RunView | None: ...

    def get_run_outline(self, run_id: str, previews: bool = False) -> RunOutline | None:
        """A run's outline; ``previews``: with its values' previews (``coflux.previews``)."""
        ...

    def get_run_summary(self, run_id: str) -> RunSummary | None:
        """One run as ``list_runs`` shows it: without its steps, so cheap at any size."""
        ...

    def get_step_record(self, step_id: str) -> StepRecord | None:
        """What re-running a step needs, read without building its run's view;
        None if there is no such step."""
        ...

    def run_of_execution(self, execution_id: str) -> str | None: ...

    def list_logs(
        self,
        run_id: str,
        *,
        execution_id: str | None = None,
        after: int = 0,
        limit: int = 1000,
        levels: Sequence[str] | None = None,
    ) -> list[LogView]:
        """Log entries of a run in the order they were recorded, after cursor ``after``;
        only those at one of ``levels``, if given."""
        ...

    def list_metrics(self, run_id: str, *, execution_id: str | None = None) -> list[MetricView]:
        """The metrics of a run's executions (or of one), in the order they were
        defined, each with its point count and latest point."""
        ...

    def list_metric_points(
        self,
        run_id: str,
        *,
        execution_id: str | None = None,
        after: int = 0,
        limit: int = 1000,
    ) -> list[MetricPointView]:
        """Metric points of a run in the order they were recorded, after cursor ``after``."""
        ...

    def get_asset(self, asset_id: str) -> protocol.AssetInfo | None:
        """An asset with its entries, or None if there is no such asset."""
        ...

    def list_inputs(self, query: InputQuery) -> list[InputView]:
        """The inputs ``query`` selects, newest first."""
        ...

    def get_input(self, input_id: str) -> InputView | None:
        """One input, or None if there is no such input."""
        ...

    def list_run_assets(self, run_id: str) -> RunAssets:
        """Assets persisted in a run (oldest first), and the restores made in it."""
        ...

    def close(self) -> None: ...
