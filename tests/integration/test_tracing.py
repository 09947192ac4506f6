"""OpenTelemetry traces: with an OTLP endpoint configured, the server exports a
trace per run (the run's span, a span per execution under the execution that
called it), and user code runs inside its execution's span, so its own spans join
the trace. The collector here is a plain HTTP server decoding OTLP/protobuf."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.cluster import REPOS, Cluster, Server, free_port
from tests.support.eventually import eventually


class Collector:
    """Receives OTLP/HTTP trace exports; ``spans`` holds every span received."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        collector.spans.extend(scope.spans)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def collector() -> Iterator[Collector]:
    collector = Collector()
    yield collector
    collector.close()


def attributes(span: Any) -> dict[str, Any]:
    return {a.key: a.value.string_value or a.value.int_value for a in span.attributes}


def test_a_run_is_a_trace_and_user_code_runs_in_its_execution_span(
    tmp_path: Path, collector: Collector
) -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.port}",
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # ms: export soon after a span ends
        "OTEL_SERVICE_NAME": "coflux-test",
    }
    cluster = Cluster(Server(tmp_path / "data", env=env).start(), tmp_path)
    try:
        assert cluster.cli("projects", "create", "test").returncode == 0
        cluster.start_agent(REPOS / "traced.py")
        done = cluster.cli("submit", "traced", "traced", "--wait")
        assert done.returncode == 0, done.stderr
        seen_trace, seen_span = json.loads(done.stdout)
        eventually(lambda: len(collector.spans) >= 4, 20, message="the run's spans")
    finally:
        cluster.stop()

    by_name = {span.name: span for span in collector.spans}
    assert set(by_name) == {"run traced:traced", "traced:traced", "traced:where", "traced:fails"}
    run, workflow = by_name["run traced:traced"], by_name["traced:traced"]
    where, fails = by_name["traced:where"], by_name["traced:fails"]
    assert {span.trace_id.hex() for span in collector.spans} == {seen_trace}
    assert where.span_id.hex() == seen_span  # the span the task's code ran in
    assert run.parent_span_id == b""
    assert workflow.parent_span_id == run.span_id
    assert where.parent_span_id == fails.parent_span_id == workflow.span_id
    run_id = attributes(run)["coflux.run_id"]
    assert attributes(where)["coflux.execution_id"].startswith(f"{run_id}:")
    assert attributes(where)["coflux.state"] == "succeeded"
    assert attributes(fails)["coflux.state"] == "failed"
    assert fails.status.code == fails.status.STATUS_CODE_ERROR
    assert "no luck" in fails.status.message
    assert [event.name for event in where.events] == ["queued", "assigned", "succeeded"]
    assert run.start_time_unix_nano <= workflow.start_time_unix_nano
    assert workflow.end_time_unix_nano <= run.end_time_unix_nano
