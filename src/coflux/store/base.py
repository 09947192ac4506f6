"""The narrow interface between the engine and a project's durable storage.

One ``ProjectStore`` holds one project. The orchestrator is its only writer: it
appends the facts of a batch of events with ``append`` (one transaction). Every
other method reads, and may be called from any thread (each backend gives readers
their own connection), so HTTP handlers read views without going through the
project's actor.

The views below are what the HTTP API returns; they are defined here so every
backend produces exactly the same shapes (checked by one contract test suite).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import msgspec

from coflux import protocol
from coflux.orchestration.effects import EnvironmentRecorded, Fact
from coflux.orchestration.states import ExecutionState


class View(msgspec.Struct, frozen=True, kw_only=True):
    """Base of the read models."""


class ProjectInfo(View, frozen=True):
    id: str
    name: str
    created_at: float


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


class ExecutionView(View, frozen=True):
    id: str
    attempt: int
    state: str
    environment: str  # environment name
    created_at: float
    assigned_at: float | None
    completed_at: float | None
    session_id: str | None
    outcome: protocol.Outcome | None
    transitions: list[TransitionView]


class StepView(View, frozen=True):
    id: str
    number: int
    repository: str
    target: str
    type: str
    parent_execution: str | None
    call_index: int | None
    arguments: list[protocol.Value]
    created_at: float
    executions: list[ExecutionView]
    options: protocol.TargetOptions = protocol.TargetOptions()


class RunSummary(View, frozen=True):
    id: str
    environment: str
    repository: str
    target: str
    state: str  # state of the latest execution of the run's first step
    created_at: float
    completed_at: float | None


class RunView(View, frozen=True):
    id: str
    environment: str
    repository: str
    target: str
    state: str
    idempotency_key: str | None
    created_at: float
    completed_at: float | None
    steps: list[StepView]


class LogView(View, frozen=True):
    id: int  # a cursor: pass the last one seen as ``after``
    run_id: str
    execution_id: str
    timestamp: float
    level: str
    template: str
    values: dict[str, protocol.Value]


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


class ActiveExecution(View, frozen=True):
    """An execution that had not reached a terminal state, with its step."""

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


class ProjectStore(Protocol):
    def info(self) -> ProjectInfo: ...

    def append(self, facts: Sequence[Fact]) -> None:
        """Write all ``facts`` in one transaction, in order."""
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

    def list_runs(
        self,
        *,
        environment_id: str | None = None,
        repository: str | None = None,
        target: str | None = None,
        limit: int = 100,
    ) -> list[RunSummary]:
        """Most recent first."""
        ...

    def get_run(self, run_id: str) -> RunView | None: ...

    def get_run_summary(self, run_id: str) -> RunSummary | None:
        """One run as ``list_runs`` shows it: without its steps, so cheap at any size."""
        ...

    def run_of_execution(self, execution_id: str) -> str | None: ...

    def list_logs(
        self,
        run_id: str,
        *,
        execution_id: str | None = None,
        after: int = 0,
        limit: int = 1000,
    ) -> list[LogView]:
        """Log entries of a run in the order they were recorded, after cursor ``after``."""
        ...

    def get_asset(self, asset_id: str) -> protocol.AssetInfo | None:
        """An asset with its entries, or None if there is no such asset."""
        ...

    def list_run_assets(self, run_id: str) -> RunAssets:
        """Assets persisted in a run (oldest first), and the restores made in it."""
        ...

    def close(self) -> None: ...
