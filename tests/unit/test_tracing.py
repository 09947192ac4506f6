"""Tracing's pure parts: when the OTEL_* variables turn it on, and the ids the
server and executors derive alike."""

from __future__ import annotations

import pytest
from opentelemetry import trace

from coflux.sdk import tracing
from coflux.server.tracing import configured


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, False),
        ({"OTEL_SERVICE_NAME": "x"}, False),
    ],
)
def test_traces_are_on_only_when_the_environment_asks(env: dict[str, str], on: bool) -> None:
    assert configured(env) is on


def test_ids_are_derived_from_the_run_and_the_execution() -> None:
    assert tracing.trace_id("r1") == tracing.trace_id("r1") != tracing.trace_id("r2")
    assert 0 < tracing.trace_id("r1") < 2**128
    assert 0 < tracing.span_id("r1:1:1") < 2**64
    assert tracing.span_id("r1:1:1") != tracing.span_id("r1:1:2") != tracing.run_span_id("r1")
    assert tracing.run_of("r1:12:3") == "r1"


def test_code_in_an_execution_sees_its_span() -> None:
    assert not trace.get_current_span().get_span_context().is_valid
    with tracing.execution_span("r1:2:1"):
        context = trace.get_current_span().get_span_context()
        assert (context.trace_id, context.span_id) == (
            tracing.trace_id("r1"),
            tracing.span_id("r1:2:1"),
        )
        assert context.is_remote and context.trace_flags.sampled
    assert not trace.get_current_span().get_span_context().is_valid


def test_without_opentelemetry_the_span_is_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracing, "_api", False)
    with tracing.execution_span("r1:2:1"):
        assert not trace.get_current_span().get_span_context().is_valid
