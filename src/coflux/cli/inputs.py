"""``coflux inputs``: list the prompts executions asked (``cf.Prompt``), show one,
answer it or dismiss it."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import click

from coflux.cli.context import CliState, api_options, pass_state
from coflux.cli.output import CliError, emit_json, fmt_time, info, out, table
from coflux.log_lines import render_message
from coflux.views import InputView

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
STATUSES = ("pending", "responded", "dismissed", "all")
# The block ({{name}}) and Markdown ({{{name}}}) placeholders, shown inline here.
_WIDE_PLACEHOLDER = re.compile(r"\{\{\{?([A-Za-z_][A-Za-z0-9_]*)\}?\}\}")


@click.group()
def inputs() -> None:
    """List, show, answer and dismiss inputs (prompts asked by executions)."""


@inputs.command("list")
@click.option("--run", "run_id", help="Only this run's inputs (of any environment).")
@click.option(
    "--status",
    type=click.Choice(STATUSES),
    default="pending",
    show_default=True,
    help="Which inputs.",
)
@click.option("--all-environments", is_flag=True, help="Not only the current environment.")
@JSON_OPTION
@api_options
@pass_state
def list_(
    state: CliState, run_id: str | None, status: str, all_environments: bool, as_json: bool
) -> None:
    """List inputs of the environment (or of a run), newest first."""
    environment = None if all_environments or run_id else state.config().environment
    with state.client() as client:
        found = client.list_inputs(
            state.project(), environment=environment, run=run_id, status=status
        )
    if as_json:
        emit_json(found)
        return
    rows = [
        [i.id, i.status, i.title or _first_line(i), i.run_id, fmt_time(i.created_at)] for i in found
    ]
    table(["ID", "STATUS", "PROMPT", "RUN", "CREATED"], rows)


@inputs.command("show")
@click.argument("input_id")
@JSON_OPTION
@api_options
@pass_state
def show(state: CliState, input_id: str, as_json: bool) -> None:
    """Show an input: its prompt, what it takes, and its answer."""
    with state.client() as client:
        found = client.get_input(state.project(), input_id)
    if as_json:
        emit_json(found)
        return
    out("\n".join(_described(found)))


# Upstream Coflux's name for it.
inputs.add_command(show, "inspect")


@inputs.command("respond")
@click.argument("input_id")
@click.argument("value", required=False)
@api_options
@pass_state
def respond(state: CliState, input_id: str, value: str | None) -> None:
    """Answer an input with VALUE: JSON text, or - to read it from stdin (an approval
    takes no VALUE, or null)."""
    answer = _parse(value)
    with state.client() as client:
        answered = client.respond_input(state.project(), input_id, answer)
    info(f"input {answered.id} answered")


@inputs.command("dismiss")
@click.argument("input_id")
@api_options
@pass_state
def dismiss(state: CliState, input_id: str) -> None:
    """Dismiss an input: the code waiting for it gets InputDismissed."""
    with state.client() as client:
        dismissed = client.dismiss_input(state.project(), input_id)
    info(f"input {dismissed.id} dismissed")


def _parse(value: str | None) -> Any:
    if value is None:
        return None
    text = sys.stdin.read() if value == "-" else value
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise CliError(f"the answer is not valid JSON: {e}") from None


def _prompt_text(found: InputView) -> str:
    return render_message(_WIDE_PLACEHOLDER.sub(r"{\1}", found.template), found.placeholders)


def _first_line(found: InputView) -> str:
    lines = [line.strip() for line in _prompt_text(found).splitlines() if line.strip()]
    first = lines[0] if lines else ""
    return first if len(first) <= 60 else first[:57] + "..."


def _described(found: InputView) -> list[str]:
    lines = [
        f"input {found.id} ({found.status})",
        f"run {found.run_id}, execution {found.execution_id}, environment {found.environment}",
        f"asked {fmt_time(found.created_at)}",
    ]
    if found.title:
        lines.append(f"title: {found.title}")
    lines += ["", _prompt_text(found).strip(), ""]
    if found.schema is None:
        lines.append("takes: an approval (no value)")
    else:
        lines.append(f"takes: {json.dumps(found.schema, ensure_ascii=False)}")
    if found.initial is not None:
        lines.append(f"initial: {json.dumps(found.initial, ensure_ascii=False)}")
    if found.actions is not None:
        lines.append(f"actions: {found.actions[0]} / {found.actions[1]}")
    if found.requires:
        tags = ", ".join(f"{k}={','.join(v)}" for k, v in found.requires.items())
        lines.append(f"requires: {tags}")
    if found.status != "pending":
        lines.append(f"{found.status} by {found.responded_by} at {fmt_time(found.responded_at)}")
    if found.status == "responded" and found.schema is not None:
        lines.append(f"response: {json.dumps(found.response, ensure_ascii=False)}")
    return lines
