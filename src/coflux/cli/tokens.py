"""``coflux tokens``: create, list and revoke project tokens (needs an admin token)."""

from __future__ import annotations

import click

from coflux.cli.context import CliState, api_options, connection_options, pass_state
from coflux.cli.output import emit_json, fmt_time, info, json_option, out, table


@click.group()
def tokens() -> None:
    """Manage project tokens (with the server's admin token as --token)."""


@tokens.command("create")
@click.option(
    "--environment",
    "environments",
    multiple=True,
    help="Limit the token to this environment (repeatable; default: all of the project's).",
)
@click.option("--read-only", is_flag=True, help="The token may read, not change anything.")
@click.option("--description", default="", help="What the token is for (shown in listings).")
@json_option
@connection_options("host", "project", "token")  # --environment is the token's own here
@pass_state
def create(
    state: CliState,
    environments: tuple[str, ...],
    read_only: bool,
    description: str,
    as_json: bool,
) -> None:
    """Create a token for the project (--project); prints it, this once only.

    Only a hash of the token is kept: copy it now. The token lets its holder act
    in that project (in the given environments, if any): read and, unless
    --read-only, submit, cancel, re-run, manage environments and serve as an agent.
    """
    with state.client() as client:
        created = client.create_token(state.project(), environments, read_only, description)
    scope = (
        ", ".join(created.info.environments) if created.info.environments else "all environments"
    )
    mode = "read-only" if created.info.read_only else "read-write"
    info(f"created token {created.info.id} for project {created.info.project} ({scope}; {mode})")
    if as_json:
        emit_json(created)  # {"token": ..., "info": {...}}
    else:
        out(created.token)


@tokens.command("list")
@json_option
@api_options
@pass_state
def list_(state: CliState, as_json: bool) -> None:
    """List the server's project tokens (never the tokens themselves)."""
    with state.client() as client:
        found = client.list_tokens()
    if as_json:
        emit_json(found)
        return
    rows = [
        [
            t.id,
            t.project,
            ",".join(t.environments) if t.environments else "*",
            "read" if t.read_only else "read-write",
            fmt_time(t.created_at),
            f"revoked {fmt_time(t.revoked_at)}" if t.revoked_at is not None else "active",
            t.description,
        ]
        for t in found
    ]
    headers = ["ID", "PROJECT", "ENVIRONMENTS", "ACCESS", "CREATED", "STATUS", "DESCRIPTION"]
    table(headers, rows, states="STATUS")


@tokens.command("revoke")
@click.argument("token_id")
@json_option
@api_options
@pass_state
def revoke(state: CliState, token_id: str, as_json: bool) -> None:
    """Revoke a token: every later request with it is refused (--json: prints it)."""
    with state.client() as client:
        revoked = client.revoke_token(token_id)
    if as_json:
        emit_json(revoked)
    else:
        info(f"revoked token {revoked.id}")
