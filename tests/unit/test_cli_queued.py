"""The CLI says why a queued step waits: in ``runs inspect``'s tree and in ``--follow``."""

from __future__ import annotations

import msgspec

from coflux.cli.follow import StepTracker
from coflux.cli.render import run_tree
from coflux.client.live import RunSnapshot
from coflux.views import RunView
from tests.unit.test_cli_runs import execution, step

WHY = "no agent that hosts hello.render provides gpu=A100"


def queued_run(reason: str | None) -> RunView:
    queued = msgspec.structs.replace(
        execution("r1:2:1", "queued", completed=None), queued_reason=reason
    )
    return RunView(
        id="r1", environment="production", repository="hello", target="main", state="assigned",
        idempotency_key=None, created_at=10.0, completed_at=None,
        steps=[
            step("r1:1", "main", None, execution("r1:1:1", "assigned", completed=None)),
            step("r1:2", "render", "r1:1:1", queued),
        ],
    )  # fmt: skip


def test_the_tree_shows_why_a_queued_step_waits() -> None:
    assert list(run_tree(queued_run(WHY)))[1:] == [
        "  r1:1  hello.main  assigned  -",
        f"    r1:2  hello.render  queued  -  ({WHY})",
    ]
    assert list(run_tree(queued_run(None)))[2] == "    r1:2  hello.render  queued  -"


def test_follow_says_why_once_per_reason_while_the_step_is_queued() -> None:
    tracker = StepTracker()
    lines = tracker.apply(RunSnapshot(queued_run(WHY)))
    assert lines[-1] == f"r1:2  hello.render  queued: {WHY}"
    assert tracker.queued
    assert tracker.reasons(queued_run(WHY)) == []  # said already
    full = "every agent that can run it is full"
    assert tracker.reasons(queued_run(full)) == [f"r1:2  hello.render  queued: {full}"]
    assert tracker.reasons(queued_run(None)) == []
