"""Inputs: list the prompts executions asked (``cf.Prompt``), inspect one, answer it
or dismiss it.

An answer is checked against the input's JSON Schema by the orchestrator
(``orchestration.inputs``), so a refused one (400 ``invalid_input``, naming where
it is wrong) changes nothing; an input is settled once (409 ``input_settled``).
Who settled it is recorded as the caller (``who``): ``token:ID`` (with the token's
description, if it has one) for a project token, ``admin`` for an admin token, and
``anonymous`` on a server without tokens, where nobody can be told apart.
"""

from __future__ import annotations

from typing import Any

import msgspec

from coflux import protocol
from coflux.errors import BadRequest
from coflux.orchestration.project import Project
from coflux.server.routes import Call
from coflux.views import InputList, InputView

STATUSES = ("pending", "responded", "dismissed")
STATUS_FILTERS = (*STATUSES, "all")


class Respond(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The answer: JSON that fits the input's schema (null, or no body, approves)."""

    value: Any = None


def _project(call: Call) -> Project:
    return call.context.projects.get(call.path["project"])


def who(call: Call) -> str:
    """Who the caller is, as an input records it (see the module docstring)."""
    principal = call.principal
    token = principal.token
    if token is not None:
        return (
            f"token:{token.id} ({token.description})" if token.description else f"token:{token.id}"
        )
    if principal.admin and call.context.authenticator.required:
        return "admin"
    return "anonymous"


def _statuses(call: Call) -> tuple[str, ...] | None:
    status = call.query_str("status") or "pending"
    if status not in STATUS_FILTERS:
        raise BadRequest(
            "invalid_query", f"'status' must be one of {', '.join(STATUS_FILTERS)}, not {status!r}"
        )
    return None if status == "all" else (status,)


async def list_inputs(call: Call) -> InputList:
    found = await _project(call).list_inputs(
        call.query_str("environment"), call.query_str("run"), _statuses(call)
    )
    # An environment-limited token sees only its environments' inputs.
    return InputList(inputs=[i for i in found if call.principal.sees_environment(i.environment)])


async def get_input(call: Call) -> InputView:
    return await _project(call).get_input(call.path["input_id"])


async def respond_input(call: Call) -> InputView:
    body: Respond = call.body
    response = protocol.InputResponded(body.value)
    return await _project(call).settle_input(call.path["input_id"], response, who(call))


async def dismiss_input(call: Call) -> InputView:
    response = protocol.InputDismissed()
    return await _project(call).settle_input(call.path["input_id"], response, who(call))
