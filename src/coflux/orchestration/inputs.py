"""Inputs: the prompts (``cf.Prompt``) that running executions ask people to answer.

An execution asks (``RequestInput``); its run's input of the same key is found,
or a new one is made and recorded (``InputRequested``), so a prompt asked again,
by a resent request or by a re-run after a suspension, is the same input with
the same answer. The key is the prompt's template and placeholder values (the
SDK hashes them) or one the code chose (``with_key``), and is unique per run.

An input is settled once: answered (``InputResponded``, the value checked against
its JSON Schema first) or dismissed (``InputDismissed``); a second settlement is
refused and changes nothing. Each request for its response (``AwaitInput``) is
answered once: at once if it is settled, else when it is. An execution that
suspended waiting for inputs (``Suspended.waiting_for_inputs``) is not assigned
again until each of them is settled.

Inputs live in memory with their run (``Run.inputs``) and leave with it: an input
of a finished run can no longer be answered (``input_closed``). An input's id is
its run's id, a dot, and a random part, so the run that holds it is read off the
id, as an execution's is.
"""

from __future__ import annotations

from typing import Any

from coflux import protocol
from coflux.errors import BadRequest, Conflict, NotFound
from coflux.orchestration.arguments import is_schema, schema_error
from coflux.orchestration.effects import (
    Effect,
    InputDismissed,
    InputRequested,
    InputResponded,
    Send,
)
from coflux.orchestration.events import AwaitInput, RequestInput, SettleInput
from coflux.orchestration.executions import running_in
from coflux.orchestration.model import Execution, Input, ProjectState, Run, SessionWaiter

MAX_RUN_INPUTS = 10_000  # inputs one run may ask for (docs/inputs.md)


def new_input_id(run_id: str, suffix: str) -> str:
    """The id of a new input of ``run_id`` (``suffix``: random, from the shell)."""
    return f"{run_id}.{suffix}"


def run_of_input(input_id: str) -> str:
    """The run an input belongs to, read off its id."""
    return input_id.split(".", 1)[0]


def status(response: protocol.InputResponse | None) -> str:
    """``pending``, ``responded`` or ``dismissed``."""
    match response:
        case None:
            return "pending"
        case protocol.InputResponded():
            return "responded"
        case protocol.InputDismissed():
            return "dismissed"


def request(state: ProjectState, event: RequestInput, now: float, effects: list[Effect]) -> None:
    """Find or make the run's input of the request's key; reply with its id (and its
    response, if it is settled).

    Raises:
        NotFound, Conflict: the asking execution does not run in the session.
        BadRequest: ``invalid_schema`` (not a JSON Schema), ``too_many_inputs``, or
            an input id not of the asking execution's run (a bug in the shell).
    """
    asked = event.request
    execution = running_in(state, event.session_id, asked.execution_id)
    run = state.runs[execution.run_id]
    existing = run.input_keys.get(asked.key)
    response = None
    if existing is not None:
        response = run.inputs[existing].response
    else:
        _check_new(run, event)
        made = Input(event.new_input_id, run.id, execution.id, asked.key, asked.schema)
        run.inputs[made.id] = made
        run.input_keys[made.key] = made.id
        effects.append(InputRequested(_info(state, execution, made, asked, now), run.id, now))
        existing = made.id
    # A settled input's response comes with its id: a re-run (after a suspension) need
    # not ask for it and wait a round trip, which ``cf.suspense`` would not wait for.
    reply = protocol.InputReply(asked.request_id, existing, response)
    effects.append(Send(event.session_id, reply))


def _check_new(run: Run, event: RequestInput) -> None:
    new_id = event.new_input_id
    if run_of_input(new_id) != run.id or new_id in run.inputs:
        raise BadRequest("invalid_input_id", f"input id {new_id} is not a new one of run {run.id}")
    if len(run.inputs) >= MAX_RUN_INPUTS:
        raise BadRequest(
            "too_many_inputs", f"run {run.id} has asked for {len(run.inputs)} inputs already"
        )
    schema = event.request.schema
    if schema is not None and not is_schema(schema):
        raise BadRequest("invalid_schema", "the prompt's schema is not a valid JSON Schema")


def _info(
    state: ProjectState,
    execution: Execution,
    made: Input,
    asked: protocol.SubmitInput,
    now: float,
) -> protocol.InputInfo:
    return protocol.InputInfo(
        id=made.id,
        execution_id=execution.id,
        run_id=execution.run_id,
        environment=state.environments[execution.environment_id].name,
        key=asked.key,
        template=asked.template,
        created_at=now,
        title=asked.title,
        placeholders=asked.placeholders,
        schema=asked.schema,
        initial=asked.initial,
        actions=asked.actions,
        requires=asked.requires,
    )


def await_response(state: ProjectState, event: AwaitInput, effects: list[Effect]) -> None:
    """Reply with the input's response now if it has one, else once it has.

    Raises:
        NotFound: the input is not in memory (unknown, or its run has finished), or
            the waiting execution is not running.
        Conflict: the waiting execution does not run in the session.
    """
    asked = event.request
    running_in(state, event.session_id, asked.from_execution_id)
    found = _in_memory(state, asked.input_id)
    if found is None:
        raise NotFound(
            "unknown_input", f"input {asked.input_id} does not exist or its run has finished"
        )
    if found.response is not None:
        reply = protocol.InputReply(asked.request_id, found.id, found.response)
        effects.append(Send(event.session_id, reply))
    else:
        found.waiters.add(SessionWaiter(event.session_id, asked.request_id))


def settle(state: ProjectState, event: SettleInput, now: float, effects: list[Effect]) -> None:
    """Record an answer or a dismissal, and hand it to everyone waiting for it.

    Raises:
        NotFound: no such input in a run in memory, where its run is.
        Conflict: ``input_closed`` (its run has finished), or ``input_settled``
            (answered or dismissed already).
        BadRequest: ``invalid_input``: the value does not satisfy the schema (the
            message names where), or an approval was given a value.
    """
    run = state.runs.get(run_of_input(event.input_id))
    if run is None:
        raise Conflict(
            "input_closed", f"input {event.input_id} can no longer be answered: its run has ended"
        )
    found = run.inputs.get(event.input_id)
    if found is None:
        raise NotFound("unknown_input", f"input {event.input_id} does not exist")
    if found.response is not None:
        raise Conflict("input_settled", f"input {found.id} was {status(found.response)} already")
    match event.response:
        case protocol.InputResponded(value=value):
            _check_value(found, value)
            effects.append(InputResponded(found.id, found.run_id, value, event.by, now))
        case protocol.InputDismissed():
            effects.append(InputDismissed(found.id, found.run_id, event.by, now))
    found.response = event.response
    for waiter in sorted(found.waiters, key=lambda w: (w.session_id, w.request_id)):
        reply = protocol.InputReply(waiter.request_id, found.id, found.response)
        effects.append(Send(waiter.session_id, reply))
    found.waiters.clear()


def _check_value(found: Input, value: Any) -> None:
    if found.schema is None:
        if value is not None:
            raise BadRequest(
                "invalid_input", f"input {found.id} is an approval: it takes no value (null)"
            )
        return
    error = schema_error(found.schema, value)
    if error is not None:
        raise BadRequest("invalid_input", f"the answer to input {found.id} {error}")


def unanswered(state: ProjectState, execution: Execution) -> bool:
    """Whether an execution waits for an input that is still pending (it is not
    assigned until none is; an input that left memory holds nothing back)."""
    for input_id in execution.waiting_for_inputs:
        found = _in_memory(state, input_id)
        if found is not None and found.response is None:
            return True
    return False


def _in_memory(state: ProjectState, input_id: str) -> Input | None:
    run = state.runs.get(run_of_input(input_id))
    return run.inputs.get(input_id) if run is not None else None
