"""OpenTelemetry traces of runs and executions, exported by the server.

Off unless OpenTelemetry is configured the standard way: ``OTEL_TRACES_EXPORTER``
(``otlp`` or ``console``) or an OTLP endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), and not ``OTEL_SDK_DISABLED=true``. The
exporter then reads every other ``OTEL_*`` variable itself (headers, timeouts,
``OTEL_SERVICE_NAME``, ``OTEL_TRACES_SAMPLER``...). It needs the ``otel`` extra
(``pip install 'coflux[otel]'``: the SDK and the OTLP/HTTP exporter); configured
without it, the server says so once and runs untraced.

A run is a trace whose root span is the run's own, and each execution a span in
it, a child of the execution that called its step (the run's span for the root
step), with the ids of ``coflux.sdk.tracing``, so that the spans user code starts
in the execution join the same trace. A span covers its execution from its
creation (queued) to the state that ends it (succeeded, failed, cached, ...), with
its assignment and each other state as events; attributes name the project, run,
step, attempt, target and how it ended; a failure is an error status with its
message. A run's span ends when its first step's execution ends and no other
attempt of it is under way.

Spans are made from the facts of each committed batch (``observe_facts``, beside
the Prometheus metrics), so tracing adds no work to the orchestrator, and only
what was recorded is exported. What the server has not seen begin (executions
under way when it started, or when it took a project over from another server)
is not exported: best effort, never a gap in the record itself.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from coflux import protocol
from coflux.orchestration.effects import (
    ExecutionCreated,
    ExecutionTransitioned,
    Fact,
    OutcomeRecorded,
    RunCreated,
    StepCreated,
)
from coflux.orchestration.states import ExecutionState
from coflux.sdk.tracing import run_span_id, span_id, trace_id

__all__ = ["Tracing", "open_tracing"]

logger = logging.getLogger(__name__)

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def configured(env: Mapping[str, str]) -> bool:
    """Whether the ``OTEL_*`` variables ask for traces (see the module docstring)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return exporter in ("otlp", "console") or any(env.get(name) for name in _ENDPOINTS)


def open_tracing(env: Mapping[str, str] | None = None) -> Tracing | None:
    """The server's tracing, if the environment asks for it and the SDK is installed."""
    env = os.environ if env is None else env
    if not configured(env):
        return None
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError:
        logger.warning(
            "OpenTelemetry is configured (OTEL_*) but not installed: traces are off"
            " (pip install 'coflux[otel]')"
        )
        return None
    exporter: Any
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "console":
        exporter = ConsoleSpanExporter()
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            logger.warning("the OTLP/HTTP exporter is not installed: traces are off")
            return None
        exporter = OTLPSpanExporter()
    ids = _GivenIds()
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME", "coflux-server")})
    provider = TracerProvider(resource=resource, id_generator=_generator(ids))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    logger.info("exporting OpenTelemetry traces of runs and executions")
    return Tracing(provider, ids)


class _GivenIds:
    """The ids of the next span to start: the SDK asks its id generator for them
    (``_generator``), and ours are derived from the run's and execution's ids."""

    def __init__(self) -> None:
        self.trace = 0
        self.span = 0


def _generator(ids: _GivenIds) -> Any:
    """An OpenTelemetry id generator handing out ``ids``."""
    from opentelemetry.sdk.trace.id_generator import IdGenerator

    class Given(IdGenerator):
        def generate_trace_id(self) -> int:
            return ids.trace

        def generate_span_id(self) -> int:
            return ids.span

    return Given()


@dataclass
class _Step:
    run_id: str
    name: str  # repository:target
    type: str
    parent_execution_id: str | None


@dataclass
class _Execution:
    step_id: str
    span: Any  # an OpenTelemetry Span


@dataclass
class _Run:
    project_id: str
    span: Any
    root_step: str | None = None
    steps: dict[str, _Step] = field(default_factory=dict)
    open: dict[str, _Execution] = field(default_factory=dict)  # executions not ended


def _ns(at: float) -> int:
    return int(at * 1e9)


class Tracing:
    """Spans of the runs and executions this server records (see the module docstring)."""

    def __init__(self, provider: Any, ids: _GivenIds) -> None:
        from opentelemetry import trace

        self._trace = trace
        self._provider = provider
        self._ids = ids
        self._tracer = provider.get_tracer("coflux")
        self._runs: dict[str, _Run] = {}
        self._run_of_step: dict[str, str] = {}

    def observe_facts(self, project_id: str, facts: Sequence[Fact]) -> None:
        """Start and end spans for a committed batch (called for every batch)."""
        outcomes = {f.execution_id: f.outcome for f in facts if isinstance(f, OutcomeRecorded)}
        ended: set[str] = set()
        for fact in facts:
            if isinstance(fact, RunCreated):
                self._run_created(project_id, fact)
            elif isinstance(fact, StepCreated):
                self._step_created(fact)
            elif isinstance(fact, ExecutionCreated):
                self._execution_created(fact)
            elif isinstance(fact, ExecutionTransitioned) and self._transitioned(
                fact, outcomes.get(fact.execution_id)
            ):
                ended.add(fact.run_id)
        for run_id in ended:
            self._end_run_if_done(run_id)

    def _start(self, name: str, trace: int, span: int, parent: Any, at: float) -> Any:
        self._ids.trace, self._ids.span = trace, span
        return self._tracer.start_span(
            name, context=parent, start_time=_ns(at), kind=self._trace.SpanKind.INTERNAL
        )

    def _run_created(self, project_id: str, fact: RunCreated) -> None:
        span = self._start(
            f"run {fact.repository}:{fact.target}",
            trace_id(fact.run_id), run_span_id(fact.run_id), None, fact.at,
        )  # fmt: skip
        span.set_attributes({"coflux.project": project_id, "coflux.run_id": fact.run_id})
        self._runs[fact.run_id] = _Run(project_id, span)

    def _step_created(self, fact: StepCreated) -> None:
        run = self._runs.get(fact.run_id)
        if run is None:
            return  # a run under way before this server saw it begin
        if fact.parent_execution_id is None and run.root_step is None:
            run.root_step = fact.step_id
        name = f"{fact.repository}:{fact.target}"
        run.steps[fact.step_id] = _Step(fact.run_id, name, fact.type, fact.parent_execution_id)

    def _execution_created(self, fact: ExecutionCreated) -> None:
        run = self._runs.get(fact.run_id)
        step = run.steps.get(fact.step_id) if run is not None else None
        if run is None or step is None:
            return
        parent_span = (
            span_id(step.parent_execution_id)
            if step.parent_execution_id is not None
            else run_span_id(fact.run_id)
        )
        parent = self._trace.set_span_in_context(
            self._trace.NonRecordingSpan(
                self._trace.SpanContext(
                    trace_id(fact.run_id), parent_span, is_remote=False,
                    trace_flags=self._trace.TraceFlags(self._trace.TraceFlags.SAMPLED),
                )
            )
        )  # fmt: skip
        span = self._start(
            step.name, trace_id(fact.run_id), span_id(fact.execution_id), parent, fact.at
        )
        span.set_attributes(
            {
                "coflux.project": run.project_id,
                "coflux.run_id": fact.run_id,
                "coflux.step_id": fact.step_id,
                "coflux.execution_id": fact.execution_id,
                "coflux.attempt": fact.attempt,
                "coflux.target": step.name,
                "coflux.type": step.type,
            }
        )
        run.open[fact.execution_id] = _Execution(fact.step_id, span)

    def _transitioned(self, fact: ExecutionTransitioned, outcome: protocol.Outcome | None) -> bool:
        """Record a state; True if it ended an execution of the run's first step."""
        run = self._runs.get(fact.run_id)
        execution = run.open.get(fact.execution_id) if run is not None else None
        if run is None or execution is None:
            return False
        attributes = {"coflux.session_id": fact.session_id} if fact.session_id else {}
        execution.span.add_event(fact.state.value, attributes, timestamp=_ns(fact.at))
        if not fact.state.terminal:
            return False
        del run.open[fact.execution_id]
        execution.span.set_attribute("coflux.state", fact.state.value)
        if fact.state in (ExecutionState.FAILED, ExecutionState.TIMED_OUT):
            message = outcome.error.message if isinstance(outcome, protocol.Failed) else ""
            status = self._trace.Status(self._trace.StatusCode.ERROR, message or fact.state.value)
            execution.span.set_status(status)
        execution.span.end(end_time=_ns(fact.at))
        return execution.step_id == run.root_step and fact.state is not ExecutionState.SUSPENDED

    def _end_run_if_done(self, run_id: str) -> None:
        run = self._runs[run_id]
        if any(e.step_id == run.root_step for e in run.open.values()):
            return  # another attempt of its first step is under way
        for execution in run.open.values():  # left unfinished by the run's end
            execution.span.end()
        run.span.end()
        del self._runs[run_id]

    def close(self) -> None:
        """Export what is pending and stop."""
        self._provider.shutdown()
