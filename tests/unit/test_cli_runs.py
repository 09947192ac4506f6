"""``submit`` and ``runs``: the output contracts (stdout for results, stderr for the rest)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import msgspec
import pytest
from websockets.sync.server import ServerConnection, serve

from coflux import protocol
from coflux.cli.follow import StepTracker
from coflux.client.live import RunFacts, RunSnapshot
from coflux.log_lines import render_message
from coflux.orchestration.effects import ExecutionCreated, ExecutionTransitioned, StepCreated
from coflux.orchestration.states import ExecutionState
from coflux.serialization import from_json
from coflux.server.live import FactsMessage, RunEnded
from coflux.server.live import RunSnapshot as WireSnapshot
from coflux.views import ExecutionView, LogView, RunView, StepView
from tests.unit.test_cli import FakeApi, one_error_line

RUNS = "/api/projects/p/runs"


def value(data: object) -> protocol.Value:
    return protocol.Value(format="json", data=data)


def failed(type_: str, message: str, traceback: str) -> protocol.Failed:
    return protocol.Failed(
        error=protocol.ErrorInfo(type=type_, message=message, traceback=traceback)
    )


def execution(
    id_: str, state: str, outcome: protocol.Outcome | None = None, completed: float | None = 12.0
) -> ExecutionView:
    return ExecutionView(
        id=id_,
        attempt=int(id_.rsplit(":", 1)[1]),
        state=state,
        environment="production",
        created_at=10.0,
        assigned_at=10.5,
        completed_at=completed,
        session_id="s1",
        outcome=outcome,
        transitions=[],
    )


def step(id_: str, target: str, parent: str | None, *executions: ExecutionView) -> StepView:
    return StepView(
        id=id_,
        number=int(id_.split(":")[1]),
        repository="hello",
        target=target,
        type="task",
        parent_execution=parent,
        call_index=None if parent is None else 0,
        arguments=[],
        created_at=10.0,
        executions=list(executions),
    )


ROOT_ERROR = failed("builtins.ValueError", "bad", "Traceback (root)")
DEEP_ERROR = failed("builtins.KeyError", "'x'", "Traceback (most recent call last):\n  TB-deep")
RUN = RunView(
    id="r1",
    environment="production",
    repository="hello",
    target="main",
    state="failed",
    idempotency_key=None,
    created_at=10.0,
    completed_at=12.0,
    steps=[
        step("r1:1", "main", None, execution("r1:1:1", "failed", ROOT_ERROR)),
        step(
            "r1:2",
            "fetch",
            "r1:1:1",
            execution("r1:2:1", "succeeded", protocol.Succeeded(value=value(1))),
        ),
        step("r1:3", "parse", "r1:1:1", execution("r1:3:1", "failed", ROOT_ERROR)),
        step(
            "r1:4",
            "lookup",
            "r1:3:1",
            execution("r1:4:1", "failed", DEEP_ERROR),
            execution("r1:4:2", "failed", DEEP_ERROR),
        ),
    ],
)


def result(state: str, outcome: protocol.Outcome | None = None) -> dict[str, object]:
    return {"run_id": "r1", "state": state, "outcome": msgspec.to_builtins(outcome)}


@pytest.fixture
def api() -> FakeApi:
    fake = FakeApi()
    fake.on("POST", RUNS, {"run_id": "r1", "created": True}, status=201)
    return fake


# --- submit ----------------------------------------------------------------------------


def test_submit_prints_the_run_id(api: FakeApi) -> None:
    result_ = api.invoke(
        "--project", "p", "submit", "hello", "main", '"world"', "[1, 2]", "--idempotency-key", "k"
    )
    assert (result_.exit_code, result_.stdout) == (0, "r1\n")
    body = msgspec.json.decode(api.requests[0].content)
    assert body["arguments"] == [
        msgspec.to_builtins(from_json("world")),
        msgspec.to_builtins(from_json([1, 2])),
    ]
    assert body["idempotency_key"] == "k"
    assert body["environment"] == "production"


def test_submit_wait_prints_only_the_result(api: FakeApi) -> None:
    outcome = protocol.Succeeded(value=value({"a": [1, {"$": "tuple", "v": [2, 3]}]}))
    api.on("GET", f"{RUNS}/r1/result", result("assigned"), result("succeeded", outcome))
    result_ = api.invoke("--project", "p", "submit", "hello", "main", "--wait")
    assert result_.exit_code == 0, result_.output
    assert result_.stdout == '{"a": [1, [2, 3]]}\n'
    assert "r1" in result_.stderr
    assert [r.url.params["wait"] for r in api.requests[1:]] == ["60.0", "60.0"]


def test_a_failed_run_reports_the_deepest_failure(api: FakeApi) -> None:
    api.on("GET", f"{RUNS}/r1/result", result("failed", ROOT_ERROR))
    api.on("GET", f"{RUNS}/r1", RUN)
    result_ = api.invoke("--project", "p", "submit", "hello", "main", "--wait")
    assert result_.exit_code == 1
    assert result_.stdout == ""
    lines = result_.stderr.splitlines()
    assert lines[1] == "error: run r1 failed: ValueError: bad"
    assert lines[2] == "failing step: r1:4 (hello.lookup), execution r1:4:2"
    assert lines[3] == "raised there: KeyError: 'x'"
    assert lines[-1] == "  TB-deep"


@pytest.mark.parametrize(
    ("outcome", "message"),
    [(protocol.Cancelled(), "was cancelled"), (protocol.Abandoned(), "was abandoned")],
)
def test_cancelled_and_abandoned_runs_exit_1(
    api: FakeApi, outcome: protocol.Outcome, message: str
) -> None:
    api.on("GET", f"{RUNS}/r1/result", result("cancelled", outcome))
    result_ = api.invoke("--project", "p", "runs", "result", "r1")
    assert (result_.exit_code, result_.stdout) == (1, "")
    assert message in result_.stderr


def test_result_of_an_unfinished_run_without_wait(api: FakeApi) -> None:
    api.on("GET", f"{RUNS}/r1/result", result("assigned"))
    result_ = api.invoke("--project", "p", "runs", "result", "r1")
    assert result_.exit_code == 1
    assert "has not finished (state: assigned)" in one_error_line(result_)


# --- follow -----------------------------------------------------------------------------


def _step_created(step_id: str, target: str) -> StepCreated:
    return StepCreated(
        step_id=step_id,
        run_id="r1",
        number=2,
        parent_execution_id="r1:1:1",
        call_index=0,
        repository="hello",
        target=target,
        type="task",
        arguments=(),
        options=protocol.TargetOptions(),
        at=11.0,
    )


LIVE_RUN = RunView(
    id="r1",
    environment="production",
    repository="hello",
    target="main",
    state="assigned",
    idempotency_key=None,
    created_at=10.0,
    completed_at=None,
    steps=[step("r1:1", "main", None, execution("r1:1:1", "assigned", completed=None))],
)
FACTS = [
    _step_created("r1:2", "fetch"),
    ExecutionCreated(
        execution_id="r1:2:1",
        step_id="r1:2",
        run_id="r1",
        attempt=1,
        environment_id="e",
        due_at=11.0,
        at=11.0,
    ),
    ExecutionTransitioned(
        execution_id="r1:2:1", run_id="r1", state=ExecutionState.QUEUED, session_id=None, at=11.0
    ),
    ExecutionTransitioned(
        execution_id="r1:1:1", run_id="r1", state=ExecutionState.ASSIGNED, session_id="s", at=11.0
    ),
    ExecutionTransitioned(
        execution_id="r1:2:1", run_id="r1", state=ExecutionState.SUCCEEDED, session_id="s", at=11.5
    ),
    ExecutionTransitioned(
        execution_id="r1:1:1", run_id="r1", state=ExecutionState.SUCCEEDED, session_id="s", at=12.0
    ),
]


def test_step_tracker_prints_each_change_once() -> None:
    tracker = StepTracker()
    lines = tracker.apply(RunSnapshot(LIVE_RUN)) + tracker.apply(RunFacts(list(FACTS)))  # type: ignore[arg-type]
    assert lines == [
        "r1:1  hello.main  assigned",
        "r1:2  hello.fetch  queued",
        "r1:2  hello.fetch  succeeded",
        "r1:1  hello.main  succeeded",
    ]


@pytest.fixture
def live_server() -> Iterator[tuple[str, list[object]]]:
    """A live endpoint speaking the server's own message records, in a thread."""
    subscriptions: list[object] = []

    def handler(ws: ServerConnection) -> None:
        subscriptions.append(json.loads(ws.recv()))
        encode = msgspec.json.encode
        ws.send(encode(WireSnapshot(LIVE_RUN)))
        ws.send(encode(FactsMessage("run", FACTS[:3])))
        ws.send(encode({"topic": "run", "facts": [{"fact": "some_new_kind", "x": 1}]}))
        ws.send(encode(FactsMessage("run", FACTS[3:])))
        ws.send(encode(RunEnded()))

    with serve(handler, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"127.0.0.1:{server.socket.getsockname()[1]}", subscriptions
        server.shutdown()
        thread.join(5)


def test_submit_follow_shows_steps_then_the_result(
    api: FakeApi, live_server: tuple[str, list[object]]
) -> None:
    host, subscriptions = live_server
    api.on("GET", f"{RUNS}/r1/result", result("succeeded", protocol.Succeeded(value=value("ok"))))
    result_ = api.invoke("--host", host, "--project", "p", "submit", "hello", "main", "--follow")
    assert result_.exit_code == 0, result_.output
    assert result_.stdout == '"ok"\n'
    assert subscriptions == [{"subscribe": "run", "project": "p", "run_id": "r1"}]
    assert "r1:2  hello.fetch  succeeded" in result_.stderr.splitlines()


def test_follow_falls_back_to_waiting(api: FakeApi) -> None:
    api.on("GET", f"{RUNS}/r1/result", result("succeeded", protocol.Succeeded(value=value(3))))
    result_ = api.invoke(
        "--host", "127.0.0.1:1", "--project", "p", "submit", "hello", "main", "--follow"
    )
    assert (result_.exit_code, result_.stdout) == (0, "3\n")
    assert "cannot follow run r1 live" in result_.stderr


# --- runs ---------------------------------------------------------------------------------


def test_runs_inspect_json_has_the_documented_shape(api: FakeApi) -> None:
    api.on("GET", f"{RUNS}/r1", RUN)
    result_ = api.invoke("--project", "p", "runs", "inspect", "r1", "--json")
    assert result_.exit_code == 0
    data = json.loads(result_.stdout)
    assert data["id"] == "r1"
    first = data["steps"][1]
    assert {k: first[k] for k in ("id", "repository", "target", "parent_execution")} == {
        "id": "r1:2",
        "repository": "hello",
        "target": "fetch",
        "parent_execution": "r1:1:1",
    }
    keys = {"id", "attempt", "state", "environment", "created_at", "assigned_at", "completed_at"}
    assert keys <= set(first["executions"][0])


def test_runs_inspect_draws_the_call_tree(api: FakeApi) -> None:
    # The tree reads the outline (a full view decodes as one: it has every field).
    api.on("GET", f"{RUNS}/r1/outline", RUN)
    result_ = api.invoke("--project", "p", "runs", "inspect", "r1")
    lines = result_.stdout.splitlines()
    assert lines[0].startswith("run r1  hello.main  failed")
    assert lines[1:] == [
        "  r1:1  hello.main  failed  1.50s",
        "    r1:2  hello.fetch  succeeded  1.50s",
        "    r1:3  hello.parse  failed  1.50s",
        "      r1:4  hello.lookup  failed  1.50s  (attempt 2)",
    ]


def test_runs_list_filters_by_the_environment(api: FakeApi) -> None:
    summary = {
        "id": "r1",
        "environment": "dev",
        "repository": "hello",
        "target": "main",
        "state": "succeeded",
        "created_at": 10.0,
        "completed_at": 11.0,
    }
    api.on("GET", RUNS, [summary])
    result_ = api.invoke(
        "--project", "p", "--environment", "dev", "runs", "list", "--target", "main"
    )
    assert result_.exit_code == 0
    assert result_.stdout.splitlines()[0].split() == ["ID", "TARGET", "STATE", "CREATED"]
    assert result_.stdout.splitlines()[1].split()[:3] == ["r1", "hello.main", "succeeded"]
    params = api.requests[-1].url.params
    assert (params["environment"], params["target"]) == ("dev", "main")


def test_runs_cancel_tells_runs_from_executions(api: FakeApi) -> None:
    api.on("POST", f"{RUNS}/r1/cancel", {"cancelled": ["r1:1:1", "r1:2:1"]})
    api.on("POST", "/api/projects/p/executions/r1:2:1/cancel", {"cancelled": ["r1:2:1"]})
    result_ = api.invoke("--project", "p", "runs", "cancel", "r1")
    assert (result_.exit_code, result_.stdout) == (0, "r1:1:1\nr1:2:1\n")
    result_ = api.invoke("--project", "p", "runs", "cancel", "r1:2:1")
    assert (result_.exit_code, result_.stdout) == (0, "r1:2:1\n")


def test_rerun_surfaces_the_server_error(api: FakeApi) -> None:
    result_ = api.invoke("--project", "p", "runs", "rerun", "r1:2")
    assert result_.exit_code == 1
    assert "no route" in one_error_line(result_)


def log(id_: int, execution_id: str, template: str, **values: protocol.Value) -> LogView:
    return LogView(
        id=id_,
        run_id="r1",
        execution_id=execution_id,
        timestamp=10.0 + id_,
        level="info",
        template=template,
        values=values,
    )


LOGS = [
    log(
        1,
        "r1:1:1",
        "hello {name} {pair} {missing}",
        name=value("bob"),
        pair=value({"$": "tuple", "v": [1, 2]}),
    ),
    log(2, "r1:2:1", "fetched"),
]


def test_render_template() -> None:
    assert render_message(LOGS[0].template, LOGS[0].values) == "hello bob [1, 2] {missing}"


def test_runs_logs_prints_time_step_level_message(api: FakeApi) -> None:
    api.on("GET", f"{RUNS}/r1/logs", {"logs": LOGS, "cursor": 2}, {"logs": [], "cursor": 2})
    result_ = api.invoke("--project", "p", "runs", "logs", "r1")
    assert result_.exit_code == 0
    lines = [line.split("  ", 1)[1] for line in result_.stdout.splitlines()]
    assert lines == ["r1:1  info  hello bob [1, 2] {missing}", "r1:2  info  fetched"]
    assert api.requests[-1].url.params["after"] == "2"


def test_runs_logs_step_filter_and_json(api: FakeApi) -> None:
    api.on("GET", f"{RUNS}/r1/logs", {"logs": LOGS, "cursor": 2}, {"logs": [], "cursor": 2})
    result_ = api.invoke("--project", "p", "runs", "logs", "r1", "--step", "r1:2", "--json")
    assert result_.exit_code == 0
    data = json.loads(result_.stdout)
    assert [(entry["step_id"], entry["message"]) for entry in data] == [("r1:2", "fetched")]


def test_runs_logs_follow_stops_when_the_run_has_ended(api: FakeApi) -> None:
    empty = {"logs": [], "cursor": 2}
    api.on("GET", f"{RUNS}/r1/logs", {"logs": LOGS, "cursor": 2}, empty)
    api.on("GET", f"{RUNS}/r1/result", result("succeeded", protocol.Succeeded(value=value(1))))
    result_ = api.invoke("--project", "p", "runs", "logs", "r1", "--follow")
    assert result_.exit_code == 0
    assert len(result_.stdout.splitlines()) == 2
    waits = [r.url.params.get("wait") for r in api.requests if r.url.path.endswith("/logs")]
    assert waits == ["60.0", "60.0", None]
