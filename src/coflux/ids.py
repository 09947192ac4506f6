"""The ids of runs, steps and executions: the one place that builds and reads them.

A step id is ``RUN:NUMBER`` and an execution id ``RUN:NUMBER:ATTEMPT`` (docs/api.md),
so an id says where it belongs without a look-up: the run an execution belongs to
(to route a report to the run in memory, or a live fact to the run's subscribers),
its step (to group attempts) and its attempt are read off the id itself. That is
why the ids are composite rather than random, and why a step's id never changes
when it gets new attempts.

Reading them back is unambiguous because a run id never holds the separator ``:``.
The server makes run ids from 10 random lowercase letters and digits
(``orchestration.project.new_id``); the format itself only asks a run id to be
non-empty and free of ``:`` (tests use ids like ``R1``). It should not hold ``.``
either: an input id is ``RUN.SUFFIX`` (``orchestration.inputs``). A step number
counts the run's steps from 1 (the first step is the workflow's own) and an attempt
counts a step's executions from 1; both are written in decimal, without leading zeros,
so each id has exactly one spelling.

Studio reads the same ids in ``studio/src/model/ids.ts``, with the same rules; a
unit test (tests/unit/test_ids.py) keeps the building and reading of ids in these
two modules.
"""

from __future__ import annotations

import re

SEPARATOR = ":"
ROOT_NUMBER = 1  # the number of a run's first step: the workflow (or sensor) itself

_EXECUTION = re.compile(r"([^:]+):([1-9][0-9]*):([1-9][0-9]*)", re.ASCII)
_STEP = re.compile(r"([^:]+):([1-9][0-9]*)", re.ASCII)


def step_id(run_id: str, number: int) -> str:
    """The id of step ``number`` of run ``run_id``: ``RUN:NUMBER``."""
    return f"{run_id}{SEPARATOR}{number}"


def execution_id(step_id: str, attempt: int) -> str:
    """The id of attempt ``attempt`` of step ``step_id``: ``RUN:NUMBER:ATTEMPT``."""
    return f"{step_id}{SEPARATOR}{attempt}"


def root_step_id(run_id: str) -> str:
    """The id of a run's first step (the one its workflow or sensor runs in)."""
    return step_id(run_id, ROOT_NUMBER)


def root_execution_id(run_id: str) -> str:
    """The id of the first execution of a run's first step: the run's own start."""
    return execution_id(root_step_id(run_id), 1)


def run_of(id: str) -> str:
    """The run a step or execution id belongs to (its part before the first ``:``).

    It does not check the id (it is read for every fact a run publishes): an id
    without ``:`` comes back whole. Use ``parse_execution`` for ids from outside.
    """
    return id.partition(SEPARATOR)[0]


def step_of(execution_id: str) -> str:
    """The step an execution id belongs to (its part before the last ``:``).

    Like ``run_of`` it does not check the id: one without ``:`` comes back whole.
    """
    head, separator, _ = execution_id.rpartition(SEPARATOR)
    return head if separator else execution_id


def is_execution_id(text: str) -> bool:
    """Whether ``text`` has the shape of an execution id (three parts) rather than a
    run or step id: what the CLI asks of an id that may be either."""
    return text.count(SEPARATOR) == 2


def parse_execution(id: str) -> tuple[str, int, int]:
    """An execution id's run id, step number and attempt.

    Raises:
        ValueError: ``id`` is not ``RUN:NUMBER:ATTEMPT`` (a non-empty run id and two
            positive decimal integers without leading zeros).
    """
    found = _EXECUTION.fullmatch(id)
    if found is None:
        raise ValueError(f"{id!r} is not an execution id (RUN:NUMBER:ATTEMPT)")
    return found[1], int(found[2]), int(found[3])


def parse_step(id: str) -> tuple[str, int]:
    """A step id's run id and step number.

    Raises:
        ValueError: ``id`` is not ``RUN:NUMBER`` (a non-empty run id and a positive
            decimal integer without leading zeros).
    """
    found = _STEP.fullmatch(id)
    if found is None:
        raise ValueError(f"{id!r} is not a step id (RUN:NUMBER)")
    return found[1], int(found[2])
