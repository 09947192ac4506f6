"""The ``coflux`` command: global options, the command table, and error handling.

Every error a user can cause (a refused request, an unreachable server, a bad
setting, an agent refused by the server) ends as one ``error: ...`` line on
stderr and exit code 1; usage errors keep click's message and exit code 2.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

import click

from coflux.cli.agent import agent
from coflux.cli.assets import assets
from coflux.cli.configure import configure
from coflux.cli.context import OPTION_HELP, CliState
from coflux.cli.environments import environments
from coflux.cli.output import CliError
from coflux.cli.projects import projects
from coflux.cli.register import register
from coflux.cli.runs import runs
from coflux.cli.sensors import sensors
from coflux.cli.server import server
from coflux.cli.submit import submit
from coflux.errors import CofluxError


def _version() -> str:
    try:
        return importlib.metadata.version("coflux")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "unknown"


class _Coflux(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CofluxError as e:
            raise CliError(str(e)) from None


@click.group(cls=_Coflux, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", envvar="COFLUX_HOST", help=OPTION_HELP["host"])
@click.option("--project", envvar="COFLUX_PROJECT", help=OPTION_HELP["project"])
@click.option("--environment", envvar="COFLUX_ENVIRONMENT", help=OPTION_HELP["environment"])
@click.option("--token", envvar="COFLUX_TOKEN", help=OPTION_HELP["token"])
@click.version_option(_version(), message="%(prog)s %(version)s")
@click.pass_context
def cli(
    ctx: click.Context,
    host: str | None,
    project: str | None,
    environment: str | None,
    token: str | None,
) -> None:
    """Coflux: workflows as Python functions.

    Connection options come from flags, then COFLUX_* variables, then
    coflux.toml in this directory (see `coflux configure`).
    """
    state = ctx.ensure_object(CliState)
    state.flags = {"host": host, "project": project, "environment": environment, "token": token}


for command in (
    server,
    configure,
    projects,
    environments,
    register,
    agent,
    submit,
    runs,
    assets,
    sensors,
):
    cli.add_command(command)


def main() -> None:
    """Console entry point (``coflux``)."""
    cli(prog_name="coflux")
