"""The in-memory state of one project, as the pure core sees it.

It holds only *unfinished* work: environments and manifests (small), connected or
recently disconnected agent sessions, and the runs that still have an execution
that is not terminal. When a run's last execution ends, the run and its
executions leave memory; the store keeps them. So memory follows the amount of
work in flight, not the size of history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from coflux import protocol
from coflux.orchestration.states import EnvironmentStatus, ExecutionState


@dataclass(slots=True)
class Environment:
    id: str
    name: str
    base_id: str | None
    status: EnvironmentStatus


@dataclass(frozen=True, slots=True)
class SessionWaiter:
    session_id: str
    request_id: int


@dataclass(frozen=True, slots=True)
class LocalWaiter:
    token: int


Waiter = SessionWaiter | LocalWaiter


@dataclass(slots=True)
class Session:
    """An agent's session: what it hosts and the executions assigned to it.

    Executions that are blocked waiting for a result (``blocked``, as the agent
    reports them) hold a process but no ``concurrency`` slot: the session takes
    more work while fewer than ``concurrency`` of its executions run, and fewer
    than ``max_executors`` are held in all (None: ``concurrency``, for agents
    that never report blocking). ``blocked`` is a subset of ``executions``: an
    execution leaves both when it ends (``executions.set_state``).

    ``prefetch`` more than ``concurrency`` may be assigned: the agent holds them
    and starts each when one of its slots frees (``protocol.Hello``), so the
    session takes work while fewer than ``concurrency + prefetch`` run or wait
    there. The least loaded session is chosen first (``sessions.find_session``),
    so a session with a slot free gets the work before another's prefetch does.
    """

    id: str
    environment_id: str
    concurrency: int
    provides: dict[str, tuple[str, ...]]
    targets: dict[str, frozenset[str]]
    connection: int
    connected: bool
    expires_at: float | None
    executions: set[str] = field(default_factory=set)
    max_executors: int | None = None
    # The sha256 of the resume secret; None (a session restored from before secrets
    # were kept) cannot be resumed at all.
    secret_sha256: str | None = None
    blocked: set[str] = field(default_factory=set)
    prefetch: int = 0

    def hosts(self, repository: str, target: str) -> bool:
        return target in self.targets.get(repository, ())

    @property
    def process_cap(self) -> int:
        """The most executions it holds at once, blocked ones included."""
        return self.max_executors if self.max_executors is not None else self.concurrency

    def running(self) -> int:
        """Its executions that are not blocked waiting for a result."""
        return len(self.executions) - len(self.blocked)

    def has_capacity(self) -> bool:
        return (
            self.connected
            and self.running() < self.concurrency + self.prefetch
            and len(self.executions) < self.process_cap
        )

    def free(self) -> int:
        """How many more executions it can take now."""
        if not self.connected:
            return 0
        return max(
            0,
            min(
                self.concurrency + self.prefetch - self.running(),
                self.process_cap - len(self.executions),
            ),
        )

    def satisfies(self, requires: dict[str, tuple[str, ...]]) -> bool:
        """Whether the session provides, for every required tag, one accepted value."""
        for key, accepted in requires.items():
            offered = self.provides.get(key)
            if offered is None or not set(accepted) & set(offered):
                return False
        return True


@dataclass(slots=True)
class MetricsState:
    """What a running execution has recorded, as far as its bounds need:
    each metric's key and latest x (None: no point yet), and its points in all."""

    last_at: dict[str, float | None] = field(default_factory=dict)
    points: int = 0
    warned: bool = False  # the warning that something was dropped is in its log


@dataclass(slots=True)
class Input:
    """An input a run's execution asked for (``orchestration.inputs``): what answering
    it needs (its schema), its response once settled, and who waits for that.

    Kept with its run (``Run.inputs``), so it leaves memory with the run; the
    store has the rest of it (``protocol.InputInfo``).
    """

    id: str
    run_id: str
    execution_id: str
    key: str
    schema: dict[str, Any] | None
    response: protocol.InputResponse | None = None
    waiters: set[SessionWaiter] = field(default_factory=set)


@dataclass(slots=True)
class Execution:
    id: str
    step_id: str
    run_id: str
    step_number: int
    attempt: int
    environment_id: str
    repository: str
    target: str
    type: protocol.TargetType
    arguments: tuple[protocol.Value, ...]
    options: protocol.TargetOptions
    parent_id: str | None
    state: ExecutionState
    created_at: float
    due_at: float
    session_id: str | None = None
    children: dict[int, str] = field(default_factory=dict)  # call_index -> execution id
    waiters: set[Waiter] = field(default_factory=set)
    outcome: protocol.Outcome | None = None  # set once terminal
    completed_at: float | None = None
    # The execution that carries on for this one: its retry or manual re-run, the
    # root of the run it spawned, the cached execution it reuses, or the newer call
    # that replaced it (defer). Waiters follow it.
    successor: str | None = None
    # Executions standing in for this one (spawned, cached, deferred ones, in any
    # run): they take this execution's final outcome as their own.
    followers: list[str] = field(default_factory=list)
    # Executions whose outcomes must exist before this one is assigned (``wait``).
    waiting_for: tuple[str, ...] = ()
    cache_key: str | None = None
    defer_key: str | None = None
    checkpoint: tuple[protocol.Value, ...] | None = None  # a sensor's restart arguments
    metrics: MetricsState | None = None  # what it recorded (``orchestration.metrics``)
    # Inputs that must be answered before it is assigned (a suspension waiting for them).
    waiting_for_inputs: tuple[str, ...] = ()


@dataclass(slots=True)
class Run:
    id: str
    environment_id: str
    root_execution_id: str
    step_count: int
    idempotency_key: str | None = None
    unfinished: set[str] = field(default_factory=set)  # non-terminal execution ids
    executions: set[str] = field(default_factory=set)  # every execution held in memory
    latest_by_step: dict[str, str] = field(default_factory=dict)  # step id -> newest of those
    memo: dict[str, str] = field(default_factory=dict)  # memo key -> execution id
    inputs: dict[str, Input] = field(default_factory=dict)  # its inputs, by id
    input_keys: dict[str, str] = field(default_factory=dict)  # an input's key -> its id


@dataclass(slots=True)
class ProjectState:
    session_timeout: float
    environments: dict[str, Environment] = field(default_factory=dict)
    manifests: dict[tuple[str, str], protocol.Manifest] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)
    executions: dict[str, Execution] = field(default_factory=dict)
    # Queued execution ids in the order they were queued (dicts keep insertion order).
    queue: dict[str, None] = field(default_factory=dict)
    # Queued executions that are not due yet, with their due time.
    delayed: dict[str, float] = field(default_factory=dict)
    idempotency_keys: dict[str, str] = field(default_factory=dict)  # of runs in memory
    # Cache key -> executions in memory with that key (oldest first).
    cache_index: dict[str, list[str]] = field(default_factory=dict)
    # (environment id, defer key) -> the queued execution a newer equal call replaces.
    deferrable: dict[tuple[str, str], str] = field(default_factory=dict)

    def environment_named(self, name: str) -> Environment | None:
        # Archived environments keep their rows but give up their names.
        for environment in self.environments.values():
            if environment.name == name and environment.status is not EnvironmentStatus.ARCHIVED:
                return environment
        return None

    def next_deadline(self) -> float | None:
        """The earliest time at which a ``Tick`` could change something."""
        times = [s.expires_at for s in self.sessions.values() if s.expires_at is not None]
        times.extend(self.delayed.values())
        return min(times, default=None)
