"""How runs, steps, metrics and log lines look in the terminal (pure functions, no I/O)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from coflux import protocol
from coflux.cli.output import Marked, fmt_clock, fmt_duration, fmt_time
from coflux.ids import step_of
from coflux.log_lines import render_message
from coflux.views import (
    ExecutionOutline,
    ExecutionView,
    LogView,
    MetricView,
    RunOutline,
    RunView,
    StepOutline,
    StepView,
)

# The call tree is drawn the same from a run's outline or its full view.
AnyRun = RunOutline | RunView
AnyStep = StepOutline | StepView


def to_display(value: protocol.Value) -> Any:
    """A value as people read it (``coflux.serialization``, loaded on first use: the
    call tree, which `runs inspect` draws, shows no values)."""
    from coflux.serialization import to_display as display

    return display(value)


def display_json(value: protocol.Value) -> str:
    """A value as one line of JSON, as people and scripts read results."""
    return json.dumps(to_display(value), ensure_ascii=False, default=str)


def log_line(entry: LogView) -> str:
    message = render_message(entry.template, entry.values)
    return f"{fmt_clock(entry.timestamp)}  {step_of(entry.execution_id)}  {entry.level}  {message}"


def log_json(entry: LogView) -> dict[str, Any]:
    return {
        "id": entry.id,
        "run_id": entry.run_id,
        "step_id": step_of(entry.execution_id),
        "execution_id": entry.execution_id,
        "timestamp": entry.timestamp,
        "level": entry.level,
        "message": render_message(entry.template, entry.values),
        "template": entry.template,
        "values": {k: to_display(v) for k, v in entry.values.items()},
    }


def duration(execution: ExecutionOutline) -> float | None:
    if execution.completed_at is None:
        return None
    return execution.completed_at - (execution.assigned_at or execution.created_at)


def state_label(state: str) -> str:
    """An execution state as people read it: ``timed_out`` -> ``timed out``."""
    return state.replace("_", " ")


def step_label(repository: str, target: str, group: protocol.Group | None) -> str:
    """``repository.target``, then the ``cf.group`` the step was called in, if any."""
    label = f"{repository}.{target}"
    if group is None:
        return label
    name = f'"{group.name}"' if group.name is not None else f"#{group.index}"
    return f"{label}  [group {name}]"


def _step_line(step: AnyStep, depth: int) -> Marked:
    label = f"{'  ' * depth}{step.id}  {step_label(step.repository, step.target, step.group)}"
    if not step.executions:
        return Marked(f"{label}  (no executions)")
    latest = step.executions[-1]
    attempts = f"  (attempt {latest.attempt})" if latest.attempt > 1 else ""
    why = f"  ({latest.queued_reason})" if latest.queued_reason else ""
    shown = (state_label(latest.state), latest.state)
    return Marked(f"{label}  ", shown, f"  {fmt_duration(duration(latest))}{attempts}{why}")


def _value_lines(step: AnyStep, indent: str) -> Iterator[str]:
    """The step's arguments, then each execution's result or error, as previewed
    by the server (``coflux.previews``: one line each, cut short)."""
    if isinstance(step, StepOutline) and step.argument_previews:  # a view has values instead
        yield f"{indent}arguments: {', '.join(step.argument_previews)}"
    several = len(step.executions) > 1
    for execution in step.executions:
        if execution.outcome_preview is None:
            continue
        attempt = f"(attempt {execution.attempt}) " if several else ""
        kind = "error" if execution.state == "failed" else "result"
        yield f"{indent}{attempt}{kind}: {execution.outcome_preview}"


def children_by_step(run: AnyRun) -> dict[str | None, list[AnyStep]]:
    """Steps grouped by the step whose execution called them (None: the run's roots)."""
    owner = {e.id: s.id for s in run.steps for e in s.executions}
    children: dict[str | None, list[AnyStep]] = {}
    for step in run.steps:
        parent = owner.get(step.parent_execution) if step.parent_execution else None
        children.setdefault(parent, []).append(step)
    return children


def run_tree(
    run: AnyRun, metrics: Mapping[str, Sequence[MetricView]] | None = None
) -> Iterator[str]:
    """The run's header line, then its steps as an indented call tree, each followed
    by its arguments, its executions' results (or errors) and their metrics
    (``metrics``: by execution id)."""
    yield Marked(
        f"run {run.id}  {run.repository}.{run.target}  ",
        (state_label(run.state), run.state),
        f"  (environment {run.environment}, created {fmt_time(run.created_at)})",
    )
    children = children_by_step(run)
    stack = [(step, 1) for step in reversed(children.get(None, []))]
    while stack:
        step, depth = stack.pop()
        yield _step_line(step, depth)
        yield from _value_lines(step, "  " * (depth + 2))
        if metrics:
            several = len(step.executions) > 1
            for execution in step.executions:
                attempt = f"(attempt {execution.attempt}) " if several else ""
                for metric in metrics.get(execution.id, ()):
                    yield f"{'  ' * (depth + 2)}{attempt}{metric_line(metric)}"
        stack.extend((child, depth + 1) for child in reversed(children.get(step.id, [])))


def progress_share(value: float, scale: protocol.MetricScaleInfo) -> float | None:
    """How far a progress metric's value is through its scale's range (``lower``,
    by default 0, to ``upper``), from 0 to 1; None when the scale has no range."""
    lower = scale.lower if scale.lower is not None else 0.0
    upper = scale.upper
    if upper is None or upper <= lower:
        return None
    return min(1.0, max(0.0, (value - lower) / (upper - lower)))


def progress_bar(value: float, scale: protocol.MetricScaleInfo, width: int = 20) -> str | None:
    """``[#####---------------]  25% (5/20)`` for a progress metric's value; None
    when its scale has no range to draw."""
    share = progress_share(value, scale)
    if share is None:
        return None
    filled = round(share * width)
    return (
        f"[{'#' * filled}{'-' * (width - filled)}]  {share * 100:.0f}%"
        f" ({_number(value)}/{_number(scale.upper or 0.0)})"
    )


def metric_line(metric: MetricView) -> str:
    """A metric as ``runs inspect`` shows it: its key, its latest value (a progress
    metric's as a bar), its point count and its group."""
    detail = f"{metric.count} point{'s' if metric.count != 1 else ''}"
    if metric.group is not None:
        detail += f", group {metric.group.name}"
    if metric.value is None:
        return f"{metric.key}  -  ({detail})"
    scale = metric.scale
    bar = progress_bar(metric.value, scale) if scale is not None and scale.progress else None
    if bar is not None:
        return f"{metric.key}  {bar}"
    units = f" {scale.units}" if scale is not None and scale.units else ""
    return f"{metric.key}  {_number(metric.value)}{units}  ({detail})"


def _number(value: float) -> str:
    return f"{value:.6g}"


def deepest_failure(run: RunView) -> tuple[StepView, ExecutionView] | None:
    """The failed (or timed-out) execution furthest down the call tree: where the
    error started."""
    owner = {e.id: s for s in run.steps for e in s.executions}
    depths: dict[str, int] = {}

    def depth(step: StepView) -> int:
        # Iterative, memoised walk up the callers (call chains can be deep).
        chain: list[StepView] = []
        seen: set[str] = set()
        current: StepView | None = step
        while current is not None and current.id not in depths and current.id not in seen:
            chain.append(current)
            seen.add(current.id)
            current = owner.get(current.parent_execution or "")
        level = -1 if current is None else depths.get(current.id, 0)
        for item in reversed(chain):
            level += 1
            depths[item.id] = level
        return depths[step.id]

    failed = [(s, e) for s in run.steps for e in s.executions if e.state in ("failed", "timed_out")]
    if not failed:
        return None
    return max(failed, key=lambda pair: (depth(pair[0]), pair[1].created_at, pair[1].attempt))
