"""The state the CLI's commands share: connection flags, and how to get a client.

The connection options (``--host``, ``--project``, ``--environment``,
``--token``) are accepted before the command (``coflux --project p runs list``,
where click also reads their ``COFLUX_*`` variables) and, through
``api_options``, after it (``coflux runs list --project p``); the later one wins.
Settings are resolved only when a command asks for them, after every option
has been parsed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from coflux.cli.config import Config, ConfigError, Settings, read_settings, resolve
from coflux.cli.output import CliError, info
from coflux.client import Client, base_url
from coflux.client.client import DEFAULT_HOST
from coflux.client.transport import HttpTransport, Transport

F = TypeVar("F", bound=Callable[..., Any])

OPTION_HELP = {
    "host": "Server address, HOST:PORT [env COFLUX_HOST; default localhost:7777].",
    "project": "Project id or name [env COFLUX_PROJECT].",
    "environment": "Environment name [env COFLUX_ENVIRONMENT; default production].",
    "token": "API token [env COFLUX_TOKEN].",
}


@dataclass
class CliState:
    """``ctx.obj`` of every command.

    Args:
        transport: makes the transport of the clients the commands build (tests).
    """

    transport: Callable[[str], Transport] = HttpTransport
    flags: dict[str, str | None] = field(default_factory=dict)  # before the command (or env)
    overrides: dict[str, str] = field(default_factory=dict)  # after the command

    _settings: Settings | None = field(default=None, init=False, repr=False)

    def settings(self) -> Settings:
        """``coflux.toml``'s settings, read once per command (its warnings said once).

        Raises:
            CliError: the file cannot be read.
        """
        if self._settings is None:
            try:
                self._settings = read_settings()
            except ConfigError as e:
                raise CliError(str(e)) from None
            for warning in self._settings.warnings():
                info(warning)
        return self._settings

    def config(self) -> Config:
        return resolve({**self.flags, **self.overrides}, self.settings().values)

    def project(self) -> str:
        try:
            return self.config().require_project()
        except ConfigError as e:
            raise CliError(str(e)) from None

    def explicit(self, key: str) -> str | None:
        """A setting only if the user gave it (flag, variable or file), not its default."""
        file_values = self.settings().values
        return self.overrides.get(key) or self.flags.get(key) or file_values.get(key)

    def client(self) -> Client:
        config = self.config()
        return Client(config.host, config.token, transport=self.transport)


pass_state = click.make_pass_decorator(CliState, ensure=True)


def _store_override(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None and param.name is not None:
        ctx.ensure_object(CliState).overrides[param.name] = value


def api_options(command: F) -> F:
    """Accept the connection options after the command too."""
    return connection_options("host", "project", "environment", "token")(command)


def connection_options(*names: str) -> Callable[[F], F]:
    """Accept these connection options after the command (for a command that gives
    one of the others, ``--environment`` say, a meaning of its own)."""

    def decorate(command: F) -> F:
        for name in reversed(names):
            command = click.option(
                f"--{name}",
                expose_value=False,
                callback=_store_override,
                help=OPTION_HELP[name],
            )(command)
        return command

    return decorate


def portless_host_hint(host: str, verb: str) -> str | None:
    """For a ``--host`` without a scheme or a port (``localhost``), a sentence
    saying which address it means (port 80, after ``verb``: "tried",
    "connecting to") and which port the server listens on by default; else None."""
    if "://" in host:
        return None
    try:
        parts = urlsplit(base_url(host))
        port = parts.port
    except ValueError:  # not a host at all: the connection error says so
        return None
    name = parts.netloc  # "[::1]" keeps its brackets
    if port is not None or not name or any(c.isspace() for c in name):
        return None
    default_port = DEFAULT_HOST.rsplit(":", 1)[1]
    return (
        f"{verb} http://{name}:80, as '{host}' names no port, but the server"
        f" listens on {default_port} by default (--host {name}:{default_port})"
    )
