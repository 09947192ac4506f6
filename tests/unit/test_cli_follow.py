"""``--follow``'s displays: a line per change for a small run in a pipe, summaries
past ``LINE_LIMIT`` steps, and the live display's counts and bars on a terminal."""

from __future__ import annotations

import io

import msgspec
from rich.console import Console

from coflux import protocol
from coflux.cli.follow import LINE_LIMIT, SUMMARY_INTERVAL, LiveDisplay, PipeDisplay, StepTracker
from coflux.client.live import RunFacts, RunSnapshot
from coflux.orchestration.effects import (
    ExecutionCreated,
    ExecutionTransitioned,
    Fact,
    MetricsRecorded,
    StepCreated,
)
from coflux.orchestration.states import ExecutionState
from coflux.views import RunView
from tests.unit.test_cli_runs import execution, step

Q = ExecutionState
ROOT = RunView(
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


def child(number: int, attempt: int = 1) -> list[Fact]:
    step_id = f"r1:{number}"
    created: list[Fact] = [
        ExecutionCreated(
            execution_id=f"{step_id}:{attempt}", step_id=step_id, run_id="r1", attempt=attempt,
            environment_id="e", due_at=11.0, at=11.0,
        ),
        moved(f"{step_id}:{attempt}", Q.QUEUED),
    ]  # fmt: skip
    if attempt > 1:
        return created
    new_step = StepCreated(
        step_id=step_id, run_id="r1", number=number, parent_execution_id="r1:1:1",
        call_index=number, repository="hello", target="leaf", type="task", arguments=(),
        options=protocol.TargetOptions(), at=11.0,
    )  # fmt: skip
    return [new_step, *created]


def moved(execution_id: str, state: ExecutionState) -> ExecutionTransitioned:
    return ExecutionTransitioned(
        execution_id=execution_id, run_id="r1", state=state, session_id=None, at=12.0
    )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fan_out(width: int) -> tuple[StepTracker, PipeDisplay, list[str], Clock]:
    """A pipe's display of a run whose root calls ``width`` steps, one fact batch each."""
    tracker, written, clock = StepTracker(), [], Clock()
    display = PipeDisplay(tracker, written.append, clock)
    display.show(tracker.apply(RunSnapshot(ROOT)))
    for number in range(2, width + 2):
        display.show(tracker.apply(RunFacts(child(number))))
    return tracker, display, written, clock


def finish(tracker: StepTracker, display: PipeDisplay, width: int) -> None:
    for number in range(2, width + 2):
        for state in (Q.ASSIGNED, Q.SUCCEEDED):
            display.show(tracker.apply(RunFacts([moved(f"r1:{number}:1", state)])))
    display.show(tracker.apply(RunFacts([moved("r1:1:1", Q.SUCCEEDED)])))
    display.close()


def test_a_small_run_in_a_pipe_gets_a_line_per_change_and_no_summary() -> None:
    tracker, display, written, _ = fan_out(3)
    finish(tracker, display, 3)
    assert written[:3] == ["r1:1  hello.main  assigned", "r1:2  hello.leaf  queued", "r1:3  hello.leaf  queued"]  # fmt: skip
    assert len(written) == 1 + 3 * 3 + 1  # each change, once
    assert written[-1] == "r1:1  hello.main  succeeded"


def test_a_large_run_in_a_pipe_gets_summaries_instead() -> None:
    width = 600
    tracker, display, written, clock = fan_out(width)
    # A line per change until the run passed LINE_LIMIT steps, then a note and a summary.
    assert len(written) == LINE_LIMIT + 2
    assert written[-2].startswith(f"(more than {LINE_LIMIT} steps")
    assert written[-1] == f"0/{LINE_LIMIT + 1} steps finished: {LINE_LIMIT} queued, 1 assigned"
    clock.now += SUMMARY_INTERVAL  # then at most one summary per interval
    finish(tracker, display, width)
    assert len(written) == LINE_LIMIT + 4
    assert written[-2] == f"0/{width + 1} steps finished: {width - 1} queued, 2 assigned"
    assert written[-1] == f"{width + 1}/{width + 1} steps finished: {width + 1} succeeded"


def test_a_summary_is_not_repeated_when_nothing_changed() -> None:
    _, display, written, clock = fan_out(LINE_LIMIT + 5)
    clock.now += SUMMARY_INTERVAL
    display.show([])  # the steps created since the last summary
    assert written[-1] == f"0/{LINE_LIMIT + 6} steps finished: {LINE_LIMIT + 5} queued, 1 assigned"
    count = len(written)
    clock.now += SUMMARY_INTERVAL
    display.show([])
    assert len(written) == count  # the same counts: not printed again
    display.close()
    assert len(written) == count


def test_a_retried_step_counts_as_its_latest_attempt() -> None:
    tracker, _, _, _ = fan_out(2)
    tracker.apply(RunFacts([moved("r1:2:1", Q.FAILED), *child(2, attempt=2)]))
    tracker.apply(RunFacts([moved("r1:3:1", Q.FAILED)]))
    assert tracker.summary() == "1/3 steps finished: 1 queued, 1 assigned, 1 failed"


def test_the_summary_says_why_steps_are_queued() -> None:
    tracker, display, written, clock = fan_out(LINE_LIMIT + 1)
    why = "every agent that can run it is full"
    queued = [
        step(f"r1:{n}", "leaf", "r1:1:1", execution(f"r1:{n}:1", "queued"))
        for n in range(2, LINE_LIMIT + 3)
    ]
    steps = [
        msgspec.structs.replace(
            s, executions=[msgspec.structs.replace(e, queued_reason=why) for e in s.executions]
        )
        for s in queued
    ]
    clock.now += SUMMARY_INTERVAL
    display.show(tracker.reasons(msgspec.structs.replace(ROOT, steps=steps)))
    assert written[-1].endswith(f"({LINE_LIMIT + 1} queued: {why})")


def test_the_live_display_counts_states_and_draws_bars() -> None:
    tracker, _, _, _ = fan_out(4)
    tracker.apply(RunFacts([moved("r1:2:1", Q.ASSIGNED), moved("r1:2:1", Q.SUCCEEDED)]))
    scale = protocol.MetricScaleInfo(progress=True, upper=10.0)
    definition = protocol.MetricDefinition(key="progress", scale=scale)
    series = protocol.MetricSeries(key="progress", points=((4.0, 1.0),))
    tracker.apply(
        RunFacts([
            moved("r1:3:1", Q.ASSIGNED),
            MetricsRecorded(
                execution_id="r1:3:1", run_id="r1", definitions=(definition,), series=(series,),
                at=12.0,
            ),
        ])
    )  # fmt: skip
    display = LiveDisplay(tracker, "r1")
    display.live.stop()
    screen = Console(file=io.StringIO(), width=120, color_system=None)
    screen.print(display._render())
    drawn = screen.file.getvalue()  # type: ignore[attr-defined]
    assert "1/5 steps finished" in drawn
    assert "2 queued  2 assigned  1 succeeded" in drawn
    assert "r1:3  hello.leaf" in drawn and "40%" in drawn  # the progress metric's bar
    assert "r1:3  hello.leaf  assigned" in drawn  # among the last changes
