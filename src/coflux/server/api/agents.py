"""Agents: the sessions connected to an environment (live, from the project's actor)."""

from __future__ import annotations

import msgspec

from coflux.server.routes import Call


class AgentView(msgspec.Struct, frozen=True):
    session_id: str
    connected: bool
    expires_at: float | None  # when a disconnected session will be given up
    concurrency: int
    provides: dict[str, tuple[str, ...]]
    targets: dict[str, list[str]]
    executions: list[str]  # the executions assigned to it now


async def list_agents(call: Call) -> list[AgentView]:
    project = call.context.projects.get(call.path["project"])
    sessions = await project.list_agents(call.path["environment"])
    return [
        AgentView(
            session_id=s.id,
            connected=s.connected,
            expires_at=s.expires_at,
            concurrency=s.concurrency,
            provides=s.provides,
            targets={repository: sorted(names) for repository, names in s.targets.items()},
            executions=sorted(s.executions),
        )
        for s in sessions
    ]
