"""How the CLI shows timeouts and groups: ``runs result``/``submit --wait`` of a run that
timed out, ``runs inspect``'s tree and ``--follow``'s lines."""

from __future__ import annotations

import msgspec
import pytest

from coflux import protocol
from coflux.cli.follow import StepTracker
from coflux.client.live import RunFacts, RunSnapshot
from coflux.orchestration.effects import ExecutionCreated, ExecutionTransitioned, StepCreated
from coflux.orchestration.states import ExecutionState
from coflux.views import RunView
from tests.unit.test_cli import FakeApi
from tests.unit.test_cli_runs import RUNS, execution, failed, result, step

TIMED_OUT = protocol.TimedOut(timeout=2.5)
CHAPTERS = protocol.Group(index=0, name="Process chapters")


def run(state: str, *steps: object) -> RunView:
    return RunView(
        id="r1",
        environment="production",
        repository="hello",
        target="main",
        state=state,
        idempotency_key=None,
        created_at=10.0,
        completed_at=12.0,
        steps=list(steps),  # type: ignore[arg-type]
    )


TIMED_OUT_RUN = run(
    "timed_out",
    step(
        "r1:1",
        "main",
        None,
        *(execution(f"r1:1:{n}", "timed_out", TIMED_OUT) for n in (1, 2, 3)),
    ),
    step("r1:2", "fetch", "r1:1:3", execution("r1:2:1", "cancelled", protocol.Cancelled())),
)

TIMEOUT_ERROR = failed(
    "coflux.errors.ExecutionTimeout", "execution r1:2:1 timed out (after 1 s)", "Traceback (root)"
)
CHILD_TIMED_OUT_RUN = run(
    "failed",
    step("r1:1", "main", None, execution("r1:1:1", "failed", TIMEOUT_ERROR)),
    step("r1:2", "slow", "r1:1:1", execution("r1:2:1", "timed_out", protocol.TimedOut(1.0))),
)


@pytest.fixture
def api() -> FakeApi:
    fake = FakeApi()
    fake.on("POST", RUNS, {"run_id": "r1", "created": True}, status=201)
    return fake


def test_a_run_that_timed_out_says_so_and_exits_1(api: FakeApi) -> None:
    api.on("GET", f"{RUNS}/r1/result", result("timed_out", TIMED_OUT))
    api.on("GET", f"{RUNS}/r1", TIMED_OUT_RUN)
    for command in (("runs", "result", "r1"), ("submit", "hello", "main", "--wait")):
        done = api.invoke("--project", "p", *command)
        assert (done.exit_code, done.stdout) == (1, "")
        lines = [line for line in done.stderr.splitlines() if line.startswith(("error", "fail"))]
        assert lines == [
            "error: run r1 timed out after 2.5 s",
            "failing step: r1:1 (hello.main), execution r1:1:3 (3 attempts timed out)",
        ]


def test_the_timeout_is_reported_even_if_the_run_cannot_be_read(api: FakeApi) -> None:
    api.on("GET", f"{RUNS}/r1/result", result("timed_out", TIMED_OUT))
    api.error("GET", f"{RUNS}/r1", 503, "unavailable", "try later")
    done = api.invoke("--project", "p", "runs", "result", "r1")
    assert (done.exit_code, done.stderr) == (1, "error: run r1 timed out after 2.5 s\n")


def test_a_failure_that_started_with_a_childs_timeout_points_at_the_child(api: FakeApi) -> None:
    api.on("GET", f"{RUNS}/r1/result", result("failed", TIMEOUT_ERROR))
    api.on("GET", f"{RUNS}/r1", CHILD_TIMED_OUT_RUN)
    done = api.invoke("--project", "p", "runs", "result", "r1")
    assert done.exit_code == 1
    lines = done.stderr.splitlines()
    assert lines[0] == (
        "error: run r1 failed: coflux.errors.ExecutionTimeout: execution r1:2:1 timed out"
        " (after 1 s)"
    )
    assert lines[1:3] == [
        "failing step: r1:2 (hello.slow), execution r1:2:1",
        "timed out there after 1 s",
    ]


def test_runs_inspect_shows_timed_out_and_groups(api: FakeApi) -> None:
    grouped = msgspec.structs.replace(
        step("r1:2", "fetch", "r1:1:1", execution("r1:2:1", "timed_out", TIMED_OUT)),
        group=CHAPTERS,
    )
    unnamed = msgspec.structs.replace(
        step("r1:3", "fetch", "r1:1:1", execution("r1:3:1", "succeeded")),
        group=protocol.Group(index=1),
    )
    outline = run(
        "timed_out", step("r1:1", "main", None, execution("r1:1:1", "timed_out")), grouped, unnamed
    )
    api.on("GET", f"{RUNS}/r1/outline", outline)
    done = api.invoke("--project", "p", "runs", "inspect", "r1")
    lines = done.stdout.splitlines()
    assert lines[0].startswith("run r1  hello.main  timed out  ")
    assert lines[1:] == [
        "  r1:1  hello.main  timed out  1.50s",
        '    r1:2  hello.fetch  [group "Process chapters"]  timed out  1.50s',
        "    r1:3  hello.fetch  [group #1]  succeeded  1.50s",
    ]


def test_follow_shows_groups_and_timed_out() -> None:
    live = run("assigned", step("r1:1", "main", None, execution("r1:1:1", "assigned")))
    created = StepCreated(
        step_id="r1:2", run_id="r1", number=2, parent_execution_id="r1:1:1", call_index=0,
        repository="hello", target="fetch", type="task", arguments=(),
        options=protocol.TargetOptions(), at=11.0, group=CHAPTERS,
    )  # fmt: skip
    facts = [
        created,
        ExecutionCreated("r1:2:1", "r1:2", "r1", 1, "e", 11.0, 11.0),
        ExecutionTransitioned("r1:2:1", "r1", ExecutionState.QUEUED, None, 11.0),
        ExecutionTransitioned("r1:2:1", "r1", ExecutionState.TIMED_OUT, "s", 12.0),
    ]
    tracker = StepTracker()
    lines = tracker.apply(RunSnapshot(live)) + tracker.apply(RunFacts(facts))  # type: ignore[arg-type]
    assert lines == [
        "r1:1  hello.main  assigned",
        'r1:2  hello.fetch  [group "Process chapters"]  queued',
        'r1:2  hello.fetch  [group "Process chapters"]  timed out',
    ]
