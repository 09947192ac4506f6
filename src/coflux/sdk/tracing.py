"""OpenTelemetry trace context of runs and executions, shared by the server and executors.

A run is one trace and each execution a span in it, with ids derived from the
run's and the execution's ids (``trace_id``, ``span_id``): the server, which
exports the spans when executions end (``coflux.server.tracing``), and the
executor, which makes the execution's span the current one while the user's code
runs (``execution_span``), agree on them without telling each other anything.
So a span the user's code starts (its HTTP client's, its database driver's, its
own) is a child of its execution in the same trace, whichever process exports it.

Nothing here needs OpenTelemetry: ``execution_span`` does nothing where
``opentelemetry-api`` is not installed, and costs one failed import once.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from typing import Any

from coflux.ids import run_of

__all__ = ["execution_span", "prepare", "run_span_id", "span_id", "trace_id"]


def _bits(kind: str, name: str, size: int) -> int:
    digest = hashlib.sha256(f"coflux:{kind}:{name}".encode()).digest()
    return int.from_bytes(digest[:size], "big") or 1  # zero is "invalid" in OpenTelemetry


def trace_id(run_id: str) -> int:
    """The 128-bit trace id of a run."""
    return _bits("run", run_id, 16)


def run_span_id(run_id: str) -> int:
    """The 64-bit id of a run's own span (the root of its trace)."""
    return _bits("run-span", run_id, 8)


def span_id(execution_id: str) -> int:
    """The 64-bit span id of an execution."""
    return _bits("execution", execution_id, 8)


_api: Any = None  # opentelemetry's modules once imported; False: not installed


def _opentelemetry() -> Any:
    global _api
    if _api is None:
        try:
            from opentelemetry import context, trace
        except ImportError:
            _api = False
        else:
            _api = (context, trace)
    return _api


def prepare() -> None:
    """Import OpenTelemetry now, if it is installed, rather than in the first
    ``execution_span`` (~3 ms here): an executor does it before its first execution."""
    _opentelemetry()


@contextlib.contextmanager
def execution_span(execution_id: str) -> Iterator[None]:
    """Make the execution's span the current OpenTelemetry span for the block (its
    parent context, as a remote span: the server records it), if OpenTelemetry is
    installed; else nothing."""
    api = _opentelemetry()
    if not api:
        yield
        return
    context, trace = api
    parent = trace.SpanContext(
        trace_id=trace_id(run_of(execution_id)),
        span_id=span_id(execution_id),
        is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )
    token = context.attach(trace.set_span_in_context(trace.NonRecordingSpan(parent)))
    try:
        yield
    finally:
        context.detach(token)
