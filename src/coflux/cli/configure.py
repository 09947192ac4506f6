"""``coflux configure``: write the connection settings to ``coflux.toml`` here."""

from __future__ import annotations

import click

from coflux.cli.config import DEFAULTS, KEYS, ConfigError, read_file, write_file
from coflux.cli.output import CliError, info


@click.command()
@click.option("--host", help="Server address, HOST:PORT.")
@click.option("--project", help="Project id or name.")
@click.option("--environment", help="Environment name.")
@click.option("--token", help="API token (stored in the file in plain text).")
def configure(
    host: str | None, project: str | None, environment: str | None, token: str | None
) -> None:
    """Save settings to coflux.toml in this directory (other keys are kept).

    Without options, asks for host, project and environment.
    """
    try:
        values = read_file()
    except ConfigError as e:
        raise CliError(str(e)) from None
    given = {"host": host, "project": project, "environment": environment, "token": token}
    if all(v is None for v in given.values()):
        for key in KEYS[:3]:
            current = values.get(key) or DEFAULTS.get(key)
            given[key] = click.prompt(key.capitalize(), default=current or None, type=str)
    values.update({k: v for k, v in given.items() if v is not None})
    path = write_file(values)
    info(f"wrote {path}")
