"""The single writer of one project: feeds events to the core and does its I/O.

One asyncio task per project owns the ``ProjectState``. It takes the events that
have queued up (a batch), applies each with ``core.apply``, appends every fact of
the batch to the store in one transaction (group commit), and only then performs
the deliveries and answers the callers. So an agent never hears of anything the
store does not have, and a burst of N events costs one commit, not N.

Waiters on executions that already left memory (their run finished) get the
outcome from the store here (``ReadOutcome``), after the batch's facts are committed.

Anything but a refusal going wrong in a batch (a failed commit, a full disk, a
bug in the core) leaves memory ahead of the store, so the actor *fails*: every
caller of that batch and every later one gets ``ProjectUnavailable`` at once,
nothing of the batch is delivered to anyone, and ``run`` raises for the
project's supervisor, which rebuilds the state from the store and ``reset``s
the actor (see ``project.Project``).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from coflux import protocol
from coflux.errors import CofluxError, NotFound, ProjectUnavailable
from coflux.orchestration import core, handles, sessions
from coflux.orchestration.effects import (
    Delivery,
    Effect,
    Fact,
    ReadOutcome,
    Resolve,
    Send,
)
from coflux.orchestration.events import (
    Assign,
    AwaitOutcome,
    CacheHit,
    Event,
    ForgetWaiter,
    LookupRequired,
    Lookups,
    RerunStep,
    ScheduleStep,
    SubmitRun,
    Tick,
)
from coflux.orchestration.executions import latest
from coflux.orchestration.model import (
    Execution,
    ProjectState,
    Run,
    Session,
    SessionWaiter,
    Waiter,
)
from coflux.orchestration.outcomes import deliver
from coflux.store.base import ProjectStore

logger = logging.getLogger(__name__)

MAX_BATCH = 2000
# Handles the store has vouched for (executions and assets are never deleted), so
# a handle passed on again and again costs one look-up; forgotten past this many.
KNOWN_HANDLES = 10_000


@dataclass(frozen=True, slots=True)
class ExistingRun:
    """The answer to a ``SubmitRun`` whose idempotency key names an earlier run."""

    run_id: str


@dataclass(slots=True)
class _Call:
    event: Event
    future: asyncio.Future[Any] | None
    on_error: Callable[[CofluxError], None] | None = None


@dataclass(slots=True)
class _Batch:
    facts: list[Fact] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    answers: list[tuple[asyncio.Future[Any], Any]] = field(default_factory=list)


class ProjectActor:
    """Owns one project's state; everything that changes it goes through here.

    Args:
        store: the project's store; this actor is its only writer.
        state: the state restored from the store.
        clock: returns the current time in seconds since the epoch.
        send: delivers a message to an agent session (must not block).
        publish: receives every committed batch of facts (live topics).
        name: how errors name the project.
    """

    def __init__(
        self,
        store: ProjectStore,
        state: ProjectState,
        *,
        clock: Callable[[], float],
        send: Callable[[str, protocol.ServerMessage], None],
        publish: Callable[[Sequence[Fact]], None],
        name: str = "",
    ) -> None:
        self._name = name
        self._failure: ProjectUnavailable | None = None
        self._store = store
        self._state = state
        self._clock = clock
        self._send = send
        self._publish = publish
        self._inbox: asyncio.Queue[_Call] = asyncio.Queue()
        self._waiting: dict[int, asyncio.Future[protocol.Outcome]] = {}
        self._next_token = 0
        self._known_handles: set[tuple[str, str]] = set()  # ("execution" | "asset", id)

    # --- callers -----------------------------------------------------------------

    async def call(self, event: Event) -> Any:
        """Apply ``event`` and return its effects once they are durable.

        Raises:
            CofluxError: the event was refused (nothing changed).
            ProjectUnavailable: the actor failed (whether the event took effect
                is unknown until the project is rebuilt: only what is in the
                store happened).
        """
        self._check()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait(_Call(event, future))
        return await future

    def post(self, event: Event, on_error: Callable[[CofluxError], None] | None = None) -> None:
        """Queue ``event`` without waiting; ``on_error`` hears if it is refused.

        While the actor is failed the event is dropped, ``on_error`` unheard: an
        agent's messages are posted, and its connection is closed on a failure,
        so it sends again what still matters once it has resumed its session.
        """
        if self._failure is None:
            self._inbox.put_nowait(_Call(event, None, on_error))
        else:
            logger.debug("project %s is unavailable; dropped %s", self._name, type(event).__name__)

    async def wait_outcome(self, execution_id: str, timeout: float) -> protocol.Outcome | None:
        """The execution's outcome, waiting up to ``timeout`` seconds; None if unfinished."""
        self._next_token += 1
        token = self._next_token
        future: asyncio.Future[protocol.Outcome] = asyncio.get_running_loop().create_future()
        self._waiting[token] = future
        try:
            await self.call(AwaitOutcome(token, execution_id))
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            self.post(ForgetWaiter(token, execution_id))
            return None
        finally:
            self._waiting.pop(token, None)

    def sensors(self) -> list[tuple[Run, Execution]]:
        """Running sensors: each sensor run with its current execution (copies)."""
        self._check()
        found = []
        for run in self._state.runs.values():
            root = self._state.executions.get(run.root_execution_id)
            if root is not None and root.type == "sensor":
                found.append((copy.copy(run), copy.copy(root)))
        return found

    def root_execution(self, run_id: str) -> str | None:
        """The latest execution of a run's first step; None once the run left memory."""
        self._check()
        run = self._state.runs.get(run_id)
        if run is None:
            return None
        executions = self._state.executions
        root = executions.get(run.root_execution_id)
        if root is None:  # restored after a restart without its first attempt
            roots = [executions[e] for e in run.executions if executions[e].step_number == 1]
            if not roots:
                return None
            root = max(roots, key=lambda e: e.attempt)
        return latest(self._state, root).id

    @property
    def state(self) -> ProjectState:
        """The state as it stands, to read on the event loop without awaiting (the
        scrape-time gauges of ``coflux.server.metrics``); never to change or keep."""
        return self._state

    def sessions(self) -> list[Session]:
        """The agent sessions as they stand (read-only; copies, safe to keep)."""
        self._check()
        return [copy.copy(s) for s in self._state.sessions.values()]

    def session(self, session_id: str) -> Session | None:
        """One agent session as it stands (a copy), or None if there is none."""
        self._check()
        session = self._state.sessions.get(session_id)
        return copy.copy(session) if session is not None else None

    def queued_reasons(self, execution_ids: Iterable[str]) -> dict[str, str]:
        """Why each of these executions is still queued (``sessions.queued_reason``);
        those not queued, or held back by nothing, are left out. Read-only."""
        self._check()
        now = self._clock()
        reasons = ((e, sessions.queued_reason(self._state, e, now)) for e in execution_ids)
        return {e: reason for e, reason in reasons if reason is not None}

    # --- failure -----------------------------------------------------------------

    @property
    def failure(self) -> ProjectUnavailable | None:
        """What every caller is told while the actor is failed; None while it serves."""
        return self._failure

    def _check(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _fail(self, calls: list[_Call], error: Exception) -> None:
        """Enter the failed state: refuse the batch's callers, the queued ones, and
        everyone waiting for an outcome. Their events may or may not have reached
        the store; nothing of them was delivered."""
        # One line: a driver's message may run over several (psycopg's do).
        cause = " ".join(str(error).split())
        detail = f"its state failed ({type(error).__name__}: {cause}) and is being rebuilt"
        self._failure = failure = ProjectUnavailable(self._name, detail)
        while not self._inbox.empty():
            calls.append(self._inbox.get_nowait())
        futures = [c.future for c in calls if c.future is not None] + list(self._waiting.values())
        for future in futures:
            if not future.done():
                future.set_exception(failure)
        self._waiting.clear()

    def reset(self, state: ProjectState) -> None:
        """Serve again from ``state``, rebuilt from the store after a failure."""
        self._state = state
        self._failure = None

    # --- the loop ----------------------------------------------------------------

    async def run(self) -> None:
        """Process events until cancelled.

        Raises:
            Exception: whatever made the actor fail (see the module docstring);
                it is failed by then, and serves again only after ``reset``.
        """
        self._check()
        while True:
            deadline = self._state.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self._clock())
            try:
                first = await asyncio.wait_for(self._inbox.get(), timeout)
                calls = [first]
            except TimeoutError:
                calls = []
            while calls and len(calls) < MAX_BATCH and not self._inbox.empty():
                calls.append(self._inbox.get_nowait())
            try:
                await self._process(calls)
            except Exception as error:
                self._fail(calls, error)
                raise

    async def _process(self, calls: list[_Call]) -> None:
        batch = _Batch()
        now = self._clock()
        for call in calls:
            try:
                answer = await self._handle(call.event, now, batch)
            except CofluxError as error:
                if call.future is not None and not call.future.done():
                    call.future.set_exception(error)
                elif call.on_error is not None:
                    call.on_error(error)
                continue
            if call.future is not None:
                batch.answers.append((call.future, answer))
        deadline = self._state.next_deadline()
        if deadline is not None and deadline <= now:
            self._collect(core.apply(self._state, Tick(), now)[1], batch)
        self._collect(core.apply(self._state, Assign(), now)[1], batch)
        await self._flush(batch)

    async def _handle(self, event: Event, now: float, batch: _Batch) -> Any:
        if isinstance(event, SubmitRun) and event.idempotency_key is not None:
            existing = await self._find_run(event.idempotency_key, batch)
            if existing is not None:
                return ExistingRun(existing)
        if isinstance(event, RerunStep) and event.record is None:
            await self._flush(batch)  # the step's latest execution may not be written yet
            record = await asyncio.to_thread(self._store.get_step_record, event.step_id)
            event = dataclasses.replace(event, record=record)
        await self._check_handles(event, batch)
        try:
            effects = core.apply(self._state, event, now)[1]
        except LookupRequired as required:
            assert isinstance(event, ScheduleStep)  # the only event that asks
            lookups = await self._look_up(required, batch)
            effects = core.apply(self._state, dataclasses.replace(event, lookups=lookups), now)[1]
        self._collect(effects, batch)
        return effects

    async def _look_up(self, required: LookupRequired, batch: _Batch) -> Lookups:
        """Answer a cache or memo look-up from the store (after writing what is pending)."""
        await self._flush(batch)
        cache = None
        if required.cache is not None:
            key, environment_ids, since = required.cache
            found = await asyncio.to_thread(self._store.find_cached, key, environment_ids, since)
            cache = CacheHit(*found) if found is not None else None
        memo = None
        if required.memo is not None:
            memo = await asyncio.to_thread(self._store.find_memoised, *required.memo)
        return Lookups(cache, memo)

    async def _check_handles(self, event: Event, batch: _Batch) -> None:
        """Refuse an event whose values name executions or assets the project lacks.

        Raises:
            BadRequest: ``unknown_handle`` (see ``handles``); nothing changed.
        """
        named = handles.named(event)
        if not named:
            return
        unknown = handles.unknown_in_memory(self._state, named)
        known = self._known_handles
        unknown = handles.Handles(
            {e: f for e, f in unknown.executions.items() if ("execution", e) not in known},
            {a: f for a, f in unknown.assets.items() if ("asset", a) not in known},
        )
        if not unknown:
            return
        await self._flush(batch)  # a run that ended in this batch is only in the batch
        missing = await asyncio.to_thread(self._missing_from_store, unknown)
        if len(known) > KNOWN_HANDLES:
            known.clear()
        known.update(("execution", e) for e in unknown.executions if e not in missing.executions)
        known.update(("asset", a) for a in unknown.assets if a not in missing.assets)
        handles.refuse(missing)

    def _missing_from_store(self, unknown: handles.Handles) -> handles.Handles:
        store = self._store
        return handles.Handles(
            {e: f for e, f in unknown.executions.items() if store.run_of_execution(e) is None},
            {a: f for a, f in unknown.assets.items() if store.get_asset(a) is None},
        )

    def _collect(self, effects: list[Effect], batch: _Batch) -> None:
        for effect in effects:
            if isinstance(effect, Fact):
                batch.facts.append(effect)
            else:
                batch.deliveries.append(effect)

    async def _find_run(self, key: str, batch: _Batch) -> str | None:
        existing = self._state.idempotency_keys.get(key)
        if existing is None:
            await self._flush(batch)
            existing = await asyncio.to_thread(self._store.find_run_by_idempotency_key, key)
        return existing

    def _stored_outcomes(self, execution_ids: set[str]) -> dict[str, protocol.Outcome | None]:
        return {id_: self._store.get_step_outcome(id_) for id_ in execution_ids}

    def _perform(self, delivery: Delivery, stored: dict[str, protocol.Outcome | None]) -> None:
        """Carry out one delivery (``stored``: outcomes read for ``ReadOutcome``)."""
        match delivery:
            case Send(session_id=session_id, message=message):
                self._send(session_id, message)
            case Resolve(token=token, outcome=outcome):
                future = self._waiting.get(token)
                if future is not None and not future.done():
                    future.set_result(outcome)
            case ReadOutcome(waiter=waiter, execution_id=execution_id):
                found = stored.get(execution_id)
                if found is not None:
                    self._perform(deliver(waiter, execution_id, found), stored)
                else:
                    self._unknown_execution(waiter, execution_id)

    def _unknown_execution(self, waiter: Waiter, execution_id: str) -> None:
        """A waiter on an execution the store does not have gets an error."""
        error = NotFound("unknown_execution", f"execution {execution_id} does not exist")
        if isinstance(waiter, SessionWaiter):
            info = protocol.ErrorInfo(type=type(error).__name__, message=str(error))
            failed = protocol.ResultReady(waiter.request_id, execution_id, protocol.Failed(info))
            self._send(waiter.session_id, failed)
        else:
            future = self._waiting.get(waiter.token)
            if future is not None and not future.done():
                future.set_exception(error)

    async def _flush(self, batch: _Batch) -> None:
        """Commit the batch's facts, then deliver and answer; leaves the batch empty."""
        if batch.facts:
            facts, batch.facts = batch.facts, []
            # A failure here leaves memory ahead of disk: let it crash the actor
            # (the project is then reloaded from the store) rather than carry on.
            # Small batches of a local store are committed on the loop (see its
            # ``inline_commit_limit``); the rest on a thread, so the server keeps
            # reading (and queueing the next batch) while they are written.
            if len(facts) <= self._store.inline_commit_limit:
                self._store.append(facts)
            else:
                await asyncio.to_thread(self._store.append, facts)
            self._publish(facts)
        deliveries, batch.deliveries = batch.deliveries, []
        wanted = {d.execution_id for d in deliveries if isinstance(d, ReadOutcome)}
        stored = await asyncio.to_thread(self._stored_outcomes, wanted) if wanted else {}
        for delivery in deliveries:
            self._perform(delivery, stored)
        answers, batch.answers = batch.answers, []
        for future, answer in answers:
            if not future.done():
                future.set_result(answer)
