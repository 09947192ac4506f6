"""Tokens: who is asking (``/api/auth``), and project tokens (admin only)."""

from __future__ import annotations

import asyncio

import msgspec

from coflux import protocol
from coflux.errors import Conflict, NotFound, ProjectOwnedElsewhere
from coflux.orchestration import environments
from coflux.server.auth import NOBODY
from coflux.server.routes import Call
from coflux.store.base import TokenRecord
from coflux.views import AuthView, EnvironmentView, TokenCreated, TokenView


class CreateToken(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    project: protocol.Name
    # Absent or null: every environment of the project, present and future.
    environments: tuple[protocol.Name, ...] | None = None
    read_only: bool = False
    description: protocol.Name = ""


def _view(record: TokenRecord) -> TokenView:
    return TokenView(
        id=record.id, project=record.project, environments=record.environments,
        read_only=record.read_only, description=record.description,
        created_at=record.created_at, revoked_at=record.revoked_at,
    )  # fmt: skip


async def get_auth(call: Call) -> AuthView:
    principal = call.principal
    required = call.context.authenticator.required
    if principal is NOBODY:
        return AuthView(required=required, authenticated=False, admin=False, token=None)
    token = principal.token
    view = _view(token) if token is not None else None
    return AuthView(required=required, authenticated=True, admin=principal.admin, token=view)


async def create_token(call: Call) -> TokenCreated:
    body: CreateToken = call.body
    if not call.context.authenticator.required:
        raise Conflict(
            "tokens_not_enforced",
            "this server has no admin token (--token-file or COFLUX_SERVER_TOKEN), so it"
            " checks no tokens: start it with one before creating project tokens",
        )
    project_id, listed = await _environments(call, body.project)
    if body.environments is not None:
        # The default environment may be named before its first use creates it.
        known = {e.name for e in listed}
        known.add(environments.DEFAULT_ENVIRONMENT)
        for name in body.environments:
            if name not in known:
                raise environments.unknown(name)
    record, token = await call.context.authenticator.tokens.create(
        project_id, body.environments, body.read_only, body.description
    )
    return TokenCreated(token=token, info=_view(record))


async def _environments(call: Call, project: str) -> tuple[str, list[EnvironmentView]]:
    """The project's id and environments, also when another server owns it (several
    servers on one database): then they are read from its store here."""
    try:
        served = call.context.projects.get(project)
    except ProjectOwnedElsewhere as e:
        store = await asyncio.to_thread(call.context.projects.catalog.open, e.project)
        try:
            return e.project, await asyncio.to_thread(store.list_environments)
        finally:
            store.close()
    return served.info.id, await served.list_environments()


async def list_tokens(call: Call) -> list[TokenView]:
    return [_view(r) for r in await call.context.authenticator.tokens.list()]


async def revoke_token(call: Call) -> TokenView:
    token_id = call.path["token_id"]
    record = await call.context.authenticator.tokens.revoke(token_id)
    if record is None:
        raise NotFound("unknown_token", f"token {token_id} does not exist")
    return _view(record)
