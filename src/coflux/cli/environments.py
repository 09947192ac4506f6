"""``coflux environments``: create, list, re-base, rename, pause, resume, archive."""

from __future__ import annotations

import click

from coflux.cli.context import CliState, api_options, pass_state
from coflux.cli.output import emit_json, fmt_time, info, json_option, table
from coflux.client import UNSET
from coflux.views import EnvironmentView


@click.group()
def environments() -> None:
    """Manage the environments of a project."""


def _show(view: EnvironmentView, verb: str, as_json: bool) -> None:
    """What a change made: a line on stderr, or (``--json``) the environment on stdout."""
    if as_json:
        emit_json(view)
        return
    base = f" (base {view.base})" if view.base else ""
    info(f"{verb} environment {view.name}{base}: {view.status}")


@environments.command("create")
@click.argument("name")
@click.option("--base", help="Parent environment to inherit results from.")
@json_option
@api_options
@pass_state
def create(state: CliState, name: str, base: str | None, as_json: bool) -> None:
    """Create an environment."""
    with state.client() as client:
        view = client.create_environment(state.project(), name, base)
    _show(view, "created", as_json)


@environments.command("list")
@json_option
@api_options
@pass_state
def list_(state: CliState, as_json: bool) -> None:
    """List the project's environments."""
    with state.client() as client:
        found = client.list_environments(state.project())
    if as_json:
        emit_json(found)
        return
    rows = [[e.name, e.base or "-", e.status, fmt_time(e.created_at)] for e in found]
    table(["NAME", "BASE", "STATUS", "CREATED"], rows, states="STATUS")


@environments.command("update")
@click.argument("name")
@click.option("--name", "new_name", help="Rename the environment.")
@click.option("--base", help="Re-base it on this environment.")
@click.option("--no-base", is_flag=True, help="Remove its base.")
@json_option
@api_options
@pass_state
def update(
    state: CliState,
    name: str,
    new_name: str | None,
    base: str | None,
    no_base: bool,
    as_json: bool,
) -> None:
    """Rename or re-base an environment."""
    if base is not None and no_base:
        raise click.UsageError("--base and --no-base cannot be used together")
    if new_name is None and base is None and not no_base:
        raise click.UsageError("nothing to update: pass --name, --base or --no-base")
    new_base = None if no_base else (UNSET if base is None else base)
    with state.client() as client:
        view = client.update_environment(state.project(), name, name=new_name, base=new_base)
    _show(view, "updated", as_json)


@environments.command("pause")
@click.argument("name")
@json_option
@api_options
@pass_state
def pause(state: CliState, name: str, as_json: bool) -> None:
    """Pause an environment: nothing is assigned until it is resumed."""
    with state.client() as client:
        _show(client.pause_environment(state.project(), name), "paused", as_json)


@environments.command("resume")
@click.argument("name")
@json_option
@api_options
@pass_state
def resume(state: CliState, name: str, as_json: bool) -> None:
    """Resume a paused environment."""
    with state.client() as client:
        _show(client.resume_environment(state.project(), name), "resumed", as_json)


@environments.command("archive")
@click.argument("name")
@json_option
@api_options
@pass_state
def archive(state: CliState, name: str, as_json: bool) -> None:
    """Archive an environment."""
    with state.client() as client:
        _show(client.archive_environment(state.project(), name), "archived", as_json)
