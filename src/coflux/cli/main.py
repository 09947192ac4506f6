"""The ``coflux`` command: global options, the command table, and error handling.

Every error a user can cause (a refused request, an unreachable server, a bad
setting, an agent refused by the server) ends as one ``error: ...`` line on
stderr and exit code 1; usage errors keep click's message and exit code 2.
Ctrl-C ends a command quietly with exit code 130 (an agent's, once it is
running, drains it and exits 0).
"""

from __future__ import annotations

import gc
import importlib
from typing import Any

import click

from coflux.cli.context import OPTION_HELP, CliState, portless_host_hint
from coflux.cli.output import CliError
from coflux.client.errors import ServerUnavailable
from coflux.errors import CofluxError

# Each command's module is imported only when that command runs (or help lists
# them all): `coflux runs inspect` need not load the server, the agent or asyncio.
COMMANDS = {
    "server": "coflux.cli.server:server",
    "configure": "coflux.cli.configure:configure",
    "projects": "coflux.cli.projects:projects",
    "environments": "coflux.cli.environments:environments",
    "register": "coflux.cli.register:register",
    "agent": "coflux.cli.agent:agent",
    "submit": "coflux.cli.submit:submit",
    "runs": "coflux.cli.runs:runs",
    "assets": "coflux.cli.assets:assets",
    "inputs": "coflux.cli.inputs:inputs",
    "sensors": "coflux.cli.sensors:sensors",
    "tokens": "coflux.cli.tokens:tokens",
}


class _Coflux(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, name = target.split(":")
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ServerUnavailable as e:
            hint = portless_host_hint(e.host, "tried")
            raise CliError(f"{e}; {hint}" if hint else str(e)) from None
        except CofluxError as e:
            raise CliError(str(e)) from None
        except KeyboardInterrupt:
            # Ctrl-C that no command handles itself (the agent's handlers drain it
            # and exit 0): quiet, with the shell's code for SIGINT, not "Aborted!".
            raise click.exceptions.Exit(130) from None


@click.group(cls=_Coflux, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", envvar="COFLUX_HOST", help=OPTION_HELP["host"])
@click.option("--project", envvar="COFLUX_PROJECT", help=OPTION_HELP["project"])
@click.option("--environment", envvar="COFLUX_ENVIRONMENT", help=OPTION_HELP["environment"])
@click.option("--token", envvar="COFLUX_TOKEN", help=OPTION_HELP["token"])
# The version is looked up when asked for (importlib.metadata is slow to import).
@click.version_option(package_name="coflux", message="%(prog)s %(version)s")
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


def main() -> None:
    """Console entry point (``coflux``)."""
    try:
        cli(prog_name="coflux")
    finally:
        # The command is over and has closed what it opened; what is left is the
        # interpreter's shutdown, whose garbage collections walk every object the
        # imports made: ~20 ms, more than a `coflux submit`'s own request. They
        # skip frozen objects (whose memory the process's end frees anyway).
        gc.freeze()
