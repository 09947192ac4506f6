"""The typed facade of one project: what HTTP handlers and the agent gateway call.

Writes become events for the project's actor (the only writer); reads go
straight to the store's views from a worker thread. Handlers never touch the
state or the database themselves.

The project also supervises its actor. When the actor fails (anything but a
refusal: a failed commit, a full disk, a bug), every caller hears
``ProjectUnavailable`` (HTTP 503) while the project's agents are disconnected,
the state is rebuilt from the store (after a back-off that grows while failures
repeat), and the actor serves again; the agents reconnect and resume their
sessions. Reads from the store go on working throughout.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import string
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import msgspec

from coflux import protocol
from coflux.errors import Conflict, NotFound, ProjectOwnedElsewhere
from coflux.ids import root_execution_id, run_of
from coflux.orchestration import environments, sessions
from coflux.orchestration import events as ev
from coflux.orchestration.actor import ExistingRun, ProjectActor
from coflux.orchestration.effects import (
    AssetRecorded,
    AssetRestored,
    ExecutionCreated,
    ExecutionTransitioned,
    Fact,
)
from coflux.orchestration.model import Execution, ProjectState, Run, Session
from coflux.orchestration.recovery import restore
from coflux.orchestration.states import EnvironmentStatus, ExecutionState
from coflux.store.base import FoundRuns, InputQuery, ProjectStore, RunPosition, RunQuery
from coflux.views import (
    EnvironmentView,
    InputView,
    LogView,
    MetricPointView,
    MetricView,
    ProjectInfo,
    RunAssets,
    RunOutline,
    RunSummary,
    RunView,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
AnyRun = TypeVar("AnyRun", RunOutline, RunView)

# Seconds before rebuilding a failed project: doubling from the first to the
# last while failures repeat, and back to the first once it has served for
# ``HEALTHY_AFTER`` seconds. The first rebuild is quick: most failures (a full
# disk that was cleared, a bug hit by one event) do not repeat at once.
REBUILD_DELAYS = (0.05, 30.0)
HEALTHY_AFTER = 60.0
_ALPHABET = string.ascii_lowercase + string.digits


def restored_state(
    store: ProjectStore, session_timeout: float, clock: Callable[[], float]
) -> ProjectState:
    """The project's state as its store holds it, once this server owns it (a
    blocking call: reads and restores everything unfinished).

    Raises:
        ProjectOwnedElsewhere: another server owns the project.
    """
    store.take_ownership()
    snapshot = store.load_snapshot()
    return restore(snapshot, session_timeout=session_timeout, now=clock())


def new_id(length: int = 10) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


class Project:
    """One project: its store, its actor, and the sessions of its agents.

    Made by ``open`` (which restores its state from the store).

    Args:
        store: the project's store.
        info: the project as its store records it.
        state: its state, as restored from the store.
        session_timeout: seconds an agent may be away before its work is abandoned.
        clock: the current time (seconds since the epoch).
        send: delivers a server message to an agent session.
        publish: receives each committed batch of facts, with the project id.
        disconnect: closes the connections of every agent of this project (they
            reconnect and resume their sessions once the project serves again).
    """

    def __init__(
        self,
        store: ProjectStore,
        info: ProjectInfo,
        state: ProjectState,
        *,
        session_timeout: float,
        clock: Callable[[], float],
        send: Callable[[str, protocol.ServerMessage], None],
        publish: Callable[[str, Sequence[Fact]], None],
        disconnect: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self._clock = clock
        self._session_timeout = session_timeout
        self._disconnect = disconnect
        self.info = info
        self.actor = ProjectActor(
            store, state, clock=clock, send=send,
            publish=lambda f: publish(self.info.id, f), name=self.info.name,
        )  # fmt: skip
        self._task: asyncio.Task[None] | None = None
        self.failures = 0  # failures since the project last served for a while
        self.lost: ProjectOwnedElsewhere | None = None  # another server owns it now

    @classmethod
    async def open(
        cls,
        store: ProjectStore,
        *,
        session_timeout: float,
        clock: Callable[[], float],
        send: Callable[[str, protocol.ServerMessage], None],
        publish: Callable[[str, Sequence[Fact]], None],
        disconnect: Callable[[], None] = lambda: None,
    ) -> Project:
        """Take the project's ownership, restore its state from the store and make
        it (not started). The reads and the restoring run on a worker thread: a
        server taking over many projects at once keeps serving the others, and
        restores them side by side (``server/projects.py``).

        Raises:
            ProjectOwnedElsewhere: another server owns the project.
        """

        def read() -> tuple[ProjectInfo, ProjectState]:
            return store.info(), restored_state(store, session_timeout, clock)

        info, state = await asyncio.to_thread(read)
        return cls(
            store, info, state, session_timeout=session_timeout, clock=clock, send=send,
            publish=publish, disconnect=disconnect,
        )  # fmt: skip

    @property
    def failure(self) -> str | None:
        """Why the project cannot serve now (its actor failed and is being rebuilt
        from the store), or None while it is healthy."""
        failure = self.actor.failure
        return None if failure is None else failure.message

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"project-{self.info.id}")

    async def _supervise(self) -> None:
        """Run the actor; each time it fails, rebuild it from the store and go on,
        unless another server owns the project now: then stop (``lost``)."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await self.actor.run()
            except ProjectOwnedElsewhere as error:
                self._lose(error)
                return
            except Exception as error:
                if loop.time() - started >= HEALTHY_AFTER:
                    self.failures = 0
                self.failures += 1
                logger.error(
                    "project %s (%s) failed; rebuilding it from its store (failure %d)",
                    self.info.name, self.info.id, self.failures, exc_info=error,
                )  # fmt: skip
                self._disconnect()
                try:
                    await self._rebuild()
                except ProjectOwnedElsewhere as error:
                    self._lose(error)
                    return

    def _lose(self, error: ProjectOwnedElsewhere) -> None:
        """Another server acquired the project: its agents go, its state is dropped
        with the actor (which refuses every call from now on), and the server lets
        the project go (``server/projects.py``)."""
        logger.warning("project %s (%s): %s", self.info.name, self.info.id, error.message)
        self.lost = error
        self._disconnect()

    async def _rebuild(self) -> None:
        """Restore the actor's state from the store, retrying with back-off.

        Raises:
            ProjectOwnedElsewhere: another server owns the project now.
        """
        first, last = REBUILD_DELAYS
        while True:
            await asyncio.sleep(min(last, first * 2 ** (self.failures - 1)))
            try:
                state = await asyncio.to_thread(
                    restored_state, self.store, self._session_timeout, self._clock
                )
            except ProjectOwnedElsewhere:
                raise
            except Exception:
                self.failures += 1
                logger.exception("project %s: rebuilding failed; trying again", self.info.id)
                continue
            self.actor.reset(state)
            logger.info("project %s (%s) rebuilt; serving again", self.info.name, self.info.id)
            return

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await asyncio.to_thread(self.store.close)

    async def _read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    # --- environments ------------------------------------------------------------

    async def list_environments(self) -> list[EnvironmentView]:
        return await self._read(self.store.list_environments)

    async def _environment(self, environment_id: str) -> EnvironmentView:
        views = await self.list_environments()
        return next(v for v in views if v.id == environment_id)

    async def _environment_id(self, name: str) -> str:
        for view in await self.list_environments():
            if view.name == name and view.status != EnvironmentStatus.ARCHIVED.value:
                return view.id
        raise environments.unknown(name)

    async def ensure_environment(self, name: str) -> None:
        """Create the default environment if this use of its name is its first
        (``environments.created_on_first_use``); any other name is left alone."""
        if not environments.created_on_first_use(self.actor.state, name):
            return
        try:
            await self.create_environment(name, None)
        except Conflict as e:
            if e.reason != "environment_exists":  # created meanwhile by another first use
                raise

    async def create_environment(self, name: str, base: str | None) -> EnvironmentView:
        environment_id = new_id(8)
        await self.actor.call(ev.CreateEnvironment(environment_id, name, base))
        return await self._environment(environment_id)

    async def update_environment(
        self, name: str, *, new_name: str | None, change_base: bool, base: str | None
    ) -> EnvironmentView:
        environment_id = await self._environment_id(name)
        await self.actor.call(ev.UpdateEnvironment(name, new_name, change_base, base))
        return await self._environment(environment_id)

    async def set_environment_status(self, name: str, status: EnvironmentStatus) -> EnvironmentView:
        environment_id = await self._environment_id(name)
        await self.actor.call(ev.SetEnvironmentStatus(name, status))
        return await self._environment(environment_id)

    # --- manifests ---------------------------------------------------------------

    async def register_manifests(
        self, environment: str, manifests: tuple[protocol.Manifest, ...]
    ) -> None:
        await self.ensure_environment(environment)
        await self.actor.call(ev.RegisterManifests(environment, manifests))

    async def list_manifests(self, environment: str) -> list[protocol.Manifest]:
        if environments.created_on_first_use(self.actor.state, environment):
            return []  # the default environment, before its first use: nothing registered
        return await self._read(self.store.list_manifests, await self._environment_id(environment))

    def _not_registered_yet(self, environment: str, repository: str) -> None:
        """Refuse a submission to the default environment before its first use, as
        one of a repository not registered there (no agent has connected to it):
        a refusal changes nothing, so it does not create the environment either."""
        if environments.created_on_first_use(self.actor.state, environment):
            raise NotFound(
                "unknown_repository",
                f"repository '{repository}' is not registered in environment '{environment}'"
                " (no agent has connected to it yet)",
            )

    # --- runs --------------------------------------------------------------------

    async def submit_run(
        self,
        environment: str,
        repository: str,
        target: str,
        arguments: tuple[protocol.Value, ...],
        idempotency_key: str | None,
    ) -> tuple[str, bool]:
        """Start a run; returns its id and whether it is new (False: key matched)."""
        self._not_registered_yet(environment, repository)
        run_id = new_id()
        event = ev.SubmitRun(run_id, environment, repository, target, arguments, idempotency_key)
        answer = await self.actor.call(event)
        if isinstance(answer, ExistingRun):
            return answer.run_id, False
        return run_id, True

    async def start_sensor(
        self,
        environment: str,
        repository: str,
        target: str,
        arguments: tuple[protocol.Value, ...],
    ) -> str:
        """Start a sensor; returns its id (the id of the run that keeps it going)."""
        self._not_registered_yet(environment, repository)
        run_id = new_id()
        event = ev.SubmitRun(run_id, environment, repository, target, arguments, None, "sensor")
        await self.actor.call(event)
        return run_id

    def why_run_waits(self, run_id: str) -> str | None:
        """Why no agent can start the run's first step as things stand
        (``sessions.why_unplaceable``); None if one can, or it is not queued."""
        if self.actor.failure is not None:  # failed since: its state is not to be read
            return None
        root = self.actor.root_execution(run_id)
        state = self.actor.state
        execution = state.executions.get(root) if root is not None else None
        if execution is None or execution.state is not ExecutionState.QUEUED:
            return None
        return sessions.why_unplaceable(
            state, execution.environment_id, execution.repository, execution.target,
            execution.options.requires,
        )  # fmt: skip

    async def list_sensors(self, environment: str | None) -> list[tuple[Run, Execution]]:
        """The running sensors (of one environment, if given), oldest first."""
        environment_id = await self._environment_id(environment) if environment else None
        return [
            (run, execution)
            for run, execution in self.actor.sensors()
            if environment_id is None or run.environment_id == environment_id
        ]

    async def stop_sensor(self, sensor_id: str) -> list[str]:
        if not any(run.id == sensor_id for run, _ in self.actor.sensors()):
            raise NotFound("unknown_sensor", f"sensor {sensor_id} is not running")
        return _cancelled(await self.actor.call(ev.CancelRun(sensor_id)))

    async def list_runs(self, **filters: Any) -> list[RunSummary]:
        environment = filters.pop("environment", None)
        if environment is not None:
            filters["environment_id"] = await self._environment_id(environment)
        return await self._read(self.store.list_runs, **filters)

    async def find_runs(
        self,
        environments: Sequence[str] | None,
        query: RunQuery,
        *,
        after: RunPosition | None,
        limit: int,
    ) -> FoundRuns:
        """A page of the runs of ``query`` in the named environments (None: in any).

        Raises:
            NotFound: an environment of that name does not exist (or is archived).
        """
        if environments is not None:
            ids = tuple([await self._environment_id(name) for name in environments])
            query = dataclasses.replace(query, environment_ids=ids)
        return await self._read(self.store.find_runs, query, after=after, limit=limit)

    async def count_runs(
        self, environment_ids: Sequence[str], since: float
    ) -> dict[str, dict[str, int]]:
        """The runs created at or after ``since``, counted by environment id and state
        (``ProjectStore.count_runs``)."""
        return await self._read(self.store.count_runs, environment_ids, since)

    async def get_run(self, run_id: str) -> RunView:
        run = await self._read(self.store.get_run, run_id)
        if run is None:
            raise NotFound("unknown_run", f"run {run_id} does not exist")
        return self._with_queued_reasons(run)

    async def get_run_outline(self, run_id: str, previews: bool = False) -> RunOutline:
        run = await self._read(self.store.get_run_outline, run_id, previews)
        if run is None:
            raise NotFound("unknown_run", f"run {run_id} does not exist")
        return self._with_queued_reasons(run)

    def _with_queued_reasons(self, run: AnyRun) -> AnyRun:
        """The run with its queued executions' ``queued_reason`` filled in from the
        live state (the store knows states, not why nothing runs them)."""
        # While the actor is failed its state is not to be read; the run still is.
        live = self.actor.state.runs.get(run.id) if self.actor.failure is None else None
        # Only a run in memory has unfinished executions to ask about: the steps of
        # a finished one (10,000, say) are not even looked through.
        reasons = self.actor.queued_reasons(live.unfinished) if live is not None else {}
        if not reasons:
            return run

        def explained(execution: Any) -> bool:
            # Queued in the view too: one assigned meanwhile has no reason, and one
            # queued again meanwhile is still shown as the store has it.
            return execution.state == "queued" and execution.id in reasons

        def with_reasons(step: Any) -> Any:
            if not any(explained(e) for e in step.executions):
                return step  # most steps: left as they are, not copied
            executions = [
                msgspec.structs.replace(e, queued_reason=reasons[e.id]) if explained(e) else e
                for e in step.executions
            ]
            return msgspec.structs.replace(step, executions=executions)

        return msgspec.structs.replace(run, steps=[with_reasons(s) for s in run.steps])

    async def get_run_summary(self, run_id: str) -> RunSummary:
        """The run without its steps: as cheap for 10,000 steps as for one."""
        run = await self._read(self.store.get_run_summary, run_id)
        if run is None:
            raise NotFound("unknown_run", f"run {run_id} does not exist")
        return run

    async def run_result(
        self, run_id: str, timeout: float
    ) -> tuple[RunSummary, protocol.Outcome | None]:
        """The run and its outcome (None while it has none), after waiting up to
        ``timeout`` seconds for one. Reads no steps: as cheap for a run of 10,000
        steps as for one."""
        run = await self._read(self.store.get_run_summary, run_id)
        if run is None:
            raise NotFound("unknown_run", f"run {run_id} does not exist")
        if run.completed_at is None and timeout > 0:
            root = self.actor.root_execution(run_id)
            if root is not None and await self.actor.wait_outcome(root, timeout) is not None:
                run = await self._read(self.store.get_run_summary, run_id) or run
        if run.completed_at is None:
            return run, None
        # The outcome of the root step's latest execution (named by its first).
        return run, await self._read(self.store.get_step_outcome, root_execution_id(run_id))

    async def rerun_step(self, step_id: str, environment: str | None) -> str:
        """Run a step again; returns the new execution's id."""
        effects = await self.actor.call(ev.RerunStep(step_id, environment))
        return next(e.execution_id for e in effects if isinstance(e, ExecutionCreated))

    async def cancel_run(self, run_id: str) -> list[str]:
        await self.get_run_summary(run_id)
        return _cancelled(await self.actor.call(ev.CancelRun(run_id)))

    async def cancel_execution(self, execution_id: str) -> list[str]:
        return _cancelled(await self.actor.call(ev.CancelExecution(execution_id)))

    async def list_logs(
        self,
        run_id: str,
        *,
        execution_id: str | None,
        after: int,
        limit: int = 1000,
        levels: Sequence[str] | None = None,
    ) -> list[LogView]:
        return await self._read(
            self.store.list_logs,
            run_id,
            execution_id=execution_id,
            after=after,
            limit=limit,
            levels=levels,
        )

    async def list_metrics(self, run_id: str, *, execution_id: str | None) -> list[MetricView]:
        return await self._read(self.store.list_metrics, run_id, execution_id=execution_id)

    async def list_metric_points(
        self, run_id: str, *, execution_id: str | None, after: int, limit: int = 1000
    ) -> list[MetricPointView]:
        return await self._read(
            self.store.list_metric_points,
            run_id,
            execution_id=execution_id,
            after=after,
            limit=limit,
        )

    # --- agents ------------------------------------------------------------------

    async def list_agents(self, environment: str) -> list[Session]:
        """The sessions of agents in an environment, connected or within their timeout."""
        environment_id = await self._environment_id(environment)
        sessions = [s for s in self.actor.sessions() if s.environment_id == environment_id]
        return sorted(sessions, key=lambda s: s.id)

    def connected_agents(self) -> dict[str, int]:
        """How many agents are connected now, by environment id (a disconnected
        session within its timeout is not counted: nothing reaches it)."""
        counts: dict[str, int] = {}
        for session in self.actor.sessions():
            if session.connected:
                counts[session.environment_id] = counts.get(session.environment_id, 0) + 1
        return counts

    def record_logs(self, session_id: str, entries: tuple[protocol.LogEntry, ...]) -> None:
        self.actor.post(ev.RecordLogs(session_id, entries))

    def record_metrics(
        self, session_id: str, executions: tuple[protocol.ExecutionMetrics, ...]
    ) -> None:
        self.actor.post(ev.RecordMetrics(session_id, executions))

    # --- assets ------------------------------------------------------------------

    async def persist_asset(self, session_id: str, asset: protocol.AssetInfo) -> protocol.AssetInfo:
        """Record an asset whose files are in the blob store; returns it as recorded.

        Raises:
            NotFound: its execution is not running.
            Conflict: its execution does not run in ``session_id``, or its id
                belongs to another execution's asset.
        """
        fact = AssetRecorded(asset, run_of(asset.execution_id), self._clock())
        await self.actor.call(ev.RecordAsset(session_id, fact))
        recorded = await self._read(self.store.get_asset, asset.id)
        if recorded is None or recorded.execution_id != asset.execution_id:
            raise Conflict("asset_id_taken", f"asset id {asset.id} is already taken")
        return recorded

    async def restore_asset(
        self, session_id: str, execution_id: str, asset_id: str
    ) -> protocol.AssetInfo:
        """An asset's entries, recording that ``execution_id`` restored it.

        Raises:
            NotFound: no such asset, or the execution is not running.
            Conflict: the execution does not run in ``session_id``.
        """
        asset = await self.get_asset(asset_id)
        fact = AssetRestored(asset_id, execution_id, run_of(execution_id), self._clock())
        await self.actor.call(ev.RecordAsset(session_id, fact))
        return asset

    async def get_asset(self, asset_id: str) -> protocol.AssetInfo:
        asset = await self._read(self.store.get_asset, asset_id)
        if asset is None:
            raise NotFound("unknown_asset", f"asset {asset_id} does not exist")
        return asset

    # --- inputs ------------------------------------------------------------------

    async def list_inputs(
        self, environment: str | None, run_id: str | None, statuses: tuple[str, ...] | None
    ) -> list[InputView]:
        """The inputs of an environment and/or a run (None: any) with one of
        ``statuses`` (None: any), newest first.

        Raises:
            NotFound: no environment of that name.
        """
        environment_id = await self._environment_id(environment) if environment else None
        query = InputQuery(environment_id=environment_id, run_id=run_id, statuses=statuses)
        return await self._read(self.store.list_inputs, query)

    async def get_input(self, input_id: str) -> InputView:
        found = await self._read(self.store.get_input, input_id)
        if found is None:
            raise NotFound("unknown_input", f"input {input_id} does not exist")
        return found

    async def settle_input(
        self, input_id: str, response: protocol.InputResponse, by: str
    ) -> InputView:
        """Answer (``InputResponded``) or dismiss an input, recording ``by`` as who did.

        Raises:
            NotFound: no such input.
            Conflict: ``input_settled`` (answered or dismissed already), or
                ``input_closed`` (its run has ended).
            BadRequest: ``invalid_input``: the answer does not fit its schema.
        """
        found = await self.get_input(input_id)
        if found.status != "pending":
            raise Conflict("input_settled", f"input {input_id} was {found.status} already")
        await self.actor.call(ev.SettleInput(input_id, response, by))
        return await self.get_input(input_id)

    async def environment_of(self, kind: str, identifier: str) -> str | None:
        """The name of the environment that a run, step, execution or asset belongs
        to (by its run's environment); None if there is no such thing.

        ``kind`` is the name of the path parameter: ``run_id``, ``sensor_id`` (a
        sensor is named by its run), ``step_id``, ``execution_id``, ``asset_id`` or
        ``input_id`` (an input is of the environment of the execution that asked).
        """
        run_id: str | None = None
        if kind in ("run_id", "sensor_id"):
            run_id = identifier
        elif kind == "step_id":
            record = await self._read(self.store.get_step_record, identifier)
            run_id = record.run_id if record is not None else None
        elif kind == "execution_id":
            run_id = await self._read(self.store.run_of_execution, identifier)
        elif kind == "input_id":
            found = await self._read(self.store.get_input, identifier)
            return found.environment if found is not None else None
        elif kind == "asset_id":
            asset = await self._read(self.store.get_asset, identifier)
            if asset is not None:
                run_id = await self._read(self.store.run_of_execution, asset.execution_id)
        if run_id is None:
            return None
        summary = await self._read(self.store.get_run_summary, run_id)
        return summary.environment if summary is not None else None

    async def list_run_assets(self, run_id: str) -> RunAssets:
        await self.get_run_summary(run_id)
        return await self._read(self.store.list_run_assets, run_id)


def _cancelled(effects: list[Any]) -> list[str]:
    return [
        e.execution_id
        for e in effects
        if isinstance(e, ExecutionTransitioned) and e.state is ExecutionState.CANCELLED
    ]
