"""``coflux projects``: create and list projects."""

from __future__ import annotations

import click

from coflux.cli.context import CliState, api_options, pass_state
from coflux.cli.output import emit_json, fmt_time, info, json_option, out, table
from coflux.views import ProjectInfo


@click.group()
def projects() -> None:
    """Create and list projects."""


@projects.command("create")
@click.argument("name")
@json_option
@api_options
@pass_state
def create(state: CliState, name: str, as_json: bool) -> None:
    """Create a project; prints its id (--json: the project), and, on stderr, how to use it."""
    with state.client() as client:
        project = client.create_project(name)
    if as_json:
        emit_json(project)
    else:
        out(project.id)
    info(
        f"created project {project.name} (id {project.id}); use it with --project {project.name},"
        f" COFLUX_PROJECT={project.name} or coflux configure --project {project.name}"
    )


@projects.command("list")
@json_option
@api_options
@pass_state
def list_(state: CliState, as_json: bool) -> None:
    """List the server's projects, and why any of them is unavailable."""
    with state.client() as client:
        found = client.list_projects()
    if as_json:
        emit_json(found)
        return
    table(
        ["ID", "NAME", "CREATED", "STATUS"],
        [[p.id, p.name, fmt_time(p.created_at), _status(p)] for p in found],
        states="STATUS",
    )


def _status(project: ProjectInfo) -> str:
    if project.error is None:
        return project.status
    return f"{project.status}: {project.error}"
