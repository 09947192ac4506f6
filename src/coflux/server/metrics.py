"""The server's Prometheus metrics (``/metrics``, the text exposition format).

Two kinds, so that the hot path stays cheap:

* counters and histograms are updated where the event happens, from what is
  already there: each committed batch of facts passes ``observe_facts`` on its
  way to the live topics (runs, steps, execution transitions, assignment
  latency); the store's ``append`` is timed by ``MeasuredStore`` (commit latency
  and batch size); an ASGI wrapper counts WebSocket connections and blob bytes;
* gauges are computed only when scraped, from each project's in-memory state
  (executions by state, queue depth and age per environment, connected agents),
  so nothing is kept up to date between scrapes.

Everything lives in one registry per app (never prometheus-client's global one),
so several servers in one process (the tests) do not share counters. Labels
name projects and environments by name, as operators know them; that is why
``/metrics`` needs the admin token on a server that requires tokens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coflux.orchestration.effects import (
    ExecutionCreated,
    ExecutionTransitioned,
    Fact,
    RunCreated,
    StepCreated,
)
from coflux.orchestration.model import ProjectState
from coflux.orchestration.states import ExecutionState
from coflux.server.auth import Authenticator
from coflux.server.routes import error_response
from coflux.store.base import (
    Lease,
    Placement,
    ProjectCatalog,
    ProjectStore,
    ServerRecord,
    TokenRecords,
)

# Seconds: from a fraction of a millisecond (a warm agent) to minutes (no agent).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)  # fmt: skip
COMMIT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)  # fmt: skip
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class Metrics:
    """The counters and histograms, and the collector of the scrape-time gauges."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._clock = clock
        r = self.registry
        self.runs = Counter("coflux_runs", "Runs started", ["project"], registry=r)
        self.steps = Counter("coflux_steps", "Steps created", ["project"], registry=r)
        self.transitions = Counter(
            "coflux_execution_transitions",
            "Executions entering each state (queued counts every new execution)",
            ["project", "state"],
            registry=r,
        )
        self.assignment_latency = Histogram(
            "coflux_assignment_latency_seconds",
            "From an execution being due to its assignment to an agent",
            ["project"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.commit_latency = Histogram(
            "coflux_commit_duration_seconds",
            "Time of one store commit (a batch of facts)",
            buckets=COMMIT_BUCKETS,
            registry=r,
        )
        self.commit_facts = Histogram(
            "coflux_commit_batch_facts",
            "Facts in one store commit",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.websockets = Gauge(
            "coflux_websocket_connections",
            "Open WebSocket connections (agent: /api/agent, live: /api/live)",
            ["endpoint"],
            registry=r,
        )
        self.blob_bytes = Counter(
            "coflux_blob_bytes",
            "Blob bytes through the server's blob endpoints (in: PUT, out: GET)",
            ["direction"],
            registry=r,
        )
        # Queued executions' due times, kept only until each leaves the queue.
        self._due: dict[str, float] = {}
        self._names: Callable[[str], str] = lambda project_id: project_id

    def watch(self, names: Callable[[str], str], states: Callable[[], StateSource]) -> None:
        """Name projects with ``names`` (id -> name) and gauge the states ``states`` gives."""
        self._names = names
        self.registry.register(_StateCollector(states, self._clock))

    def observe_facts(self, project_id: str, facts: Sequence[Fact]) -> None:
        """Count what a committed batch records (called for every batch: keep it cheap)."""
        project = self._names(project_id)
        for fact in facts:
            if isinstance(fact, ExecutionTransitioned):
                self.transitions.labels(project, fact.state.value).inc()
                if fact.state is ExecutionState.QUEUED:
                    continue  # recorded with its creation: still waiting
                due = self._due.pop(fact.execution_id, None)
                if fact.state is ExecutionState.ASSIGNED and due is not None:
                    self.assignment_latency.labels(project).observe(max(0.0, fact.at - due))
            elif isinstance(fact, ExecutionCreated):
                self._due[fact.execution_id] = max(fact.due_at, fact.at)
            elif isinstance(fact, StepCreated):
                self.steps.labels(project).inc()
            elif isinstance(fact, RunCreated):
                self.runs.labels(project).inc()

    def measured(self, catalog: ProjectCatalog) -> ProjectCatalog:
        """``catalog``, its stores' commits timed."""
        return MeasuredCatalog(catalog, self)

    async def endpoint(self, request: Request) -> Response:
        """``GET /metrics``: admin only on a server that requires tokens."""
        authenticator: Authenticator = request.app.state.context.authenticator
        principal = request.state.principal
        if authenticator.required:
            if principal is None:
                return error_response(401, "unauthorised", "a valid token is required")
            if not principal.admin:
                return error_response(403, "admin_only", "only an admin token may read metrics")
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


# What the gauges read: (project name, its state) for every project that serves.
StateSource = Iterator[tuple[str, ProjectState]]


class _StateCollector(Collector):
    """The gauges, computed from the projects' in-memory state when scraped."""

    def __init__(self, states: Callable[[], StateSource], clock: Callable[[], float]) -> None:
        self._states = states
        self._clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        executions = GaugeMetricFamily(
            "coflux_executions",
            "Executions held in memory (unfinished, or of unfinished runs), by state",
            labels=["project", "state"],
        )
        runs = GaugeMetricFamily("coflux_runs_active", "Unfinished runs", labels=["project"])
        depth = GaugeMetricFamily(
            "coflux_queue_depth",
            "Queued executions that are due",
            labels=["project", "environment"],
        )
        age = GaugeMetricFamily(
            "coflux_queue_oldest_age_seconds",
            "How long the oldest due queued execution has been due",
            labels=["project", "environment"],
        )
        agents = GaugeMetricFamily(
            "coflux_agents_connected", "Connected agents", labels=["project", "environment"]
        )
        now = self._clock()
        for project, state in self._states():
            environment = {e.id: e.name for e in state.environments.values()}
            by_state: dict[str, int] = {}
            for execution in state.executions.values():
                by_state[execution.state.value] = by_state.get(execution.state.value, 0) + 1
            for name, count in sorted(by_state.items()):
                executions.add_metric([project, name], count)
            runs.add_metric([project], sum(1 for r in state.runs.values() if r.unfinished))
            queued: dict[str, tuple[int, float]] = {}  # environment -> (depth, oldest due)
            for execution_id in state.queue:
                if execution_id in state.delayed:
                    continue  # not due yet: waiting, not queued behind anything
                execution = state.executions[execution_id]
                count, oldest = queued.get(execution.environment_id, (0, now))
                queued[execution.environment_id] = (count + 1, min(oldest, execution.due_at))
            for environment_id, (count, oldest) in queued.items():
                labels = [project, environment.get(environment_id, environment_id)]
                depth.add_metric(labels, count)
                age.add_metric(labels, max(0.0, now - oldest))
            connected: dict[str, int] = {}
            for session in state.sessions.values():
                if session.connected:
                    connected[session.environment_id] = connected.get(session.environment_id, 0) + 1
            for environment_id, count in connected.items():
                agents.add_metric([project, environment.get(environment_id, environment_id)], count)
        yield from (executions, runs, depth, age, agents)


class MeasuredCatalog:
    """A catalog whose stores time their commits (everything else passes through)."""

    def __init__(self, catalog: ProjectCatalog, metrics: Metrics) -> None:
        self._catalog = catalog
        self._metrics = metrics

    @property
    def takeover_interval(self) -> float | None:
        return self._catalog.takeover_interval

    def project_ids(self) -> list[str]:
        return self._catalog.project_ids()

    def placement(self, serving: Collection[str]) -> Placement:
        return self._catalog.placement(serving)

    def ownership(self) -> tuple[list[ServerRecord], list[Lease]] | None:
        return self._catalog.ownership()

    def owner_address(self, project_id: str) -> str | None:
        return self._catalog.owner_address(project_id)

    def tokens(self) -> TokenRecords | None:
        return self._catalog.tokens()

    def open(self, project_id: str) -> ProjectStore:
        return MeasuredStore(self._catalog.open(project_id), self._metrics)

    def create(self, project_id: str, name: str, now: float) -> ProjectStore:
        store = self._catalog.create(project_id, name, now)
        return MeasuredStore(store, self._metrics)

    def close(self) -> None:
        self._catalog.close()

    def __str__(self) -> str:
        return str(self._catalog)


class MeasuredStore:
    """A project store whose ``append`` is timed; every other attribute is the store's."""

    def __init__(self, store: ProjectStore, metrics: Metrics) -> None:
        self._store = store
        self._metrics = metrics

    def append(self, facts: Sequence[Fact]) -> None:
        started = time.perf_counter()
        self._store.append(facts)
        self._metrics.commit_latency.observe(time.perf_counter() - started)
        self._metrics.commit_facts.observe(len(facts))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class MeasuredTraffic:
    """ASGI wrapper: counts open WebSockets and the bytes of blob PUTs and GETs."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "websocket" and path in ("/api/agent", "/api/live"):
            gauge = self.metrics.websockets.labels(path.removeprefix("/api/"))
            gauge.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                gauge.dec()
            return
        if scope["type"] != "http" or not path.startswith("/blobs/"):
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "PUT"):
            await self.app(scope, receive, send)
            return
        bytes_in = self.metrics.blob_bytes.labels("in")
        bytes_out = self.metrics.blob_bytes.labels("out")
        # Bytes out: only a GET's body that is the blob (not an error's JSON).
        succeeded = False
        download = scope["method"] == "GET"

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                bytes_in.inc(len(message.get("body", b"")))
            return message

        async def counting_send(message: Message) -> None:
            nonlocal succeeded
            if message["type"] == "http.response.start":
                succeeded = download and message["status"] in (200, 206)
            elif message["type"] == "http.response.body" and succeeded:
                bytes_out.inc(len(message.get("body", b"")))
            await send(message)

        await self.app(scope, counting_receive, counting_send)
