"""``coflux runs``: list, inspect, results, logs, re-runs and cancellation of runs."""

from __future__ import annotations

import json
from typing import Any

import click

from coflux.cli.context import CliState, api_options, pass_state
from coflux.cli.output import emit_json, fmt_time, info, out, table
from coflux.cli.render import log_json, log_line, run_tree, step_of
from coflux.cli.results import finish
from coflux.client import Client
from coflux.client.client import MAX_WAIT
from coflux.views import LogView

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group()
def runs() -> None:
    """Inspect and control runs."""


@runs.command("list")
@click.option("--repository", help="Only runs of this repository.")
@click.option("--target", help="Only runs of this workflow.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--all-environments", is_flag=True, help="Not only the current environment.")
@JSON_OPTION
@api_options
@pass_state
def list_(
    state: CliState,
    repository: str | None,
    target: str | None,
    limit: int,
    all_environments: bool,
    as_json: bool,
) -> None:
    """List the most recent runs of the environment."""
    environment = None if all_environments else state.config().environment
    with state.client() as client:
        found = client.list_runs(
            state.project(),
            environment=environment,
            repository=repository,
            target=target,
            limit=limit,
        )
    if as_json:
        emit_json(found)
        return
    rows = [[r.id, f"{r.repository}.{r.target}", r.state, fmt_time(r.created_at)] for r in found]
    table(["ID", "TARGET", "STATE", "CREATED"], rows)


@runs.command("inspect")
@click.argument("run_id")
@JSON_OPTION
@api_options
@pass_state
def inspect(state: CliState, run_id: str, as_json: bool) -> None:
    """Show a run's steps, executions, states and timings (--json: with values)."""
    with state.client() as client:
        if as_json:
            emit_json(client.get_run(state.project(), run_id))
            return
        # The tree shows no values: the outline is a fraction of the full view.
        run = client.get_run_outline(state.project(), run_id)
    out("\n".join(run_tree(run)))  # one write: a run can have 10,000 steps


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
) -> None:
    cursor: int | None = None
    while True:
        page = client.get_logs(
            project, run_id, execution=execution, after=cursor, wait=MAX_WAIT if follow else None
        )
        printer.print(page.logs)
        if page.logs:
            cursor = page.cursor if page.cursor is not None else page.logs[-1].id
            continue
        # An empty page: every entry so far was seen. Following, the long poll also
        # returns empty when the run has ended: then one last read catches stragglers.
        if not follow or client.get_result(project, run_id).outcome is not None:
            if follow:
                printer.print(
                    client.get_logs(project, run_id, execution=execution, after=cursor).logs
                )
            return


@runs.command("logs")
@click.argument("run_id")
@click.option("--step", "step_id", help="Only this step (RUN:N) or execution (RUN:N:ATTEMPT).")
@click.option("--follow", is_flag=True, help="Keep printing until the run has ended.")
@click.option(
    "--json", "as_json", is_flag=True, help="JSON array (one object per line with --follow)."
)
@api_options
@pass_state
def logs(state: CliState, run_id: str, step_id: str | None, follow: bool, as_json: bool) -> None:
    """Print a run's log lines: time, step, level, message."""
    execution = step_id if step_id is not None and step_id.count(":") == 2 else None
    printer = _LogPrinter(None if execution else step_id, as_json, stream=follow)
    with state.client() as client:
        _fetch_logs(client, state.project(), run_id, execution, printer, follow)
    if as_json and not follow:
        out(json.dumps(printer.collected, indent=2, ensure_ascii=False, default=str))


@runs.command("rerun")
@click.argument("step_id")
@api_options
@pass_state
def rerun(state: CliState, step_id: str) -> None:
    """Re-run a step (in --environment, else the run's own); prints the new execution's id."""
    with state.client() as client:
        execution_id = client.rerun_step(
            state.project(), step_id, environment=state.explicit("environment")
        )
    out(execution_id)


@runs.command("cancel")
@click.argument("target_id", metavar="RUN_ID|EXECUTION_ID")
@api_options
@pass_state
def cancel(state: CliState, target_id: str) -> None:
    """Cancel a run (RUN_ID) or one execution (RUN:STEP:ATTEMPT) and its descendants."""
    project = state.project()
    with state.client() as client:
        if target_id.count(":") == 2:
            cancelled = client.cancel_execution(project, target_id)
        else:
            cancelled = client.cancel_run(project, target_id)
    for execution_id in cancelled:
        out(execution_id)
    info(f"cancelled {len(cancelled)} execution{'s' if len(cancelled) != 1 else ''}")
