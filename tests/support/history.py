"""Seeded histories: the facts of many varied runs, and of one very large run, as an
orchestrator would have appended them, for recording straight into a project's store.

Used where driving real agents would take far too long: the run history benchmark
(``bench/run_history.py``, up to 1,000,000 runs) and Studio's tests on a large
project (``tests/e2e/test_large_project.py``). Everything is a function of its
arguments, so a test can work out what a page must show (which runs are failed,
which one a text finds) from the same functions that made the facts.

The history: run ``n`` of ``total`` is ``r{n:09d}``, created ``SPACING`` seconds
after run ``n - 1``, the newest at ``end``; one run in five is in staging, the
rest in production; twenty workflows in turn; mostly successes, some failures,
cancellations and time-outs, one abandoned run in 10,000, and the newest 200
unfinished (half queued, half assigned to session ``s1``); an idempotency key on
one run in ten; arguments holding an order number, a customer and a region.

The large run (``FanOut``): a workflow whose first step called a task 10,000
times; a few calls failed, a few failed once and succeeded on their retry, some
logged a line, and the workflow failed for its failed calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from coflux import protocol
from coflux.orchestration.effects import Fact
from coflux.orchestration.project import new_id
from coflux.orchestration.states import ExecutionState as Q
from coflux.server.datadir import DataDirectoryLock
from coflux.store.base import ProjectStore
from coflux.store.catalogs import open_catalog
from tests.store import facts

PROD, STAGING = "env-prod", "env-staging"
SESSION = "s1"
WORKFLOWS = [(f"repo{r}", f"flow{t}") for r in range(4) for t in range(5)]
REGIONS = ["eu-west", "eu-north", "us-east", "us-west", "ap-south", "ap-east", "sa-east"]
SPACING = 3.0  # seconds between runs: 1,000,000 runs span ~35 days, 10,000 ~8 hours
BATCH = 2_000  # runs a batch
UNFINISHED = 200  # the newest runs, still queued or assigned
# The end of a run by its number: mostly success, some failures, a few of the rest
# (abandoned is the rare one, one run in 10,000).
ENDS = [Q.SUCCEEDED] * 90 + [Q.FAILED] * 5 + [Q.CANCELLED] * 2 + [Q.TIMED_OUT] * 3


def setup_facts() -> list[Fact]:
    """What the runs refer to: the two environments and the session that ran them."""
    return [
        facts.environment(PROD, "production"),
        facts.environment(STAGING, "staging"),
        facts.session(SESSION, PROD),
    ]


def run_id_of(number: int) -> str:
    return f"r{number:09d}"


def environment_of(number: int) -> str:
    return STAGING if number % 5 == 0 else PROD


def workflow_of(number: int) -> tuple[str, str]:
    """The run's (repository, target)."""
    return WORKFLOWS[(number * 7) % len(WORKFLOWS)]


def created_at(number: int, total: int, end: float) -> float:
    return end - (total - 1 - number) * SPACING


def end_of(number: int, total: int) -> Q:
    """The state run ``number`` is left in (QUEUED or ASSIGNED: unfinished)."""
    if number >= total - UNFINISHED:
        return Q.ASSIGNED if number % 2 else Q.QUEUED
    if number % 10_000 == 7:
        return Q.ABANDONED
    # Knuth's multiplicative hash: ends spread evenly over workflows and environments.
    return ENDS[(number * 2_654_435_761) % 2**32 % len(ENDS)]


def run_facts(number: int, total: int, end: float) -> list[Fact]:
    """The facts of run ``number`` of ``total`` (the newest created at ``end``):
    created, its first step, and its end."""
    at = created_at(number, total, end)
    repository, target = workflow_of(number)
    arguments = (
        facts.value(f"order-{number:07d}"),
        facts.value({"customer": f"customer-{number % 50_000}", "region": REGIONS[number % 7]}),
    )
    run_id = run_id_of(number)
    found = facts.start_run(
        run_id, at, env_id=environment_of(number), repository=repository, target=target,
        key=f"key-{number}" if number % 10 == 0 else None, arguments=arguments,
    )  # fmt: skip
    root = f"{run_id}:1:1"
    state = end_of(number, total)
    if state is Q.QUEUED:
        return found
    found.append(facts.transition(root, Q.ASSIGNED, at + 0.1, SESSION))
    if state is not Q.ASSIGNED:
        found.append(facts.transition(root, state, at + 1.5, SESSION))
    if state is Q.SUCCEEDED:
        found.append(facts.outcome(root, protocol.Succeeded(value=facts.value(number)), at + 1.5))
    return found


def seed(
    store: ProjectStore,
    total: int,
    end: float,
    *,
    recorded: Callable[[int], None] = lambda runs: None,
) -> None:
    """Record ``setup_facts`` and ``total`` runs ending at ``end``, ``BATCH`` runs an
    append; ``recorded(n)`` is called after each append with the runs recorded so far."""
    store.append(setup_facts())
    for first in range(0, total, BATCH):
        last = min(first + BATCH, total)
        store.append([f for n in range(first, last) for f in run_facts(n, total, end)])
        recorded(last)


@dataclass(frozen=True)
class FanOut:
    """A production run of ``lab:survey`` whose root (step 1) called ``lab:sample``
    ``calls`` times, created at ``at``: call ``i`` is step ``i + 2``.

    Every 1,250th call from the 617th failed (its only attempt), every 2,500th from the 1,234th
    failed once and succeeded on its retry, every 50th logged a line, and call 4,321
    logged a warning about calibration drift; then the workflow failed.
    """

    at: float
    run_id: str = "rfanout"
    calls: int = 10_000
    batch: int = 2_000  # calls an append

    @property
    def root(self) -> str:
        return f"{self.run_id}:1:1"

    def failed(self) -> list[int]:
        """The step numbers of the calls that failed, in order."""
        return [i + 2 for i in range(self.calls) if i % 1_250 == 617]

    def retried(self) -> list[int]:
        """The step numbers of the calls that failed once, then succeeded."""
        return [i + 2 for i in range(self.calls) if i % 2_500 == 1_234]

    def logged(self) -> list[int]:
        """The step numbers of the calls that logged a line."""
        return [i + 2 for i in range(self.calls) if i % 50 == 0 or i + 2 == self.drifted]

    @property
    def drifted(self) -> int:
        """The step number of the call that logged a warning (the one line of its kind)."""
        return 4_321 + 2

    @staticmethod
    def error_of(number: int, attempt: int = 1) -> str:
        return f"sample {number - 2} is corrupt (attempt {attempt})"

    def log_of(self, number: int) -> str:
        if number == self.drifted:
            return f"calibration drift in sample {number - 2}"
        return f"sample {number - 2} checked"

    @property
    def end(self) -> float:
        return self._called_at(self.calls) + 10

    def _called_at(self, index: int) -> float:
        return self.at + 1 + index * 0.01

    def facts(self) -> Iterator[list[Fact]]:
        """The run's facts, ``batch`` calls an append (the run's creation first, its
        end last)."""
        yield [
            *facts.start_run(
                self.run_id,
                self.at,
                env_id=PROD,
                repository="lab",
                target="survey",
                arguments=(facts.value(f"survey of {self.calls} samples"),),
            ),
            facts.transition(self.root, Q.ASSIGNED, self.at + 0.5, SESSION),
        ]
        failed, retried, logged = set(self.failed()), set(self.retried()), set(self.logged())
        for first in range(0, self.calls, self.batch):
            batch: list[Fact] = []
            for index in range(first, min(first + self.batch, self.calls)):
                number, at = index + 2, self._called_at(index)
                batch += self._call(number, at, failed=number in failed, retried=number in retried)
                if number in logged:
                    level: protocol.LogLevel = "warning" if number == self.drifted else "info"
                    execution = f"{self.run_id}:{number}:{2 if number in retried else 1}"
                    batch.append(
                        facts.logs((execution, self.log_of(number), at + 0.5), level=level)
                    )
            yield batch
        error = protocol.ErrorInfo(
            type="RuntimeError",
            message=f"{len(failed)} of {self.calls} samples failed",
            traceback="Traceback (most recent call last): ...",
        )
        yield [
            facts.transition(self.root, Q.FAILED, self.end, SESSION),
            facts.outcome(self.root, protocol.Failed(error=error), self.end),
        ]

    def _call(self, number: int, at: float, *, failed: bool, retried: bool) -> list[Fact]:
        step_id = f"{self.run_id}:{number}"
        found = facts.step(
            self.run_id, number, at, env_id=PROD, parent=self.root, call_index=number - 2,
            repository="lab", target="sample", arguments=(facts.value(number - 2),),
        )  # fmt: skip
        if failed:
            return found + facts.fail(f"{step_id}:1", at + 0.1, self.error_of(number))
        if retried:
            return [
                *found,
                *facts.fail(f"{step_id}:1", at + 0.1, self.error_of(number)),
                *facts.attempt(step_id, 2, at + 1.5, env_id=PROD),
                *facts.succeed(f"{step_id}:2", at + 2, data=number - 2),
            ]
        return found + facts.succeed(f"{step_id}:1", at + 0.1, data=number - 2)


def seed_data_dir(
    data_dir: Path, project: str, total: int, end: float, fan_out: FanOut | None = None
) -> None:
    """Create ``project`` in a server's data directory as the server does (in its
    catalog, under the directory's lock) and record ``total`` runs ending at ``end``,
    and ``fan_out``'s run if given, before any server opens it."""
    with DataDirectoryLock.acquire(data_dir):
        catalog = open_catalog(None, data_dir)
        store = catalog.create(new_id(8), project, time.time())
        try:
            seed(store, total, end)
            for batch in fan_out.facts() if fan_out is not None else ():
                store.append(batch)
        finally:
            store.close()
            catalog.close()
