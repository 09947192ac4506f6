"""The pure core, event by event, with a fake clock: no sockets, no disk."""

from __future__ import annotations

import copy

import pytest

from coflux import protocol
from coflux.errors import BadRequest, Conflict, InvalidTransition, NotFound, SessionRefused
from coflux.orchestration import events as ev
from coflux.orchestration.core import apply
from coflux.orchestration.effects import (
    Effect,
    EnvironmentRecorded,
    ExecutionTransitioned,
    LogsRecorded,
    ManifestRegistered,
    OutcomeRecorded,
    ReadOutcome,
    Resolve,
    RunCreated,
    Send,
    SessionStarted,
    StepCreated,
)
from coflux.orchestration.model import ProjectState
from coflux.orchestration.recovery import restore
from coflux.orchestration.sessions import secret_digest
from coflux.orchestration.states import EnvironmentStatus, ExecutionState
from coflux.store.base import ActiveExecution, ActiveRun, Snapshot

S = ExecutionState
P = protocol


def value(data: object) -> P.Value:
    return P.Value(format="json", data=data)


HELLO = P.Manifest(
    repository="hello",
    targets=(
        P.TargetDefinition(
            name="greet",
            type="workflow",
            parameters=(P.Parameter(name="name"), P.Parameter(name="punctuation", default="'!'")),
        ),
        P.TargetDefinition(name="shout", type="task", parameters=(P.Parameter(name="text"),)),
    ),
)


class Harness:
    """Applies events to one state at a controllable time and records the effects."""

    def __init__(self, session_timeout: float = 10.0) -> None:
        self.state = ProjectState(session_timeout=session_timeout)
        self.now = 1000.0
        self.connections = 0
        self.secrets: dict[str, str] = {}  # the resume secret of each session opened

    def apply(self, event: ev.Event) -> list[Effect]:
        effects = apply(self.state, event, self.now)[1]
        return effects + apply(self.state, ev.Assign(), self.now)[1]

    def refused(self, event: ev.Event, error: type[Exception]) -> Exception:
        """Apply an event that must raise, and check that it changed nothing."""
        before = copy.deepcopy(self.state)
        with pytest.raises(error) as raised:
            apply(self.state, event, self.now)
        assert self.state == before
        return raised.value

    def setup(self, *environments: tuple[str, str | None]) -> None:
        for name, base in environments or (("production", None),):
            self.apply(ev.CreateEnvironment(f"id-{name}", name, base))
        self.apply(
            ev.RegisterManifests(environments[0][0] if environments else "production", (HELLO,))
        )

    def connect(
        self,
        environment: str = "production",
        *,
        session_id: str | None = None,
        concurrency: int = 4,
        executing: tuple[str, ...] = (),
        provides: dict[str, tuple[str, ...]] | None = None,
        targets: dict[str, tuple[str, ...]] | None = None,
    ) -> tuple[str, list[Effect]]:
        self.connections += 1
        hello = P.Hello(
            protocol_version=P.PROTOCOL_VERSION,
            project="p",
            environment=environment,
            session_id=session_id,
            concurrency=concurrency,
            provides=provides or {},
            targets=targets if targets is not None else {"hello": ("greet", "shout")},
            executing=executing,
            session_secret=self.secrets.get(session_id or ""),
        )
        new_id = f"s{self.connections}"
        effects = self.apply(
            ev.ConnectSession(new_id, self.connections, environment, hello, f"secret-{new_id}")
        )
        welcome = next(e.message for e in sends(effects) if isinstance(e.message, P.Welcome))
        if welcome.session_secret is not None:
            self.secrets[welcome.session_id] = welcome.session_secret
        return welcome.session_id, effects

    def submit(self, run_id: str = "r1", *args: object, key: str | None = None) -> list[Effect]:
        arguments = tuple(value(a) for a in (args or ("Joe",)))
        return self.apply(ev.SubmitRun(run_id, "production", "hello", "greet", arguments, key))

    def call(self, session: str, parent: str, index: int, target: str = "shout") -> list[Effect]:
        submit = P.Submit(
            request_id=index + 100, parent_execution_id=parent, call_index=index,
            repository="hello", target=target, type="task", arguments=(value("x"),),
        )  # fmt: skip
        return self.apply(ev.ScheduleStep(session, submit))

    def complete(self, session: str, execution_id: str, result: object = "ok") -> list[Effect]:
        outcome = P.Succeeded(value(result))
        return self.apply(ev.CompleteExecution(session, execution_id, outcome))


def submission(
    parent: str,
    index: int,
    *,
    request_id: int | None = None,
    target: str = "shout",
    type: P.TargetType = "task",
    arguments: tuple[P.Value, ...] = (value("x"),),
    **options: object,
) -> P.Submit:
    """A call of ``hello.<target>`` from ``parent``, as an executor would send it."""
    return P.Submit(
        request_id=index + 100 if request_id is None else request_id,
        parent_execution_id=parent,
        call_index=index,
        repository="hello",
        target=target,
        type=type,
        arguments=arguments,
        options=P.TargetOptions(**options),  # type: ignore[arg-type]
    )


def sends(effects: list[Effect]) -> list[Send]:
    return [e for e in effects if isinstance(e, Send)]


def messages(effects: list[Effect], kind: type) -> list:  # type: ignore[type-arg]
    return [e.message for e in sends(effects) if isinstance(e.message, kind)]


def results(effects: list[Effect]) -> list[P.ResultReady]:
    """The ``ResultReady`` messages among the effects, by request id."""
    return sorted(messages(effects, P.ResultReady), key=lambda m: m.request_id)


def states(effects: list[Effect]) -> list[tuple[str, S]]:
    return [(e.execution_id, e.state) for e in effects if isinstance(e, ExecutionTransitioned)]


# --- environments ----------------------------------------------------------------


def test_create_environment_records_it() -> None:
    h = Harness()
    effects = h.apply(ev.CreateEnvironment("e1", "production", None))
    assert effects == [
        EnvironmentRecorded("e1", "production", None, EnvironmentStatus.ACTIVE, h.now)
    ]


@pytest.mark.parametrize("name", ["", "has space", "-leading", "x" * 65, "a/b"])
def test_invalid_environment_names_are_refused(name: str) -> None:
    h = Harness()
    assert h.refused(ev.CreateEnvironment("e1", name, None), BadRequest).reason == "invalid_name"


def test_duplicate_environment_and_unknown_base_are_refused() -> None:
    h = Harness()
    h.setup()
    h.refused(ev.CreateEnvironment("e2", "production", None), Conflict)
    h.refused(ev.CreateEnvironment("e2", "dev", "nope"), NotFound)


def test_rebase_into_a_cycle_is_refused() -> None:
    h = Harness()
    h.setup(("production", None), ("staging", "production"), ("dev", "staging"))
    error = h.refused(ev.UpdateEnvironment("production", change_base=True, base="dev"), Conflict)
    assert error.reason == "base_cycle"  # type: ignore[attr-defined]
    h.refused(ev.UpdateEnvironment("production", change_base=True, base="production"), Conflict)


def test_rename_and_rebase_and_remove_base() -> None:
    h = Harness()
    h.setup(("production", None), ("dev", "production"))
    effects = h.apply(
        ev.UpdateEnvironment("dev", new_name="dev-alice", change_base=True, base=None)
    )
    assert effects == [
        EnvironmentRecorded("id-dev", "dev-alice", None, EnvironmentStatus.ACTIVE, h.now)
    ]
    h.refused(ev.UpdateEnvironment("dev"), NotFound)


def test_archive_refused_while_a_child_depends_on_it() -> None:
    h = Harness()
    h.setup(("production", None), ("dev", "production"))
    h.refused(ev.SetEnvironmentStatus("production", EnvironmentStatus.ARCHIVED), Conflict)
    h.apply(ev.SetEnvironmentStatus("dev", EnvironmentStatus.ARCHIVED))
    h.apply(ev.SetEnvironmentStatus("production", EnvironmentStatus.ARCHIVED))
    # An archived environment gives up its name.
    h.apply(ev.CreateEnvironment("id-new", "production", None))


# --- manifests and submission ----------------------------------------------------


def test_registering_the_same_manifest_twice_records_once() -> None:
    h = Harness()
    h.apply(ev.CreateEnvironment("e1", "production", None))
    first = h.apply(ev.RegisterManifests("production", (HELLO,)))
    assert [type(e) for e in first] == [ManifestRegistered]
    assert h.apply(ev.RegisterManifests("production", (HELLO,))) == []


@pytest.mark.parametrize(
    "manifest",
    [
        P.Manifest(repository="bad repo"),
        P.Manifest(repository="r", targets=(P.TargetDefinition(name="a b", type="task"),)),
        P.Manifest(
            repository="r",
            targets=(P.TargetDefinition(name="t", type="task"),) * 2,
        ),
    ],
)
def test_invalid_manifests_are_refused(manifest: P.Manifest) -> None:
    h = Harness()
    h.setup()
    h.refused(ev.RegisterManifests("production", (manifest,)), BadRequest)


def test_submit_creates_run_step_and_queued_execution() -> None:
    h = Harness()
    h.setup()
    effects = h.submit("r1")
    assert [type(e) for e in effects[:2]] == [RunCreated, StepCreated]
    assert states(effects) == [("r1:1:1", S.QUEUED)]
    assert list(h.state.queue) == ["r1:1:1"]


@pytest.mark.parametrize(
    ("event", "error", "reason"),
    [
        (ev.SubmitRun("r", "nope", "hello", "greet", (value(1),)), NotFound, "unknown_environment"),
        (ev.SubmitRun("r", "production", "nope", "greet", (value(1),)), NotFound, "unknown_repository"),
        (ev.SubmitRun("r", "production", "hello", "nope", (value(1),)), NotFound, "unknown_target"),
        (ev.SubmitRun("r", "production", "hello", "shout", (value(1),)), NotFound, "unknown_target"),
        (ev.SubmitRun("r", "production", "hello", "greet", ()), BadRequest, "wrong_argument_count"),
        (ev.SubmitRun("r", "production", "hello", "greet", (value(1),) * 3), BadRequest, "wrong_argument_count"),
    ],
)  # fmt: skip
def test_bad_submissions_change_nothing(event: ev.SubmitRun, error: type, reason: str) -> None:
    h = Harness()
    h.setup()
    assert h.refused(event, error).reason == reason  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", [EnvironmentStatus.PAUSED, EnvironmentStatus.ARCHIVED])
def test_submitting_to_a_paused_or_archived_environment_is_refused(
    status: EnvironmentStatus,
) -> None:
    h = Harness()
    h.setup()
    h.apply(ev.SetEnvironmentStatus("production", status))
    event = ev.SubmitRun("r", "production", "hello", "greet", (value(1),))
    h.refused(event, NotFound if status is EnvironmentStatus.ARCHIVED else Conflict)


# --- sessions and assignment -----------------------------------------------------


def test_connect_opens_a_session_and_assigns_queued_work() -> None:
    h = Harness()
    h.setup()
    h.submit("r1")
    session, effects = h.connect()
    assert any(isinstance(e, SessionStarted) for e in effects)
    assert messages(effects, P.Welcome) == [P.Welcome(session, False, f"secret-{session}")]
    (execute,) = messages(effects, P.Execute)
    assert (execute.execution_id, execute.target, execute.arguments) == (
        "r1:1:1",
        "greet",
        (value("Joe"),),
    )
    assert states(effects) == [("r1:1:1", S.ASSIGNED)]
    assert not h.state.queue


def test_connect_to_unknown_environment_or_with_no_concurrency_is_refused() -> None:
    h = Harness()
    h.setup()
    hello = P.Hello(protocol_version=1, project="p", environment="x")
    h.refused(ev.ConnectSession("s", 1, "x", hello), NotFound)
    hello = P.Hello(protocol_version=1, project="p", environment="production", concurrency=0)
    h.refused(ev.ConnectSession("s", 1, "production", hello), BadRequest)


def test_work_goes_only_to_sessions_hosting_the_target_in_the_same_environment() -> None:
    h = Harness()
    h.setup(("production", None), ("dev", "production"))
    h.connect("dev")
    h.connect(targets={"hello": ("shout",)})
    h.submit("r1")
    assert list(h.state.queue) == ["r1:1:1"]
    session, effects = h.connect()
    assert states(effects) == [("r1:1:1", S.ASSIGNED)]
    assert h.state.executions["r1:1:1"].session_id == session


def test_concurrency_limits_assignments_and_oldest_goes_first() -> None:
    h = Harness()
    h.setup()
    for n in range(3):
        h.submit(f"r{n}")
        h.now += 1
    session, effects = h.connect(concurrency=2)
    assert [e for e, _ in states(effects)] == ["r0:1:1", "r1:1:1"]
    effects = h.complete(session, "r0:1:1")
    assert ("r2:1:1", S.ASSIGNED) in states(effects)


def test_requires_routes_to_a_session_that_provides_the_tags() -> None:
    h = Harness()
    h.setup()
    plain, _ = h.connect(concurrency=10)
    gpu, _ = h.connect(provides={"gpu": ("A100", "H100")})
    h.submit("r1")
    parent = h.state.executions["r1:1:1"]
    submit = P.Submit(
        request_id=1, parent_execution_id=parent.id, call_index=0, repository="hello",
        target="shout", type="task", arguments=(value("x"),),
        options=P.TargetOptions(requires={"gpu": ("H100",)}),
    )  # fmt: skip
    effects = h.apply(ev.ScheduleStep(parent.session_id or "", submit))
    assert states(effects)[-1] == ("r1:2:1", S.ASSIGNED)
    assert h.state.executions["r1:2:1"].session_id == gpu != plain


def test_requires_with_no_matching_session_stays_queued() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect(provides={"gpu": ("A100",)})
    h.submit("r1")
    submit = P.Submit(
        request_id=1, parent_execution_id="r1:1:1", call_index=0, repository="hello",
        target="shout", type="task", arguments=(), options=P.TargetOptions(requires={"gpu": ("H100",)}),
    )  # fmt: skip
    h.apply(ev.ScheduleStep(session, submit))
    assert list(h.state.queue) == ["r1:2:1"]


def test_paused_environment_assigns_nothing_until_resumed() -> None:
    h = Harness()
    h.setup()
    h.submit("r1")
    h.apply(ev.SetEnvironmentStatus("production", EnvironmentStatus.PAUSED))
    _, effects = h.connect()
    assert messages(effects, P.Execute) == []
    effects = h.apply(ev.SetEnvironmentStatus("production", EnvironmentStatus.ACTIVE))
    assert [m.execution_id for m in messages(effects, P.Execute)] == ["r1:1:1"]


# --- steps, results, waiters -----------------------------------------------------


def test_a_call_creates_a_step_and_replies_with_its_execution() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    effects = h.call(session, "r1:1:1", 0)
    step = next(e for e in effects if isinstance(e, StepCreated))
    assert (step.step_id, step.parent_execution_id, step.call_index) == ("r1:2", "r1:1:1", 0)
    assert messages(effects, P.Submitted) == [P.Submitted(100, "r1:2:1")]
    assert ("r1:2:1", S.ASSIGNED) in states(effects)


def test_a_resent_call_creates_nothing_new() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    h.call(session, "r1:1:1", 0)
    effects = h.call(session, "r1:1:1", 0)
    assert effects == [Send(session, P.Submitted(100, "r1:2:1"))]


def test_a_call_from_an_execution_not_running_in_the_session_is_refused() -> None:
    h = Harness()
    h.setup()
    h.connect()
    h.submit("r1")
    submit = P.Submit(
        request_id=1, parent_execution_id="r1:1:1", call_index=0, repository="hello",
        target="shout", type="task", arguments=(),
    )  # fmt: skip
    h.refused(ev.ScheduleStep("other-session", submit), Conflict)
    unknown = P.Submit(
        request_id=1, parent_execution_id="nope:1:1", call_index=0, repository="hello",
        target="shout", type="task", arguments=(),
    )  # fmt: skip
    h.refused(ev.ScheduleStep("x", unknown), NotFound)


@pytest.mark.parametrize(
    ("repository", "target"), [("bad repo", "t"), ("hello", "../x"), ("", "t")]
)
def test_a_call_with_invalid_names_is_refused(repository: str, target: str) -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    submit = P.Submit(
        request_id=1, parent_execution_id="r1:1:1", call_index=0, repository=repository,
        target=target, type="task", arguments=(),
    )  # fmt: skip
    h.refused(ev.ScheduleStep(session, submit), BadRequest)


def test_result_request_waits_then_is_answered_on_completion() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    h.call(session, "r1:1:1", 0)
    request = P.GetResult(request_id=7, execution_id="r1:2:1", from_execution_id="r1:1:1")
    assert h.apply(ev.RequestResult(session, request)) == []
    effects = h.complete(session, "r1:2:1", "LOUD")
    # The request is answered, and so is the submission (its caller did not ask).
    assert results(effects) == [
        P.ResultReady(7, "r1:2:1", P.Succeeded(value("LOUD"))),
        P.ResultReady(100, "r1:2:1", P.Succeeded(value("LOUD"))),
    ]
    assert messages(effects, P.Ack) == [P.Ack(("r1:2:1",))]
    # Asking again once it finished is answered at once.
    effects = h.apply(ev.RequestResult(session, request))
    assert messages(effects, P.ResultReady)[0].outcome == P.Succeeded(value("LOUD"))


def test_failure_is_recorded_and_delivered_to_local_waiters() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    h.apply(ev.AwaitOutcome(5, "r1:1:1"))
    failed = P.Failed(P.ErrorInfo(type="builtins.ValueError", message="bad"))
    effects = h.apply(ev.CompleteExecution(session, "r1:1:1", failed))
    assert ("r1:1:1", S.FAILED) in states(effects)
    assert OutcomeRecorded("r1:1:1", "r1", failed, h.now) in effects
    assert Resolve(5, "r1:1:1", failed) in effects


def test_forgotten_local_waiter_is_not_resolved() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    h.apply(ev.AwaitOutcome(5, "r1:1:1"))
    h.apply(ev.ForgetWaiter(5, "r1:1:1"))
    assert not [e for e in h.complete(session, "r1:1:1") if isinstance(e, Resolve)]


def test_completion_from_another_session_is_refused_and_a_repeat_is_only_acked() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    h.refused(ev.CompleteExecution("intruder", "r1:1:1", P.Succeeded(value(1))), Conflict)
    h.complete(session, "r1:1:1")
    assert h.complete(session, "r1:1:1") == [Send(session, P.Ack(("r1:1:1",)))]


def test_a_finished_run_leaves_memory() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1", key="k1")
    assert h.state.idempotency_keys == {"k1": "r1"}
    h.call(session, "r1:1:1", 0)
    h.complete(session, "r1:1:1")
    assert "r1" in h.state.runs  # its child still runs
    h.complete(session, "r1:2:1")
    assert h.state.runs == {} and h.state.executions == {} and h.state.idempotency_keys == {}
    assert h.state.sessions[session].executions == set()


# --- cancellation ----------------------------------------------------------------


def test_cancelling_a_run_cancels_unfinished_descendants_and_aborts_running_ones() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect(concurrency=2)
    h.submit("r1")
    h.call(session, "r1:1:1", 0)  # assigned
    h.call(session, "r1:1:1", 1)  # queued: no capacity
    h.apply(ev.AwaitOutcome(9, "r1:1:1"))
    effects = h.apply(ev.CancelRun("r1"))
    assert sorted(states(effects)) == [
        ("r1:1:1", S.CANCELLED),
        ("r1:2:1", S.CANCELLED),
        ("r1:3:1", S.CANCELLED),
    ]
    assert sorted(m.execution_id for m in messages(effects, P.Abort)) == ["r1:1:1", "r1:2:1"]
    assert Resolve(9, "r1:1:1", P.Cancelled()) in effects
    assert h.state.runs == {}


def test_cancelling_one_execution_leaves_its_parent_running() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    h.call(session, "r1:1:1", 0)
    effects = h.apply(ev.CancelExecution("r1:2:1"))
    assert states(effects) == [("r1:2:1", S.CANCELLED)]
    assert h.state.executions["r1:1:1"].state is S.ASSIGNED


def test_cancelling_an_unknown_execution_is_refused() -> None:
    h = Harness()
    h.setup()
    h.refused(ev.CancelExecution("nope:1:1"), NotFound)


# --- disconnection, expiry, resumption -------------------------------------------


def test_a_session_silent_past_the_timeout_has_its_executions_abandoned() -> None:
    h = Harness(session_timeout=10)
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    h.apply(ev.AwaitOutcome(1, "r1:1:1"))
    h.apply(ev.DisconnectSession(session, 1))
    assert h.state.next_deadline() == h.now + 10
    h.now += 9.9
    assert states(h.apply(ev.Tick())) == []
    h.now += 0.2
    effects = h.apply(ev.Tick())
    assert states(effects) == [("r1:1:1", S.ABANDONED)]
    assert Resolve(1, "r1:1:1", P.Abandoned()) in effects
    assert session not in h.state.sessions


def test_a_stale_disconnect_does_not_affect_a_newer_connection() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    resumed, _ = h.connect(session_id=session)
    assert resumed == session
    h.apply(ev.DisconnectSession(session, 1))  # the first connection, replaced already
    assert h.state.sessions[session].connected


def test_resuming_keeps_held_executions_and_assigns_the_undelivered_again() -> None:
    """An execution assigned to the session that the agent does not hold never
    reached it (its server stopped before sending it): not abandoned, but queued
    and assigned again, the same execution, as if it had never been assigned."""
    h = Harness()
    h.setup()
    session, _ = h.connect(concurrency=2)
    h.submit("r1")
    h.submit("r2")
    h.submit("r3")  # queued: the session is full
    h.apply(ev.DisconnectSession(session, 1))
    h.now += 5
    resumed, effects = h.connect(session_id=session, executing=("r1:1:1",), concurrency=2)
    assert resumed == session
    assert messages(effects, P.Welcome) == [P.Welcome(session, True)]
    # r2 is back in the queue behind r3, which takes the free slot first.
    assert states(effects) == [("r2:1:1", S.QUEUED), ("r3:1:1", S.ASSIGNED)]
    assert h.state.executions["r1:1:1"].state is S.ASSIGNED
    assert h.state.executions["r2:1:1"].session_id is None
    assert h.state.sessions[session].executions == {"r1:1:1", "r3:1:1"}
    assert h.state.sessions[session].expires_at is None
    assert "r2:1:1" in h.state.queue
    # Once a slot frees, the same execution (attempt 1) is assigned again.
    h.complete(session, "r1:1:1")
    assert h.state.executions["r2:1:1"].state is S.ASSIGNED
    assert h.state.executions["r2:1:1"].session_id == session
    assert set(h.state.runs["r2"].executions) == {"r2:1:1"}


def test_resuming_an_unknown_session_opens_a_new_one() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect(session_id="forgotten")
    assert session != "forgotten"


def test_delayed_execution_is_assigned_only_when_due() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    submit = P.Submit(
        request_id=1, parent_execution_id="r1:1:1", call_index=0, repository="hello",
        target="shout", type="task", arguments=(), options=P.TargetOptions(delay=5),
    )  # fmt: skip
    effects = h.apply(ev.ScheduleStep(session, submit))
    assert states(effects) == [("r1:2:1", S.QUEUED)]
    assert h.state.next_deadline() == h.now + 5
    h.now += 5
    effects = h.apply(ev.Tick())
    assert ("r1:2:1", S.ASSIGNED) in states(effects)
    assert h.state.next_deadline() is None


def test_an_invalid_transition_changes_nothing() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    h.complete(session, "r1:1:1")
    h.submit("r2")
    execution = h.state.executions["r2:1:1"]
    from coflux.orchestration.states import transition

    with pytest.raises(InvalidTransition):
        transition(execution.id, S.SUCCEEDED, S.ASSIGNED)
    assert execution.state is S.ASSIGNED


# --- after a restart ---------------------------------------------------------------


def active(execution_id: str, state: S, *, session: str | None = None) -> ActiveExecution:
    run_id, number, attempt = execution_id.split(":")
    return ActiveExecution(
        execution_id=execution_id, step_id=f"{run_id}:{number}", run_id=run_id,
        step_number=int(number), attempt=int(attempt), environment_id="id-production",
        state=state, session_id=session, created_at=900.0 + int(attempt), due_at=900.0,
        repository="hello", target="greet" if number == "1" else "shout",
        type="workflow" if number == "1" else "task", arguments=(value("x"),),
        options=P.TargetOptions(), parent_execution_id=None if number == "1" else "r1:1:1",
        call_index=None if number == "1" else 0,
    )  # fmt: skip


def restarted() -> Harness:
    """r1's workflow was running in session s-old when the server stopped; its call
    (step r1:2) had failed once and its retry (attempt 2) was waiting in the queue.
    Only unfinished executions are restored, so attempt 1 is not in memory."""
    snapshot = Snapshot(
        environments=[EnvironmentRecorded("id-production", "production", None, EnvironmentStatus.ACTIVE, 0.0)],
        manifests=[("id-production", HELLO)],
        runs=[ActiveRun(run_id="r1", environment_id="id-production",
                        root_execution_id="r1:1:1", step_count=2)],
        executions=[active("r1:1:1", S.ASSIGNED, session="s-old"), active("r1:2:2", S.QUEUED)],
        calls=[("r1:1:1", 0, "r1:2:2")],
        session_secrets={"s-old": secret_digest("secret-s-old")},
    )  # fmt: skip
    h = Harness()
    h.state = restore(snapshot, session_timeout=10.0, now=h.now)
    h.secrets["s-old"] = "secret-s-old"
    return h


@pytest.mark.parametrize("secret", [None, "", "secret-s2", "secret-s1 "])
def test_a_hello_naming_a_session_without_its_secret_is_refused_and_changes_nothing(
    secret: str | None,
) -> None:
    h = Harness()
    h.setup()
    h.submit("r1")
    session, _ = h.connect()
    assert h.state.sessions[session].executions == {"r1:1:1"}
    before = copy.deepcopy(h.state)
    h.secrets[session] = secret  # type: ignore[assignment]
    with pytest.raises(SessionRefused):
        h.connect(session_id=session, executing=())
    # The real agent's session is untouched: still connected, still holding its work.
    assert h.state.sessions[session] == before.sessions[session]
    assert h.state.executions["r1:1:1"].state is S.ASSIGNED
    assert set(h.state.sessions) == {session}


def test_a_session_is_resumed_with_its_secret_after_a_restart_and_not_without() -> None:
    h = restarted()
    h.secrets["s-old"] = "secret-s-other"
    with pytest.raises(SessionRefused):
        h.connect(session_id="s-old", executing=("r1:1:1",))
    h.secrets["s-old"] = "secret-s-old"
    session, effects = h.connect(session_id="s-old", executing=("r1:1:1",))
    assert session == "s-old"
    assert messages(effects, P.Welcome) == [P.Welcome("s-old", True)]  # no new secret


def test_a_restored_session_without_a_recorded_secret_cannot_be_resumed() -> None:
    h = restarted()
    h.state.sessions["s-old"].secret_sha256 = None  # recorded before secrets were kept
    with pytest.raises(SessionRefused):
        h.connect(session_id="s-old", executing=("r1:1:1",))
    # A new session is what such an agent gets; the old one expires and is abandoned.
    session, _ = h.connect()
    assert session != "s-old"


def test_after_a_restart_an_earlier_attempt_is_answered_by_the_retry_that_carries_on() -> None:
    h = restarted()
    session, _ = h.connect(session_id="s-old", executing=("r1:1:1",))
    # The agent asks again for what it called (it got attempt 1's id back then).
    request = P.GetResult(request_id=7, execution_id="r1:2:1", from_execution_id="r1:1:1")
    effects = h.apply(ev.RequestResult(session, request))
    assert not [e for e in effects if isinstance(e, ReadOutcome)]  # not "does not exist"
    assert not results(effects)
    effects = h.complete(session, "r1:2:2", "LOUD")
    assert results(effects) == [P.ResultReady(7, "r1:2:2", P.Succeeded(value("LOUD")))]


def test_after_a_restart_an_attempt_with_nothing_carrying_on_is_read_from_the_store() -> None:
    h = restarted()
    session, _ = h.connect(session_id="s-old", executing=("r1:1:1",))
    for execution_id in ("r1:2:2", "r1:2:3", "r1:3:1"):  # not ended, or not there at all
        request = P.GetResult(request_id=8, execution_id=execution_id, from_execution_id="r1:1:1")
        effects = h.apply(ev.RequestResult(session, request))
        assert bool([e for e in effects if isinstance(e, ReadOutcome)]) == (
            execution_id != "r1:2:2"
        )


# --- logs ---------------------------------------------------------------------------


def entry(execution_id: str, text: str = "line") -> P.LogEntry:
    return P.LogEntry(execution_id=execution_id, timestamp=1.0, level="info", template=text)


def test_a_session_records_logs_only_for_its_own_executions() -> None:
    h = Harness()
    h.setup()
    mine, _ = h.connect(concurrency=1)
    other, _ = h.connect(concurrency=1)
    h.submit("r1")
    h.submit("r2")
    assert h.state.executions["r1:1:1"].session_id == mine
    assert h.state.executions["r2:1:1"].session_id == other
    entries = (entry("r1:1:1", "kept"), entry("r2:1:1"), entry("nope:1:1"), entry(""))
    effects = h.apply(ev.RecordLogs(mine, entries))
    assert effects == [LogsRecorded((entry("r1:1:1", "kept"),), ("r1",))]
    # Nothing of its own: nothing recorded at all.
    assert h.apply(ev.RecordLogs(mine, (entry("r2:1:1"),))) == []


# --- an agent speaks only for its own running executions ----------------------------


def test_result_requests_and_cancels_from_another_sessions_execution_are_refused() -> None:
    h = Harness()
    h.setup()
    mine, _ = h.connect(concurrency=1)
    other, _ = h.connect(concurrency=1)
    h.submit("r1")
    h.submit("r2")
    assert h.state.executions["r2:1:1"].session_id == other
    asking = P.GetResult(request_id=1, execution_id="r1:1:1", from_execution_id="r2:1:1")
    h.refused(ev.RequestResult(mine, asking), Conflict)
    h.refused(ev.CancelExecution("r1:1:1", mine, "r2:1:1"), Conflict)
    h.refused(ev.CancelExecution("r1:1:1", mine, "nope:1:1"), NotFound)
    # From its own running execution, the same requests are accepted.
    own = P.GetResult(request_id=2, execution_id="r2:1:1", from_execution_id="r1:1:1")
    h.apply(ev.RequestResult(mine, own))
    assert ("r2:1:1", S.CANCELLED) in states(h.apply(ev.CancelExecution("r2:1:1", mine, "r1:1:1")))
