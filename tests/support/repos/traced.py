"""A workflow for the tracing test: a task reports the OpenTelemetry span its code
runs in, another fails."""

import contextlib

from opentelemetry import trace

import coflux as cf


@cf.task
def where() -> list[str]:
    """The trace and span ids current in this execution's code, as hex."""
    context = trace.get_current_span().get_span_context()
    return [format(context.trace_id, "032x"), format(context.span_id, "016x")]


@cf.task
def fails() -> None:
    raise ValueError("no luck")


@cf.workflow
def traced() -> list[str]:
    found = where()
    with contextlib.suppress(ValueError):
        fails()
    return found
