"""Projects: list and create."""

from __future__ import annotations

import msgspec

from coflux import protocol
from coflux.server.routes import Call
from coflux.views import ProjectInfo


class CreateProject(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: protocol.ProjectName


async def list_projects(call: Call) -> list[ProjectInfo]:
    return [p for p in call.context.projects.list() if call.principal.sees_project(p.id)]


async def create_project(call: Call) -> ProjectInfo:
    body: CreateProject = call.body
    return await call.context.projects.create(body.name)
