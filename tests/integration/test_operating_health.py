"""What an operator's probes see: liveness, readiness and metrics of a real server.

``/health`` and ``/ready`` answer JSON (never Studio's page), need no token and
name no project; ``/ready`` is 503 while the PostgreSQL database is down and 200
again once it is back; a path that is neither the API, a file of Studio's build
nor one of Studio's screens is a 404; ``/metrics`` counts what a run did, and
needs the admin token on a server that requires tokens.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.cluster import EXAMPLES, Cluster, Server
from tests.support.eventually import eventually
from tests.support.postgres import Cluster as PostgresCluster
from tests.support.postgres import fresh_database


def test_health_and_ready_are_json_and_unknown_paths_are_404(cluster: Cluster) -> None:
    for path in ("/health", "/ready"):
        response = cluster.api("GET", path)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["status"] in ("ok", "ready")
        assert "test" not in response.text  # no project's name
    for path in ("/healthz", "/status", "/favicon-missing.ico", "/metrics/extra"):
        response = cluster.api("GET", path)
        assert response.status_code == 404, path
        assert response.json()["error"]["reason"] == "not_found"
    # Studio's own screens still answer with the app (or the page saying how to build it).
    for path in ("/", "/projects/test/environments/production"):
        response = cluster.api("GET", path)
        assert response.status_code == 200 and "<title>" in response.text, path


def _samples(text: str, name: str) -> dict[str, float]:
    """Each sample of metric ``name``: its labels as written -> its value."""
    found = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            labels, _, value = line.rpartition(" ")
            found[labels.removeprefix(name)] = float(value)
    return found


def test_metrics_count_a_run_and_show_agents_and_commits(cluster: Cluster) -> None:
    agent = cluster.start_agent(EXAMPLES / "hello.py")
    cluster.wait_connected(agent)
    done = cluster.cli("submit", "hello", "print_greeting", '"Ann"', "--wait")
    assert done.returncode == 0, done.stderr

    response = cluster.api("GET", "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert _samples(text, "coflux_runs_total") == {'{project="test"}': 1.0}
    assert _samples(text, "coflux_steps_total")['{project="test"}'] >= 1
    transitions = _samples(text, "coflux_execution_transitions_total")
    assert transitions['{project="test",state="succeeded"}'] >= 1
    assert transitions['{project="test",state="assigned"}'] >= 1
    assert _samples(text, "coflux_assignment_latency_seconds_count")['{project="test"}'] >= 1
    assert _samples(text, "coflux_commit_duration_seconds_count")[""] >= 1
    assert _samples(text, "coflux_commit_batch_facts_sum")[""] >= 1
    agents = _samples(text, "coflux_agents_connected")
    assert agents == {'{environment="production",project="test"}': 1.0}
    assert _samples(text, "coflux_websocket_connections")['{endpoint="agent"}'] == 1.0


def test_queue_depth_shows_work_no_agent_takes(cluster: Cluster) -> None:
    registered = cluster.cli("register", str(EXAMPLES / "hello.py"))
    assert registered.returncode == 0, registered.stderr
    submitted = cluster.cli("submit", "hello", "print_greeting", '"Bo"')
    assert submitted.returncode == 0, submitted.stderr
    text = cluster.api("GET", "/metrics").text
    labels = '{environment="production",project="test"}'
    assert _samples(text, "coflux_queue_depth") == {labels: 1.0}
    assert _samples(text, "coflux_queue_oldest_age_seconds")[labels] >= 0
    assert _samples(text, "coflux_executions") == {'{project="test",state="queued"}': 1.0}


ADMIN = "the-admin-token-of-this-server"


def test_with_tokens_probes_need_none_and_metrics_need_the_admin_token(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", tokens=[ADMIN]).start()
    try:
        for path in ("/health", "/ready"):
            assert httpx.get(server.url + path, timeout=10).status_code == 200
        assert httpx.get(server.url + "/metrics", timeout=10).status_code == 401
        wrong = {"Authorization": "Bearer not-a-token"}
        assert httpx.get(server.url + "/metrics", headers=wrong, timeout=10).status_code == 401
        admin = {"Authorization": f"Bearer {ADMIN}"}
        metrics = httpx.get(server.url + "/metrics", headers=admin, timeout=10)
        assert metrics.status_code == 200 and "coflux_commit_duration_seconds" in metrics.text
    finally:
        server.stop()


@pytest.fixture
def own_postgres() -> Iterator[PostgresCluster]:
    """A cluster of this test's own, which it may stop and start again."""
    cluster = PostgresCluster()
    cluster.start()
    yield cluster
    cluster.stop()


def test_ready_is_503_while_the_database_is_down(
    tmp_path: Path, own_postgres: PostgresCluster
) -> None:
    with fresh_database(own_postgres) as url:
        server = Server(tmp_path / "data", database=url).start()
        try:
            assert httpx.get(server.url + "/ready", timeout=10).status_code == 200
            own_postgres._run("pg_ctl", "-D", str(own_postgres.data), "-m", "fast", "-w", "stop")
            down = httpx.get(server.url + "/ready", timeout=30)
            assert down.status_code == 503, down.text
            assert down.json()["status"] == "unavailable" and "store" in down.json()["reason"]
            # Liveness stays up: restarting the server would not bring the database back.
            assert httpx.get(server.url + "/health", timeout=10).status_code == 200
            own_postgres._run(
                "pg_ctl", "-D", str(own_postgres.data), "-l", str(own_postgres.log), "-w", "start"
            )

            def ready() -> bool:
                return httpx.get(server.url + "/ready", timeout=30).status_code == 200

            eventually(ready, 90, message="the server to be ready again")
            assert json.loads(httpx.get(server.url + "/health", timeout=10).text) == {
                "status": "ok"
            }
        finally:
            server.stop()


@pytest.mark.embedded_storage  # with S3, agents put and get blobs there, not through the server
def test_metrics_count_blob_bytes_in_and_out(cluster: Cluster) -> None:
    content = b"a value too large to pass inline " * 100
    key = hashlib.sha256(content).hexdigest()
    assert cluster.api("PUT", f"/blobs/{key}", content=content).status_code in (200, 201, 204)
    assert cluster.api("GET", f"/blobs/{key}").content == content
    assert cluster.api("GET", "/blobs/" + "0" * 64).status_code == 404  # not counted out
    text = cluster.api("GET", "/metrics").text
    blob_bytes = _samples(text, "coflux_blob_bytes_total")
    assert blob_bytes == {'{direction="in"}': len(content), '{direction="out"}': len(content)}
