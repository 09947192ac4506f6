"""A project's recent activity, environment by environment: what Studio's landing
pages show (docs/api.md, "Activity").

Every part of the answer costs the same on a history of a million runs as on a
short one: the counts are ranges of the index by environment, state and time
(``ProjectStore.count_runs``), the newest failure is the first run of the run
list filtered to ``failed`` (one index look-up), and the agents are counted in
the project's live state. Only the environments the caller's token opens are in
it, as in the run list.
"""

from __future__ import annotations

import time

from coflux.orchestration.states import EnvironmentStatus, ExecutionState
from coflux.server.routes import Call
from coflux.store.base import RunQuery
from coflux.views import EnvironmentActivity, ProjectActivity

DAY = 24 * 3600.0
WEEK = 7 * DAY
FAILED = (ExecutionState.FAILED.value,)


async def get_activity(call: Call) -> ProjectActivity:
    project = call.context.projects.get(call.path["project"])
    now = time.time()
    environments = [
        e
        for e in await project.list_environments()
        if e.status != EnvironmentStatus.ARCHIVED.value and call.principal.sees_environment(e.name)
    ]
    ids = [e.id for e in environments]
    last_day = await project.count_runs(ids, now - DAY)
    last_week = await project.count_runs(ids, now - WEEK)
    agents = project.connected_agents()
    activity = []
    for environment in environments:
        failures = RunQuery(environment_ids=(environment.id,), states=FAILED)
        newest = await project.find_runs(None, failures, after=None, limit=1)
        activity.append(
            EnvironmentActivity(
                environment=environment.name,
                status=environment.status,
                last_day=last_day.get(environment.id, {}),
                last_week=last_week.get(environment.id, {}),
                newest_failure=newest.runs[0] if newest.runs else None,
                agents=agents.get(environment.id, 0),
            )
        )
    return ProjectActivity(project=project.info.id, at=now, environments=activity)
