"""``coflux runs``: list, inspect, results, logs, re-runs and cancellation of runs."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import click
import msgspec

from coflux.cli.context import CliState, api_options, pass_state
from coflux.cli.output import emit_json, fmt_time, info, json_option, out, out_lines, table
from coflux.cli.render import log_json, log_line, run_tree
from coflux.cli.results import finish
from coflux.client import Client
from coflux.client.client import MAX_WAIT
from coflux.client.errors import ApiError
from coflux.ids import is_execution_id, step_of
from coflux.log_lines import MINIMUM_LEVELS, LogFilter
from coflux.orchestration.states import ExecutionState
from coflux.views import LogView, MetricView

STATES = [state.value for state in ExecutionState]


@click.group()
def runs() -> None:
    """Inspect and control runs."""


_SPANS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}  # seconds per unit


class _Time(click.ParamType[float]):
    """A time: a date and time (ISO 8601; local time unless it names its zone), or
    a span before now (``90s``, ``30m``, ``12h``, ``7d``, ``2w``)."""

    name = "time"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        text = str(value).strip()
        unit = _SPANS.get(text[-1:])
        if unit is not None and text[:-1].isdigit():
            return time.time() - int(text[:-1]) * unit
        try:
            return dt.datetime.fromisoformat(text).timestamp()
        except ValueError:
            self.fail(
                f"{value!r} is neither a date and time (2026-05-01T12:00) nor a span (12h, 7d)"
            )


@runs.command("list")
@click.option("--repository", help="Only runs of this repository.")
@click.option("--target", help="Only runs of this workflow.")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(STATES),
    help="Only runs in this state (repeat for any of several).",
)
@click.option("--since", type=_Time(), help="Only runs created then or later (a time, or 12h ago).")
@click.option("--until", type=_Time(), help="Only runs created before then.")
@click.option("--key", help="Only the run submitted with this idempotency key.")
@click.option(
    "--search", help="Only runs with this id, or this text in their arguments (3+ characters)."
)
@click.option("--oldest-first", is_flag=True, help="Oldest first (default: newest first).")
@click.option("--after", metavar="CURSOR", help="The page after the one that printed CURSOR.")
@click.option("--limit", type=click.IntRange(min=1, max=10_000), default=100, show_default=True)
@click.option("--all-environments", is_flag=True, help="Not only the current environment.")
@json_option
@api_options
@pass_state
def list_(
    state: CliState,
    repository: str | None,
    target: str | None,
    states: tuple[str, ...],
    since: float | None,
    until: float | None,
    key: str | None,
    search: str | None,
    oldest_first: bool,
    after: str | None,
    limit: int,
    all_environments: bool,
    as_json: bool,
) -> None:
    """List the runs of the environment, newest first, a page at a time.

    A full page ends with the cursor of the next (on stderr; with --json, as
    "cursor" beside "runs", null after the last page): pass it as --after, with
    the same filters, to go on.
    """
    environment = None if all_environments else state.config().environment
    with state.client() as client:
        page = client.list_runs(
            state.project(), environment=environment, repository=repository, target=target,
            states=states, since=since, until=until, idempotency_key=key, search=search,
            oldest_first=oldest_first, after=after, limit=limit,
        )  # fmt: skip
    if as_json:
        emit_json(page)
        return
    rows = [[r.id, f"{r.repository}.{r.target}", r.state, fmt_time(r.created_at)] for r in page]
    table(["ID", "TARGET", "STATE", "CREATED"], rows, states="STATE")
    if len(page) == limit and page[-1].cursor:
        info(f"more: --after {page[-1].cursor}")


@runs.command("inspect")
@click.argument("run_id")
@json_option
@api_options
@pass_state
def inspect(state: CliState, run_id: str, as_json: bool) -> None:
    """Show a run's steps, executions, states, timings, metrics, and its arguments and
    results cut to one line each (--json: whole)."""
    with state.client() as client:
        if as_json:
            run_view = client.get_run(state.project(), run_id)
            metrics = _metrics(client, state.project(), run_id)
            emit_json({**msgspec.to_builtins(run_view), "metrics": metrics})
            return
        # The tree shows values as the outline's previews: it is a fraction of the
        # full view.
        run = client.get_run_outline(state.project(), run_id, previews=True)
        by_execution: dict[str, list[MetricView]] = {}
        for metric in _metrics(client, state.project(), run_id):
            by_execution.setdefault(metric.execution_id, []).append(metric)
    out_lines(run_tree(run, by_execution))


def _metrics(client: Client, project: str, run_id: str) -> list[MetricView]:
    try:
        return client.list_metrics(project, run_id)
    except ApiError as e:
        if e.reason == "not_found":  # a server from before metrics: there are none
            return []
        raise


@runs.command("result")
@click.argument("run_id")
@click.option("--wait", is_flag=True, help="Wait for the run to end.")
@api_options
@pass_state
def result(state: CliState, run_id: str, wait: bool) -> None:
    """Print the workflow's result as JSON, or its error on stderr (exit code 1)."""
    with state.client() as client:
        finish(client, state.project(), run_id, wait=wait)


class _LogPrinter:
    def __init__(self, step: str | None, as_json: bool, stream: bool) -> None:
        self.step = step
        self.as_json = as_json
        self.stream = stream  # JSON: one object per line instead of one array
        self.collected: list[dict[str, Any]] = []

    def print(self, entries: list[LogView]) -> None:
        for entry in entries:
            if self.step is not None and step_of(entry.execution_id) != self.step:
                continue
            if not self.as_json:
                out(log_line(entry))
            elif self.stream:
                out(json.dumps(log_json(entry), ensure_ascii=False, default=str))
            else:
                self.collected.append(log_json(entry))


def _fetch_logs(
    client: Client,
    project: str,
    run_id: str,
    execution: str | None,
    printer: _LogPrinter,
    follow: bool,
    wanted: LogFilter,
) -> None:
    cursor: int | None = None
    while True:
        page = client.get_logs(
            project,
            run_id,
            execution=execution,
            after=cursor,
            wait=MAX_WAIT if follow else None,
            q=wanted.text,
            level=wanted.minimum,
        )
        printer.print(page.logs)
        if page.logs or page.cursor != (cursor or 0):
            # A searched page may keep no line and still move on: read on from there.
            cursor = page.cursor
            continue
        # An empty page: every entry so far was seen. Following, the long poll also
        # returns empty when the run has ended: then one last read catches stragglers.
        if not follow or client.get_result(project, run_id).outcome is not None:
            if follow:
                last = client.get_logs(
                    project,
                    run_id,
                    execution=execution,
                    after=cursor,
                    q=wanted.text,
                    level=wanted.minimum,
                )
                printer.print(last.logs)
            return


@runs.command("logs")
@click.argument("run_id")
@click.option("--step", "step_id", help="Only this step (RUN:N) or execution (RUN:N:ATTEMPT).")
@click.option("--follow", is_flag=True, help="Keep printing until the run has ended.")
@click.option("--search", "text", help="Only lines whose message holds this text (any case).")
@click.option(
    "--level",
    "minimum",
    type=click.Choice(MINIMUM_LEVELS),
    help="Only lines at this level or above (stdout and stderr rank with info).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="JSON array (one object per line with --follow)."
)
@api_options
@pass_state
def logs(
    state: CliState,
    run_id: str,
    step_id: str | None,
    follow: bool,
    text: str | None,
    minimum: str | None,
    as_json: bool,
) -> None:
    """Print a run's log lines: time, step, level, message. --search and --level are
    applied by the server, so they search the whole run however long its logs."""
    execution = step_id if step_id is not None and is_execution_id(step_id) else None
    printer = _LogPrinter(None if execution else step_id, as_json, stream=follow)
    wanted = LogFilter(text=text or None, minimum=minimum)
    with state.client() as client:
        _fetch_logs(client, state.project(), run_id, execution, printer, follow, wanted)
    if as_json and not follow:
        out(json.dumps(printer.collected, indent=2, ensure_ascii=False, default=str))


@runs.command("rerun")
@click.argument("step_id")
@json_option
@api_options
@pass_state
def rerun(state: CliState, step_id: str, as_json: bool) -> None:
    """Re-run a step (in --environment, else the run's own); prints the new execution's
    id (--json: as {"execution_id": ...})."""
    with state.client() as client:
        execution_id = client.rerun_step(
            state.project(), step_id, environment=state.explicit("environment")
        )
    if as_json:
        emit_json({"execution_id": execution_id})
    else:
        out(execution_id)


@runs.command("cancel")
@click.argument("target_id", metavar="RUN_ID|EXECUTION_ID")
@json_option
@api_options
@pass_state
def cancel(state: CliState, target_id: str, as_json: bool) -> None:
    """Cancel a run (RUN_ID) or one execution (RUN:STEP:ATTEMPT) and its descendants;
    prints the ids of the executions cancelled (--json: as {"cancelled": [...]})."""
    project = state.project()
    with state.client() as client:
        if is_execution_id(target_id):
            cancelled = client.cancel_execution(project, target_id)
        else:
            cancelled = client.cancel_run(project, target_id)
    if as_json:
        emit_json({"cancelled": cancelled})
        return
    for execution_id in cancelled:
        out(execution_id)
    info(f"cancelled {len(cancelled)} execution{'s' if len(cancelled) != 1 else ''}")
