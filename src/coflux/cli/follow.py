"""``--follow``: a run's steps, live, one line per state change on stderr."""

from __future__ import annotations

import asyncio

from coflux.cli.config import Config
from coflux.cli.output import info
from coflux.client.live import LiveEvent, RunFacts, RunSnapshot, subscribe_run
from coflux.errors import CofluxError
from coflux.orchestration.effects import ExecutionCreated, ExecutionTransitioned, StepCreated
from coflux.views import RunView


class StepTracker:
    """Turns a snapshot and facts into ``step-id  repository.target  state`` lines.

    Remembers the last state shown per execution, because the server may send
    a fact that the snapshot already contained.
    """

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}  # step id -> repository.target
        self._steps: dict[str, str] = {}  # execution id -> step id
        self._shown: dict[str, str] = {}  # execution id -> last state shown

    def apply(self, event: LiveEvent) -> list[str]:
        match event:
            case RunSnapshot(run=run):
                return self._snapshot(run)
            case RunFacts(facts=facts):
                lines: list[str] = []
                for fact in facts:
                    match fact:
                        case StepCreated():
                            self._labels[fact.step_id] = f"{fact.repository}.{fact.target}"
                        case ExecutionCreated():
                            self._steps[fact.execution_id] = fact.step_id
                        case ExecutionTransitioned():
                            lines.extend(self._change(fact.execution_id, fact.state.value))
                        case _:
                            pass  # outcomes: the final result is reported after the run
                return lines

    def _snapshot(self, run: RunView) -> list[str]:
        lines: list[str] = []
        for step in run.steps:
            self._labels[step.id] = f"{step.repository}.{step.target}"
            for execution in step.executions:
                self._steps[execution.id] = step.id
                lines.extend(self._change(execution.id, execution.state))
        return lines

    def _change(self, execution_id: str, state: str) -> list[str]:
        if self._shown.get(execution_id) == state:
            return []
        self._shown[execution_id] = state
        step_id = self._steps.get(execution_id, execution_id.rsplit(":", 1)[0])
        return [f"{step_id}  {self._labels.get(step_id, '?')}  {state}"]


async def _follow(config: Config, project: str, run_id: str) -> None:
    tracker = StepTracker()
    async for event in subscribe_run(config.host, config.token, project, run_id):
        for line in tracker.apply(event):
            info(line)


def follow(config: Config, project: str, run_id: str) -> None:
    """Show the run's steps until it ends; if live updates fail, say so and return."""
    try:
        asyncio.run(_follow(config, project, run_id))
    except CofluxError as e:
        info(f"warning: cannot follow run {run_id} live ({e}); waiting for its result")
