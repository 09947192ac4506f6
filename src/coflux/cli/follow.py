"""``--follow``: a run's steps, live, one line per state change on stderr.

A step that stays queued gets a line saying why (no agent hosts its target or
provides a tag it requires, every agent that could run it is full, ...): that is
not a fact the live topic sends, so while something is queued the run's outline
is read every ``REASON_INTERVAL`` seconds for its ``queued_reason``s.

A step recording a progress metric (``cf.progress``) gets a progress bar, a line
each time it passes another tenth (``PROGRESS_STEPS``). Definitions recorded
before the subscription are not in its facts: when the snapshot shows a started
execution, the run's metrics are read once.
"""

from __future__ import annotations

import asyncio
import contextlib

from coflux import protocol
from coflux.cli.config import Config
from coflux.cli.output import info
from coflux.cli.render import progress_bar, progress_share, state_label, step_label
from coflux.client.live import LiveEvent, RunFacts, RunSnapshot, subscribe_run
from coflux.errors import CofluxError
from coflux.orchestration.effects import (
    ExecutionCreated,
    ExecutionTransitioned,
    MetricsRecorded,
    StepCreated,
)
from coflux.views import MetricView, RunOutline, RunView

REASON_INTERVAL = 2.0
PROGRESS_STEPS = 10  # a progress bar's line is shown again at each tenth


class StepTracker:
    """Turns a snapshot and facts into ``step-id  repository.target  state`` lines
    (with the step's ``cf.group``, if any, after its target).

    Remembers the last state shown per execution, because the server may send
    a fact that the snapshot already contained.
    """

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}  # step id -> repository.target
        self._steps: dict[str, str] = {}  # execution id -> step id
        self._shown: dict[str, str] = {}  # execution id -> last state shown
        self._reasons: dict[str, str] = {}  # queued execution id -> last reason shown
        # (execution id, key) -> the scale of each progress metric, and its last step shown
        self._progress: dict[tuple[str, str], protocol.MetricScaleInfo] = {}
        self._progress_shown: dict[tuple[str, str], int] = {}

    def apply(self, event: LiveEvent) -> list[str]:
        match event:
            case RunSnapshot(run=run):
                return self._snapshot(run)
            case RunFacts(facts=facts):
                lines: list[str] = []
                for fact in facts:
                    match fact:
                        case StepCreated():
                            self._labels[fact.step_id] = step_label(
                                fact.repository, fact.target, fact.group
                            )
                        case ExecutionCreated():
                            self._steps[fact.execution_id] = fact.step_id
                        case ExecutionTransitioned():
                            lines.extend(self._change(fact.execution_id, fact.state.value))
                        case MetricsRecorded():
                            lines.extend(self._metrics(fact))
                        case _:
                            pass  # outcomes: the final result is reported after the run
                return lines

    @property
    def started(self) -> bool:
        """Whether some execution was last shown other than queued (it may record)."""
        return any(state != "queued" for state in self._shown.values())

    def metrics(self, metrics: list[MetricView]) -> list[str]:
        """Progress bars for the progress metrics recorded so far (read from the API)."""
        lines: list[str] = []
        for metric in metrics:
            if metric.scale is not None and metric.scale.progress:
                self._progress[(metric.execution_id, metric.key)] = metric.scale
                if metric.value is not None:
                    lines.extend(self._progress_line(metric.execution_id, metric.key, metric.value))
        return lines

    def _metrics(self, fact: MetricsRecorded) -> list[str]:
        for definition in fact.definitions:
            if definition.scale is not None and definition.scale.progress:
                self._progress[(fact.execution_id, definition.key)] = definition.scale
        lines: list[str] = []
        for series in fact.series:
            if series.points and (fact.execution_id, series.key) in self._progress:
                value = series.points[-1][0]
                lines.extend(self._progress_line(fact.execution_id, series.key, value))
        return lines

    def _progress_line(self, execution_id: str, key: str, value: float) -> list[str]:
        scale = self._progress[(execution_id, key)]
        share = progress_share(value, scale)
        bar = progress_bar(value, scale)
        if share is None or bar is None:
            return []
        step = int(share * PROGRESS_STEPS)
        if self._progress_shown.get((execution_id, key)) == step:
            return []
        self._progress_shown[(execution_id, key)] = step
        label = "" if key == "progress" else f"{key} "
        return [f"{self._line(execution_id, None)}  {label}{bar}"]

    @property
    def queued(self) -> bool:
        """Whether some execution was last shown queued."""
        return "queued" in self._shown.values()

    def reasons(self, run: RunOutline | RunView) -> list[str]:
        """Lines for queued executions whose reason is new (one per change)."""
        lines: list[str] = []
        for step in run.steps:
            for execution in step.executions:
                reason = execution.queued_reason
                if reason is None or self._shown.get(execution.id) != "queued":
                    continue
                if self._reasons.get(execution.id) != reason:
                    self._reasons[execution.id] = reason
                    lines.append(f"{self._line(execution.id, 'queued')}: {reason}")
        return lines

    def _snapshot(self, run: RunView) -> list[str]:
        lines: list[str] = []
        for step in run.steps:
            self._labels[step.id] = step_label(step.repository, step.target, step.group)
            for execution in step.executions:
                self._steps[execution.id] = step.id
                lines.extend(self._change(execution.id, execution.state))
        return lines + self.reasons(run)

    def _change(self, execution_id: str, state: str) -> list[str]:
        if self._shown.get(execution_id) == state:
            return []
        self._shown[execution_id] = state
        self._reasons.pop(execution_id, None)
        return [self._line(execution_id, state)]

    def _line(self, execution_id: str, state: str | None) -> str:
        step_id = self._steps.get(execution_id, execution_id.rsplit(":", 1)[0])
        line = f"{step_id}  {self._labels.get(step_id, '?')}"
        return line if state is None else f"{line}  {state_label(state)}"


async def _follow(config: Config, project: str, run_id: str) -> None:
    tracker = StepTracker()
    explaining = asyncio.create_task(_explain_queued(config, project, run_id, tracker))
    try:
        async for event in subscribe_run(config.host, config.token, project, run_id):
            for line in tracker.apply(event):
                info(line)
            if isinstance(event, RunSnapshot) and tracker.started:
                metrics = await asyncio.to_thread(_read_metrics, config, project, run_id)
                for line in tracker.metrics(metrics):
                    info(line)
    finally:
        explaining.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await explaining


def _read_metrics(config: Config, project: str, run_id: str) -> list[MetricView]:
    from coflux.client import Client  # only when the run had started when followed

    try:
        with Client(config.host, config.token) as client:
            return client.list_metrics(project, run_id)
    except CofluxError:
        return []  # the live updates go on without the bars recorded before them


async def _explain_queued(config: Config, project: str, run_id: str, tracker: StepTracker) -> None:
    """While something is queued, say why, as the server sees it."""
    from coflux.client import Client  # what a --follow without queued steps never loads

    with Client(config.host, config.token) as client:
        while True:
            await asyncio.sleep(REASON_INTERVAL)
            if not tracker.queued:
                continue
            try:
                outline = await asyncio.to_thread(client.get_run_outline, project, run_id)
            except CofluxError:
                continue  # the live updates go on; the next read may succeed
            for line in tracker.reasons(outline):
                info(line)


def follow(config: Config, project: str, run_id: str) -> None:
    """Show the run's steps until it ends; if live updates fail, say so and return."""
    try:
        asyncio.run(_follow(config, project, run_id))
    except CofluxError as e:
        info(f"warning: cannot follow run {run_id} live ({e}); waiting for its result")
