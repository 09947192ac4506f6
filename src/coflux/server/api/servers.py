"""The servers sharing the projects' database, and which owns which project (admin)."""

from __future__ import annotations

import asyncio

from coflux.server.routes import Call
from coflux.views import ServersView, ServerView


async def list_servers(call: Call) -> ServersView:
    projects = call.context.projects
    names = {info.id: info.name for info in projects.list()}
    ownership = await asyncio.to_thread(projects.catalog.ownership)
    if ownership is None:  # this server's own catalog: it serves every project
        this = ServerView(
            id="this", address=call.context.address, started_at=projects.started_at,
            heartbeat_at=projects.started_at, live=True, projects=sorted(names.values()),
        )  # fmt: skip
        return ServersView(shared=False, servers=[this], unowned=[])
    servers, leases = ownership
    owned: dict[str, list[str]] = {}
    unowned: list[str] = []
    for lease in leases:
        name = names.get(lease.project_id, lease.project_id)
        if lease.live:
            owned.setdefault(lease.owner, []).append(name)
        else:
            unowned.append(name)
    return ServersView(
        shared=True,
        servers=[
            ServerView(
                id=s.id,
                address=s.address,
                started_at=s.started_at,
                heartbeat_at=s.heartbeat_at,
                live=s.live,
                projects=sorted(owned.get(s.id, [])),
            )
            for s in servers
        ],
        unowned=sorted(unowned),
    )
