"""``--follow``: a run's steps, live on stderr, until the run ends.

How it is shown depends on where stderr goes and on the run's size:

- A terminal: a live display (rich's ``Live``), redrawn as the facts arrive: the
  steps by state, a bar of finished / total steps, a bar per step that records
  progress (``cf.progress``), why steps are queued, and the last few changes.
  When the run ends the display gives way to a one-line summary.
- A pipe or a file, while the run has at most ``LINE_LIMIT`` steps: one line per
  step change (``step-id  repository.target  state``), the lines scripts and
  logs have always read.
- A pipe or a file, once the run has more than ``LINE_LIMIT`` steps: a line
  says so, then a summary line (finished / total, the steps by state) at most
  every ``SUMMARY_INTERVAL`` seconds when something changed, and one at the end.
  A 600-step fan-out prints a handful of lines, not one per change (~1,800).

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
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from coflux import protocol
from coflux.cli.config import Config
from coflux.cli.output import STATE_STYLES, info, is_terminal, live
from coflux.cli.render import progress_bar, progress_share, state_label, step_label
from coflux.client.live import LiveEvent, RunFacts, RunSnapshot, subscribe_run
from coflux.errors import CofluxError
from coflux.ids import step_of
from coflux.orchestration.effects import (
    ExecutionCreated,
    ExecutionTransitioned,
    MetricsRecorded,
    StepCreated,
)
from coflux.orchestration.states import ExecutionState
from coflux.views import MetricView, RunOutline, RunView

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.live import Live

REASON_INTERVAL = 2.0
PROGRESS_STEPS = 10  # a progress bar's line is shown again at each tenth
LINE_LIMIT = 50  # past this many steps, a pipe gets summaries, not a line per change
SUMMARY_INTERVAL = 5.0  # seconds between a pipe's summary lines, at the least
RECENT_CHANGES = 5  # the changes the live display lists
LIVE_BARS = 8  # the progress bars the live display draws, at most

# A step is finished when its latest execution is in one of these states; a
# suspended one will run again.
FINISHED = frozenset(
    s.value for s in ExecutionState if s.terminal and s is not ExecutionState.SUSPENDED
)
_ORDER = {s.value: i for i, s in enumerate(ExecutionState)}  # the states' order in summaries


class StepTracker:
    """Turns a snapshot and facts into ``step-id  repository.target  state`` lines
    (with the step's ``cf.group``, if any, after its target), and keeps what the
    summaries and the live display count: each step's latest state, the progress
    of each progress metric, the reasons steps are queued.

    Remembers the last state shown per execution, because the server may send
    a fact that the snapshot already contained.
    """

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}  # step id -> repository.target
        self._steps: dict[str, str] = {}  # execution id -> step id
        self._latest: dict[str, str] = {}  # step id -> its latest execution id
        self._shown: dict[str, str] = {}  # execution id -> last state shown
        self._reasons: dict[str, str] = {}  # queued execution id -> last reason shown
        # (execution id, key) -> the scale of each progress metric, its last step
        # shown and its latest value
        self._progress: dict[tuple[str, str], protocol.MetricScaleInfo] = {}
        self._progress_shown: dict[tuple[str, str], int] = {}
        self._progress_values: dict[tuple[str, str], float] = {}
        self.recent: deque[str] = deque(maxlen=RECENT_CHANGES)  # the last state changes

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
                            self._executes(fact.execution_id, fact.step_id)
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

    @property
    def step_count(self) -> int:
        return len(self._labels)

    def counts(self) -> Counter[str]:
        """Steps by the state of their latest execution (queued before it has one)."""
        return Counter(
            self._shown.get(self._latest.get(step_id, ""), "queued") for step_id in self._labels
        )

    def summary(self) -> str:
        """``12/600 steps finished: 2 assigned, 586 queued, 12 succeeded``."""
        counts = self.counts()
        finished = sum(n for state, n in counts.items() if state in FINISHED)
        by_state = ", ".join(
            f"{counts[state]} {state_label(state)}"
            for state in sorted(counts, key=lambda s: _ORDER.get(s, len(_ORDER)))
        )
        return f"{finished}/{self.step_count} steps finished: {by_state}"

    def queued_reasons(self) -> Counter[str]:
        """Why the queued steps wait: each reason with the number of its executions."""
        return Counter(
            reason for execution_id, reason in self._reasons.items()
            if self._shown.get(execution_id) == "queued"
        )  # fmt: skip

    def progress(self) -> list[tuple[str, float]]:
        """Each progress metric with a range: (label, share from 0 to 1), newest last."""
        found: list[tuple[str, float]] = []
        for (execution_id, key), value in self._progress_values.items():
            scale = self._progress[(execution_id, key)]
            share = progress_share(value, scale)
            if share is not None:
                label = self._line(execution_id, None) + ("" if key == "progress" else f" {key}")
                found.append((label, share))
        return found

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
        self._progress_values.pop((execution_id, key), None)  # re-inserted: newest last
        self._progress_values[(execution_id, key)] = value
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
                self._executes(execution.id, step.id)
                lines.extend(self._change(execution.id, execution.state))
        return lines + self.reasons(run)

    def _executes(self, execution_id: str, step_id: str) -> None:
        self._steps[execution_id] = step_id
        self._latest[step_id] = execution_id  # attempts are created in order

    def _change(self, execution_id: str, state: str) -> list[str]:
        if self._shown.get(execution_id) == state:
            return []
        self._shown[execution_id] = state
        self._reasons.pop(execution_id, None)
        line = self._line(execution_id, state)
        self.recent.append(line)
        return [line]

    def _line(self, execution_id: str, state: str | None) -> str:
        step_id = self._steps.get(execution_id, step_of(execution_id))
        line = f"{step_id}  {self._labels.get(step_id, '?')}"
        return line if state is None else f"{line}  {state_label(state)}"


class Display(Protocol):
    """Where ``--follow`` shows the tracker's lines and counts (see the docstring)."""

    def show(self, lines: list[str]) -> None:
        """After each update of the tracker: its new lines."""

    def close(self) -> None:
        """The run has ended (or the live updates stopped)."""


class PipeDisplay:
    """Lines for a pipe or a file: one per change up to ``LINE_LIMIT`` steps, then
    a summary per ``SUMMARY_INTERVAL``, and at the end."""

    def __init__(
        self,
        tracker: StepTracker,
        write: Callable[[str], None] = info,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tracker = tracker
        self.write = write
        self.clock = clock
        self.summarising = False
        self._last_at = 0.0
        self._last_summary = ""

    def show(self, lines: list[str]) -> None:
        if not self.summarising and self.tracker.step_count > LINE_LIMIT:
            self.summarising = True
            self.write(
                f"(more than {LINE_LIMIT} steps: a summary every {SUMMARY_INTERVAL:g} s"
                " instead of a line per change)"
            )
            self._summarise()
        elif not self.summarising:
            for line in lines:
                self.write(line)
        elif self.clock() - self._last_at >= SUMMARY_INTERVAL:
            self._summarise()

    def _summarise(self) -> None:
        summary = self.tracker.summary()
        reasons = self.tracker.queued_reasons()
        if reasons:
            reason, count = reasons.most_common(1)[0]
            summary += f" ({count} queued: {reason})"
        if summary != self._last_summary:
            self.write(summary)
            self._last_summary = summary
        self._last_at = self.clock()

    def close(self) -> None:
        if self.summarising:
            summary = self.tracker.summary()
            if summary != self._last_summary:
                self.write(summary)


class LiveDisplay:
    """rich's live display on the terminal (stderr), redrawn at most ``FRAME`` apart."""

    FRAME = 0.1  # seconds: facts come in bursts; drawing each one costs more than it shows

    def __init__(self, tracker: StepTracker, run_id: str) -> None:
        self.tracker = tracker
        self.run_id = run_id
        self._drawn_at = 0.0
        self.live: Live = live()
        self.live.start()

    def show(self, lines: list[str]) -> None:
        now = time.monotonic()
        if now - self._drawn_at >= self.FRAME:
            self._drawn_at = now
            self.live.update(self._render(), refresh=True)

    def close(self) -> None:
        self.live.stop()
        if self.tracker.step_count:  # else the live updates failed before the snapshot
            info(f"run {self.run_id}: {self.tracker.summary()}")

    def _render(self) -> RenderableType:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        tracker = self.tracker
        counts = tracker.counts()
        finished = sum(n for state, n in counts.items() if state in FINISHED)
        head = Table.grid(padding=(0, 1))
        head.add_row(
            Text(f"run {self.run_id}", style="bold"),
            ProgressBar(total=max(tracker.step_count, 1), completed=finished, width=40),
            Text(f"{finished}/{tracker.step_count} steps finished"),
        )
        states = Text()
        for state in sorted(counts, key=lambda s: _ORDER.get(s, len(_ORDER))):
            states.append(f"{counts[state]} {state_label(state)}", STATE_STYLES.get(state, ""))
            states.append("  ")
        parts: list[RenderableType] = [head, states]
        bars = Table.grid(padding=(0, 1))
        for label, share in tracker.progress()[-LIVE_BARS:]:
            bar = ProgressBar(total=1.0, completed=share, width=30)
            bars.add_row(Text(label), bar, Text(f"{share * 100:.0f}%"))
        if bars.row_count:
            parts.append(bars)
        for reason, count in tracker.queued_reasons().most_common(3):
            parts.append(Text(f"{count} queued: {reason}", style=STATE_STYLES["queued"]))
        parts.extend(Text(line, style="dim") for line in tracker.recent)
        return Group(*parts)


async def _follow(config: Config, project: str, run_id: str) -> None:
    tracker = StepTracker()
    display: Display = (
        LiveDisplay(tracker, run_id) if is_terminal(err=True) else PipeDisplay(tracker)
    )
    explaining = asyncio.create_task(_explain_queued(config, project, run_id, tracker, display))
    try:
        async for event in subscribe_run(config.host, config.token, project, run_id):
            display.show(tracker.apply(event))
            if isinstance(event, RunSnapshot) and tracker.started:
                metrics = await asyncio.to_thread(_read_metrics, config, project, run_id)
                display.show(tracker.metrics(metrics))
    finally:
        explaining.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await explaining
        display.close()


def _read_metrics(config: Config, project: str, run_id: str) -> list[MetricView]:
    from coflux.client import Client  # only when the run had started when followed

    try:
        with Client(config.host, config.token) as client:
            return client.list_metrics(project, run_id)
    except CofluxError:
        return []  # the live updates go on without the bars recorded before them


async def _explain_queued(
    config: Config, project: str, run_id: str, tracker: StepTracker, display: Display
) -> None:
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
            display.show(tracker.reasons(outline))


def follow(config: Config, project: str, run_id: str) -> None:
    """Show the run's steps until it ends; if live updates fail, say so and return."""
    try:
        asyncio.run(_follow(config, project, run_id))
    except CofluxError as e:
        info(f"warning: cannot follow run {run_id} live ({e}); waiting for its result")
