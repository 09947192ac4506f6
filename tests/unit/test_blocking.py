"""Executions blocked waiting for a result free their agent's concurrency, within a
process cap; and a queued execution says why it waits (the pure core, no I/O)."""

from __future__ import annotations

from coflux import protocol
from coflux.errors import BadRequest, Conflict, NotFound
from coflux.orchestration import events as ev
from coflux.orchestration.effects import Effect
from coflux.orchestration.sessions import queued_reason
from coflux.orchestration.states import EnvironmentStatus
from tests.unit.test_core import Harness, messages, value

P = protocol


class Blocking(Harness):
    def open(
        self,
        *,
        concurrency: int = 2,
        max_executors: int | None = 4,
        session_id: str | None = None,
        executing: tuple[str, ...] = (),
        blocked: tuple[str, ...] = (),
        provides: dict[str, tuple[str, ...]] | None = None,
        prefetch: int = 0,
    ) -> tuple[str, list[Effect]]:
        self.connections += 1
        hello = P.Hello(
            protocol_version=P.PROTOCOL_VERSION, project="p", environment="production",
            session_id=session_id, concurrency=concurrency, provides=provides or {},
            targets={"hello": ("greet", "shout")}, executing=executing,
            max_executors=max_executors, blocked=blocked,
            session_secret=self.secrets.get(session_id or ""), prefetch=prefetch,
        )  # fmt: skip
        new_id = f"s{self.connections}"
        event = ev.ConnectSession(new_id, self.connections, "production", hello, f"secret-{new_id}")
        effects = self.apply(event)
        welcome = next(m for m in messages(effects, P.Welcome))
        if welcome.session_secret is not None:
            self.secrets[welcome.session_id] = welcome.session_secret
        return welcome.session_id, effects

    def calls(self, session: str, parent: str, n: int, **options: object) -> list[str]:
        """``n`` calls of ``shout`` from ``parent``; their execution ids."""
        ids = []
        for index in range(n):
            submit = P.Submit(
                request_id=index + 1, parent_execution_id=parent, call_index=index,
                repository="hello", target="shout", type="task", arguments=(value(index),),
                options=P.TargetOptions(**options),  # type: ignore[arg-type]
            )  # fmt: skip
            self.apply(ev.ScheduleStep(session, submit))
            ids.append(f"{parent.split(':')[0]}:{index + 2}:1")
        return ids

    def block(self, session: str, execution_id: str, blocked: bool = True) -> list[Effect]:
        return self.apply(ev.ReportBlocked(session, execution_id, blocked))

    def held(self, session: str) -> set[str]:
        return set(self.state.sessions[session].executions)


def assigned(effects: list[Effect]) -> list[str]:
    return [m.execution_id for m in messages(effects, P.Execute)]


def test_a_blocked_execution_frees_its_slot_and_resuming_takes_it_back() -> None:
    h = Blocking()
    h.setup()
    session, _ = h.open(concurrency=1, max_executors=4)
    h.submit("r1")
    children = h.calls(session, "r1:1:1", 3)
    assert h.held(session) == {"r1:1:1"}  # the workflow runs: the only slot is taken
    effects = h.block(session, "r1:1:1")
    assert assigned(effects) == [children[0]]  # its slot went to its first child
    assert h.held(session) == {"r1:1:1", children[0]}
    # Resumed, it runs again: nothing more starts until something ends.
    assert assigned(h.block(session, "r1:1:1", False)) == []
    assert assigned(h.complete(session, children[0])) == []
    assert assigned(h.block(session, "r1:1:1")) == [children[1]]


def test_the_process_cap_holds_however_many_executions_are_blocked() -> None:
    h = Blocking()
    h.setup()
    session, _ = h.open(concurrency=2, max_executors=3)
    h.submit("r1")
    h.submit("r2")
    children = h.calls(session, "r1:1:1", 4)
    assert h.held(session) == {"r1:1:1", "r2:1:1"}
    effects = h.block(session, "r1:1:1")
    effects += h.block(session, "r2:1:1")
    assert assigned(effects) == [children[0]]  # three held: the cap, not concurrency, binds
    for execution_id in (children[0],):
        h.block(session, execution_id)
    assert len(h.held(session)) == 3
    assert list(h.state.queue) == children[1:]
    # Something ending makes room again.
    assert assigned(h.complete(session, children[0])) == [children[1]]


def test_without_max_executors_the_cap_is_the_concurrency() -> None:
    h = Blocking()
    h.setup()
    session, _ = h.open(concurrency=1, max_executors=None)  # an agent of version 2
    h.submit("r1")
    h.calls(session, "r1:1:1", 1)
    assert assigned(h.block(session, "r1:1:1")) == []


def test_a_report_for_an_execution_not_assigned_to_the_session_is_refused() -> None:
    h = Blocking()
    h.setup()
    one, _ = h.open(concurrency=1)
    other, _ = h.open(concurrency=1)
    h.submit("r1")
    owner = h.state.executions["r1:1:1"].session_id
    stranger = other if owner == one else one
    h.refused(ev.ReportBlocked(stranger, "r1:1:1", True), Conflict)
    h.refused(ev.ReportBlocked(owner or "", "r9:1:1", True), Conflict)
    h.refused(ev.ReportBlocked("nobody", "r1:1:1", True), NotFound)


def test_max_executors_below_the_concurrency_is_refused() -> None:
    h = Blocking()
    h.setup()
    hello = P.Hello(
        protocol_version=P.PROTOCOL_VERSION, project="p", environment="production",
        concurrency=4, max_executors=3,
    )  # fmt: skip
    h.refused(ev.ConnectSession("s", 1, "production", hello), BadRequest)


def test_an_ended_execution_leaves_the_blocked_count() -> None:
    h = Blocking()
    h.setup()
    session, _ = h.open(concurrency=1, max_executors=4)
    h.submit("r1")
    (child,) = h.calls(session, "r1:1:1", 1)
    h.block(session, "r1:1:1")
    h.complete(session, child)
    h.complete(session, "r1:1:1")  # ended while it was reported blocked
    assert h.state.sessions[session].blocked == set()
    h.submit("r2")
    h.submit("r3")
    assert h.held(session) == {"r2:1:1"}  # a stale blocked entry would let r3 in too


def test_disconnect_and_resume_keep_the_counts_right() -> None:
    h = Blocking()
    h.setup()
    session, _ = h.open(concurrency=1, max_executors=4)
    h.submit("r1")
    children = h.calls(session, "r1:1:1", 2)
    h.block(session, "r1:1:1")
    assert h.held(session) == {"r1:1:1", children[0]}
    h.apply(ev.DisconnectSession(session, 1))
    h.now += 1
    # While away the agent saw its first child end and the workflow go on waiting;
    # the hello carries what it holds and which of those are blocked.
    h.complete(session, children[0])
    resumed, effects = h.open(
        concurrency=1, session_id=session, executing=("r1:1:1",), blocked=("r1:1:1", "r7:1:1")
    )
    assert resumed == session
    assert h.state.sessions[session].blocked == {"r1:1:1"}  # r7 is not held: ignored
    assert assigned(effects) == [children[1]]
    # A resume whose hello reports nothing blocked takes the slot back.
    h.apply(ev.DisconnectSession(session, h.connections))
    _, effects = h.open(
        concurrency=1, session_id=session, executing=("r1:1:1", children[1]), blocked=()
    )
    assert h.state.sessions[session].blocked == set()
    assert assigned(effects) == []
    h.submit("r2")
    assert "r2:1:1" in h.state.queue


def test_reasons_a_queued_execution_gives() -> None:
    h = Blocking()
    h.setup()
    h.submit("r1")
    now = h.now
    assert queued_reason(h.state, "r1:1:1", now) == "no agent in production hosts hello.greet"
    session, _ = h.open(concurrency=1, max_executors=2)
    assert queued_reason(h.state, "r1:1:1", now) is None  # assigned
    (gpu,) = h.calls(session, "r1:1:1", 1, requires={"gpu": ("A100",)})
    assert queued_reason(h.state, gpu, now) == "no agent that hosts hello.shout provides gpu=A100"
    h.open(concurrency=1, max_executors=1, provides={"gpu": ("A100",), "region": ("eu",)})
    assert queued_reason(h.state, gpu, now) is None
    assert gpu not in h.state.queue
    # A second plain call waits behind the first agent's running workflow.
    (plain,) = h.calls(session, "r1:1:1", 2)[1:]
    reason = queued_reason(h.state, plain, now)
    assert reason is not None and reason.startswith("every agent that can run it is full")
    h.apply(ev.SetEnvironmentStatus("production", EnvironmentStatus.PAUSED))
    assert queued_reason(h.state, plain, now) == "the environment production is paused"
    assert queued_reason(h.state, "r1:1:1", now) is None  # not queued
    assert queued_reason(h.state, "r0:1:1", now) is None  # unknown


def test_reason_names_every_tag_when_no_agent_provides_them_together() -> None:
    h = Blocking()
    h.setup()
    session, _ = h.open(concurrency=4, provides={"gpu": ("A100",)})
    h.open(concurrency=4, provides={"region": ("eu",)})
    h.submit("r1")
    (both,) = h.calls(
        h.state.executions["r1:1:1"].session_id or session,
        "r1:1:1",
        1,
        requires={"gpu": ("A100",), "region": ("eu", "us")},
    )
    assert queued_reason(h.state, both, h.now) == (
        "no agent that hosts hello.shout provides all of gpu=A100, region=eu,us"
    )


def test_prefetch_assigns_that_many_beyond_the_concurrency_within_the_process_cap() -> None:
    h = Blocking()
    h.setup()
    session, _ = h.open(concurrency=1, max_executors=3, prefetch=4)
    h.submit("r1")
    children = h.calls(session, "r1:1:1", 4)
    # The workflow runs; two children are held beside it: the cap (3), not the
    # prefetch (1 + 4), binds.
    assert h.held(session) == {"r1:1:1", *children[:2]}
    assert list(h.state.queue) == children[2:]
    assert assigned(h.complete(session, children[0])) == [children[2]]


def test_a_session_with_a_slot_free_gets_work_before_another_ones_prefetch() -> None:
    h = Blocking()
    h.setup()
    eager, _ = h.open(concurrency=1, max_executors=4, prefetch=2)
    h.submit("r1")  # the workflow goes to the only session
    assert h.held(eager) == {"r1:1:1"}
    idle, _ = h.open(concurrency=1, max_executors=4)
    first, second = h.calls(eager, "r1:1:1", 2)
    assert h.held(idle) == {first}  # a free slot, not the eager one's prefetch
    assert h.held(eager) == {"r1:1:1", second}  # then the prefetch


def test_a_resumed_session_takes_its_new_prefetch() -> None:
    h = Blocking()
    h.setup()
    session, _ = h.open(concurrency=1, max_executors=4)
    h.submit("r1")
    h.calls(session, "r1:1:1", 2)
    assert len(h.held(session)) == 1
    h.apply(ev.DisconnectSession(session, h.connections))
    _, effects = h.open(
        concurrency=1, max_executors=4, prefetch=1, session_id=session, executing=("r1:1:1",)
    )
    assert len(assigned(effects)) == 1
    assert len(h.held(session)) == 2
