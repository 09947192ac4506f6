"""``coflux server``: run the server in the foreground.

``coflux server status`` is a client command: the servers sharing a database and
the projects each owns (``GET /api/servers``).

Its ``--host`` (also ``--bind``) is the address to bind, not the server to talk
to: the command has its own options and ignores the connection options
(``COFLUX_HOST`` is the client's; the server's is ``COFLUX_SERVER_HOST``). Every
option is also read from a ``COFLUX_SERVER_*`` variable, shown in its help. A
busy port and a data directory held by another server are refused with one line
on stderr, naming the data directory as the user gave it.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from coflux.cli.context import CliState, api_options, pass_state
from coflux.cli.output import CliError, emit_json, fmt_time, info, table
from coflux.store.base import DEFAULT_LEASE_TTL


@click.group(invoke_without_command=True)
@click.option(
    "--host",
    "--bind",
    "host",
    default="127.0.0.1",
    show_default=True,
    envvar="COFLUX_SERVER_HOST",
    help="Address to bind (not the client's --host) [env COFLUX_SERVER_HOST].",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=7777,
    show_default=True,
    envvar="COFLUX_SERVER_PORT",
    help="TCP port to listen on (0: any free port) [env COFLUX_SERVER_PORT].",
)
@click.option(
    "--data-dir",
    envvar="COFLUX_SERVER_DATA_DIR",
    # Kept as typed (not a Path, which drops "./"), for the messages.
    type=click.Path(file_okay=False),
    default="./.coflux",
    show_default=True,
    help="Where project databases and blobs are kept [env COFLUX_SERVER_DATA_DIR].",
)
@click.option(
    "--session-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    envvar="COFLUX_SERVER_SESSION_TIMEOUT",
    help=(
        "Seconds before an unreachable agent's executions are abandoned"
        " [env COFLUX_SERVER_SESSION_TIMEOUT]."
    ),
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    envvar="COFLUX_SERVER_TOKEN_FILE",
    help=(
        "Require tokens; the admin token is this file's content (it may be"
        " changed only by restarting) [env COFLUX_SERVER_TOKEN_FILE;"
        " COFLUX_SERVER_TOKEN: the token itself]."
    ),
)
@click.option(
    "--token",
    "tokens",
    multiple=True,
    help=(
        "An admin token, given on the command line (repeatable)"
        " [env COFLUX_SERVER_TOKENS, comma-separated]."
    ),
)
@click.option(
    "--database",
    envvar=["COFLUX_SERVER_DATABASE", "COFLUX_DATABASE_URL"],
    help=(
        "Keep the projects in this PostgreSQL database (a libpq URL: postgresql://user:pass@"
        "host:5432/db, or postgresql:///db?host=/run/postgresql); default: SQLite files in"
        " the data directory [env COFLUX_SERVER_DATABASE, or COFLUX_DATABASE_URL]."
    ),
)
@click.option(
    "--blobs",
    envvar=["COFLUX_SERVER_BLOBS", "COFLUX_BLOBS"],
    help=(
        "Keep values and asset files in this S3-compatible store: s3://bucket/prefix"
        " (credentials, region and endpoint from the AWS variables and files:"
        " AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL);"
        " default: files in the data directory [env COFLUX_SERVER_BLOBS, or COFLUX_BLOBS]."
    ),
)
@click.option(
    "--advertise",
    envvar="COFLUX_SERVER_ADVERTISE",
    help=(
        "This server's URL for the other servers sharing its --database, e.g."
        " http://10.0.0.5:7777; default: http://HOST:PORT as bound"
        " [env COFLUX_SERVER_ADVERTISE]."
    ),
)
@click.option(
    "--lease-ttl",
    type=click.FloatRange(min=0.5),
    default=DEFAULT_LEASE_TTL,
    show_default=True,
    envvar="COFLUX_SERVER_LEASE_TTL",
    help=(
        "With a shared --database: seconds a server owns its projects without a heartbeat;"
        " another server takes them over within this long after it dies"
        " [env COFLUX_SERVER_LEASE_TTL]."
    ),
)
@click.option(
    "--fsync/--no-fsync",
    default=False,
    show_default=True,
    envvar="COFLUX_SERVER_FSYNC",
    help=(
        "fsync every commit: recorded work then survives an OS crash or power loss too "
        "(it always survives the server process dying). Costs ~0.4 ms per commit."
        " [env COFLUX_SERVER_FSYNC]"
    ),
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default="info",
    show_default=True,
    envvar="COFLUX_SERVER_LOG_LEVEL",
    help="The least severe log lines shown [env COFLUX_SERVER_LOG_LEVEL].",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"], case_sensitive=False),
    default="text",
    show_default=True,
    envvar="COFLUX_SERVER_LOG_FORMAT",
    help="text: for people; json: one object a line, for collectors [env COFLUX_SERVER_LOG_FORMAT].",
)
@click.option(
    "--access-log/--no-access-log",
    default=False,
    show_default=True,
    envvar="COFLUX_SERVER_ACCESS_LOG",
    help="Log every HTTP request and WebSocket handshake [env COFLUX_SERVER_ACCESS_LOG].",
)
@click.pass_context
def server(
    ctx: click.Context,
    host: str,
    port: int,
    data_dir: str,
    session_timeout: float,
    token_file: str | None,
    tokens: tuple[str, ...],
    database: str | None,
    blobs: str | None,
    advertise: str | None,
    lease_ttl: float,
    fsync: bool,
    log_level: str,
    log_format: str,
    access_log: bool,
) -> None:
    """Run the Coflux server (API, agent gateway, Studio).

    With an admin token (any of --token-file, COFLUX_SERVER_TOKEN, --token,
    COFLUX_SERVER_TOKENS), every request needs a token: an admin one, or a
    project token made with `coflux tokens create`. Without one, the server is
    open to whoever can reach its port (it binds to 127.0.0.1 by default).

    `coflux server status` shows the servers sharing a database instead.
    """
    if ctx.invoked_subcommand is not None:
        return  # `server status`: a client command; these options are the server's
    admin_tokens = _admin_tokens(token_file, tokens)
    # Imported here: the server stack (Starlette, uvicorn, store) is only for this command.
    from coflux.server import logconfig

    logconfig.configure(
        log_level.lower(), "json" if log_format.lower() == "json" else "text", access_log
    )
    from coflux.server.datadir import DataDirectoryInUse
    from coflux.server.main import CannotListen, serve
    from coflux.store.catalogs import CannotOpenDatabase

    try:
        serve(
            host, port, Path(data_dir), session_timeout, admin_tokens,
            fsync=fsync, database=database or None, blobs=blobs or None,
            advertise=advertise or None, lease_ttl=lease_ttl,
        )  # fmt: skip
    except CannotOpenDatabase as e:
        raise CliError(f"cannot use the database: {e}") from None
    except ValueError as e:  # --blobs names no store we know
        raise CliError(f"cannot use the blob store: {e}") from None
    except CannotListen as e:
        why = "the port is in use" if e.in_use else e.strerror
        raise CliError(
            f"cannot listen on {host}:{port}: {why} (pass --port to use another port)"
        ) from None
    except DataDirectoryInUse as e:
        pid = "unknown" if e.holder is None else e.holder
        raise CliError(
            f"data directory {data_dir} is in use by another coflux server (pid {pid})"
        ) from None


def _admin_tokens(token_file: str | None, tokens: tuple[str, ...]) -> list[str]:
    """Every admin token given, from the file, the environment and the options."""
    found = [t.strip() for t in tokens]
    if not found:
        found = [t.strip() for t in os.environ.get("COFLUX_SERVER_TOKENS", "").split(",")]
    found.append(os.environ.get("COFLUX_SERVER_TOKEN", "").strip())
    if token_file is not None:
        try:
            content = Path(token_file).read_text().strip()
        except (OSError, UnicodeDecodeError) as e:
            raise CliError(f"cannot read the token file {token_file}: {e}") from None
        if not content:
            raise CliError(f"the token file {token_file} is empty")
        found.append(content)
    return [t for t in found if t]


@server.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@api_options
@pass_state
def status(state: CliState, as_json: bool) -> None:
    """The servers sharing the projects' database (admin): each one's address, its
    last heartbeat, and the projects it owns."""
    with state.client() as client:
        view = client.list_servers()
    if as_json:
        emit_json(view)
        return
    table(
        ["SERVER", "ADDRESS", "LIVE", "HEARTBEAT", "PROJECTS"],
        [
            [s.id, s.address, "yes" if s.live else "no", fmt_time(s.heartbeat_at),
             ", ".join(s.projects) or "-"]
            for s in view.servers
        ],
    )  # fmt: skip
    if view.unowned:
        info(f"not owned by a live server now (a takeover is due): {', '.join(view.unowned)}")
