"""The reads of every ``ProjectStore``: which queries each one makes, once for all backends.

A backend answers ``Queries``: each method runs one statement of its SQL (or, for
``session_secrets`` and a search of ``runs``, a few) and returns its rows, with the
columns ``rows.py`` describes. ``ReadingStore`` implements the read half of
``base.ProjectStore`` on top: it borrows the backend's queries for one call
(``_reading``), asks for the rows it needs and builds the view with ``rows.py``. A
call that makes several queries asks for them ``consistent``: all in one read
transaction, so the view is of one state of the project while its writer appends.
"""

from __future__ import annotations

import abc
import contextlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, get_args

from coflux import protocol
from coflux.orchestration.events import StepRecord
from coflux.orchestration.states import ExecutionState
from coflux.store import rows
from coflux.store.base import FoundRuns, InputQuery, RunPosition, RunQuery, Snapshot
from coflux.store.rows import Row
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


@dataclass(frozen=True, slots=True)
class RunSelection:
    """Which runs a backend's ``Queries.runs`` reads, in which order, from where.

    ``branches``: the runs of each branch (a row whose columns have all of its
    values) together, so that each branch is read through the one index that
    serves its conditions and order, and the branches merged: a filter on several
    states is a branch per state. Column names are this module's, never a caller's.
    The other conditions hold for every branch.
    """

    branches: Sequence[Mapping[str, str]]
    since: float | None = None
    until: float | None = None
    search: str | None = None  # a run id, or a text in the arguments (3+ characters)
    oldest_first: bool = False
    after: RunPosition | None = None


class Queries(Protocol):
    """A backend's statements on one connection, for one project."""

    def template(self, column: Any) -> str:
        """Decode the template column of a row of ``logs``."""
        ...

    def project(self) -> Row | None: ...

    def environments(self) -> Iterable[Row]: ...

    def manifests(self, environment_id: str) -> Iterable[Row]:
        """The latest manifest's text of each repository in the environment, by name."""
        ...

    def runs(self, selection: RunSelection, limit: int) -> Iterable[Row]:
        """At most ``limit`` runs of ``selection``, in its order: id, environment id,
        repository, target, created_at, their root execution's state and its time,
        and their sequence number."""
        ...

    def run_counts(
        self, environment_ids: Sequence[str], states: Sequence[str], since: float
    ) -> Iterable[Row]:
        """A row per environment and state: environment id, state, and how many of its
        runs in that state were created at or after ``since`` (through the index by
        environment, state and creation time: a range count each)."""
        ...

    def run(self, run_id: str) -> Row | None: ...

    def outline_of_run(self, run_id: str, with_values: bool = False) -> Iterable[Row]:
        """A row per execution; ``with_values``: the step's arguments, the
        execution's outcome and the step's options after its columns
        (``rows.run_outline``, ``rows.run_view``)."""
        ...

    def transitions_of_run(self, run_id: str) -> Iterable[Row]:
        """Every transition of the run's executions: execution id, state, at and
        session id, each execution's together and in the order they were recorded."""
        ...

    def step_record(self, step_id: str) -> Row | None: ...

    def logs(
        self, run_id: str, execution_id: str | None, after: int, limit: int, levels: Sequence[str]
    ) -> Iterable[Row]: ...

    def metrics(self, run_id: str, execution_id: str | None) -> Iterable[Row]: ...

    def metric_points(
        self, run_id: str, execution_id: str | None, after: int, limit: int
    ) -> Iterable[Row]: ...

    def outcome(self, execution_id: str) -> Row | None: ...

    def step_outcome(self, execution_id: str) -> Row | None: ...

    def cache_hit(self, key: str, environment_ids: Sequence[str], since: float) -> Row | None: ...

    def memo_hit(self, run_id: str, key: str) -> Row | None: ...

    def run_by_idempotency_key(self, key: str) -> Row | None: ...

    def run_of_execution(self, execution_id: str) -> Row | None: ...

    def asset(self, asset_id: str) -> Row | None: ...

    def asset_entries(self, asset_id: str) -> Iterable[Row]: ...

    def assets_of_run(self, run_id: str) -> Iterable[Row]: ...

    def restores_of_run(self, run_id: str) -> Iterable[Row]: ...

    def input(self, input_id: str) -> Row | None:
        """An input's row: its info, the environment id of the execution that asked,
        and its settlement's kind, value, by and at (None while pending)."""
        ...

    def inputs(self, query: InputQuery) -> Iterable[Row]:
        """The rows (as ``input``'s) of the inputs ``query`` selects, newest first."""
        ...

    def active_inputs(self) -> Iterable[Row]:
        """The inputs of unfinished runs: id, run id, execution id, key, info, and
        the settlement's kind and value."""
        ...

    def active_runs(self) -> Iterable[Row]: ...

    def active_executions(self) -> Iterable[Row]: ...

    def active_calls(self) -> Iterable[Row]: ...

    def active_metrics(self) -> Iterable[Row]: ...

    def session_secrets(self, session_ids: Sequence[str]) -> Iterable[Row]:
        """(id, secret's sha256) of those of the sessions that have a secret."""
        ...


class ReadingStore(abc.ABC):
    """The read methods of ``base.ProjectStore``, over a backend's ``Queries``."""

    @abc.abstractmethod
    def _reading(self, *, consistent: bool) -> contextlib.AbstractContextManager[Queries]:
        """The backend's queries for one call.

        Args:
            consistent: the call makes several queries, which must all see the
                same state (one read transaction).
        """

    @abc.abstractmethod
    def _no_project(self) -> str:
        """Why ``info`` found no project, in a sentence naming where it looked."""

    def info(self) -> ProjectInfo:
        with self._reading(consistent=False) as q:
            found = rows.project_info(q.project())
        if found is None:
            raise LookupError(self._no_project())
        return found

    def load_snapshot(self) -> Snapshot:
        # Everything starts from the working set or from the few environments,
        # never from a table of history: loading costs what unfinished work costs.
        with self._reading(consistent=True) as q:
            environments = rows.environment_records(q.environments())
            manifests = [
                (env.environment_id, manifest)
                for env in environments
                for manifest in rows.manifests(q.manifests(env.environment_id))
            ]
            runs = rows.active_runs(q.active_runs())
            executions = rows.active_executions(q.active_executions())
            sessions = sorted({e.session_id for e in executions if e.session_id is not None})
            secrets = {session_id: secret for session_id, secret in q.session_secrets(sessions)}
            calls = rows.calls(q.active_calls())
            metrics = rows.active_metrics(q.active_metrics())
            inputs = rows.active_inputs(q.active_inputs())
        return Snapshot(
            environments=environments,
            manifests=manifests,
            runs=runs,
            executions=executions,
            session_secrets=secrets,
            calls=calls,
            metrics=metrics,
            inputs=inputs,
        )

    def get_outcome(self, execution_id: str) -> protocol.Outcome | None:
        with self._reading(consistent=False) as q:
            return rows.outcome(q.outcome(execution_id))

    def get_step_outcome(self, execution_id: str) -> protocol.Outcome | None:
        with self._reading(consistent=False) as q:
            return rows.outcome(q.step_outcome(execution_id))

    def find_cached(
        self, key: str, environment_ids: Sequence[str], since: float
    ) -> tuple[str, protocol.Outcome] | None:
        with self._reading(consistent=False) as q:
            return rows.cached(q.cache_hit(key, environment_ids, since))

    def find_memoised(self, run_id: str, key: str) -> str | None:
        with self._reading(consistent=False) as q:
            return rows.memoised(q.memo_hit(run_id, key))

    def find_run_by_idempotency_key(self, key: str) -> str | None:
        with self._reading(consistent=False) as q:
            return rows.identifier(q.run_by_idempotency_key(key))

    def run_of_execution(self, execution_id: str) -> str | None:
        with self._reading(consistent=False) as q:
            return rows.identifier(q.run_of_execution(execution_id))

    def list_environments(self) -> list[EnvironmentView]:
        with self._reading(consistent=False) as q:
            return rows.environment_views(q.environments())

    def list_manifests(self, environment_id: str) -> list[protocol.Manifest]:
        with self._reading(consistent=False) as q:
            return rows.manifests(q.manifests(environment_id))

    def find_runs(
        self, query: RunQuery, *, after: RunPosition | None = None, limit: int = 100
    ) -> FoundRuns:
        selection = RunSelection(
            _branches(query), query.since, query.until, query.search or None,
            query.oldest_first, after,
        )  # fmt: skip
        if not selection.branches or limit < 1:
            return FoundRuns([], [])
        with self._reading(consistent=True) as q:
            names = rows.environment_names(q.environments())
            found = list(q.runs(selection, limit))
        summaries = rows.run_summaries((row[:7] for row in found), names)
        return FoundRuns(summaries, [(row[4], row[7]) for row in found])

    def list_runs(
        self,
        *,
        environment_id: str | None = None,
        repository: str | None = None,
        target: str | None = None,
        limit: int = 100,
    ) -> list[RunSummary]:
        environments = None if environment_id is None else (environment_id,)
        query = RunQuery(environment_ids=environments, repository=repository, target=target)
        return self.find_runs(query, limit=limit).runs

    def count_runs(self, environment_ids: Sequence[str], since: float) -> dict[str, dict[str, int]]:
        if not environment_ids:
            return {}
        with self._reading(consistent=False) as q:
            found = list(q.run_counts(list(environment_ids), _RUN_STATES, since))
        counts: dict[str, dict[str, int]] = {}
        for environment_id, state, count in found:
            if count:
                counts.setdefault(environment_id, {})[state] = int(count)
        return counts

    def get_run_summary(self, run_id: str) -> RunSummary | None:
        with self._reading(consistent=True) as q:
            names = rows.environment_names(q.environments())
            found = list(q.runs(RunSelection([{"id": run_id}]), 1))
        return rows.run_summaries((row[:7] for row in found), names)[0] if found else None

    def get_run(self, run_id: str) -> RunView | None:
        with self._reading(consistent=True) as q:
            run = q.run(run_id)
            if run is None:
                return None
            names = rows.environment_names(q.environments())
            outline = q.outline_of_run(run_id, with_values=True)
            return rows.run_view(run_id, run, names, outline, q.transitions_of_run(run_id))

    def get_run_outline(self, run_id: str, previews: bool = False) -> RunOutline | None:
        with self._reading(consistent=True) as q:
            run = q.run(run_id)
            if run is None:
                return None
            names = rows.environment_names(q.environments())
            found = q.outline_of_run(run_id, with_values=previews)
            return rows.run_outline(run_id, run, names, found, with_previews=previews)

    def get_step_record(self, step_id: str) -> StepRecord | None:
        with self._reading(consistent=False) as q:
            return rows.step_record(q.step_record(step_id))

    def get_asset(self, asset_id: str) -> protocol.AssetInfo | None:
        with self._reading(consistent=True) as q:
            found = q.asset(asset_id)
            return None if found is None else rows.asset_info(found, q.asset_entries(asset_id))

    def list_run_assets(self, run_id: str) -> RunAssets:
        with self._reading(consistent=True) as q:
            return rows.run_assets(q.assets_of_run(run_id), q.restores_of_run(run_id))

    def list_inputs(self, query: InputQuery) -> list[InputView]:
        with self._reading(consistent=True) as q:
            names = rows.environment_names(q.environments())
            return [rows.input_view(row, names) for row in q.inputs(query)]

    def get_input(self, input_id: str) -> InputView | None:
        with self._reading(consistent=True) as q:
            found = q.input(input_id)
            if found is None:
                return None
            return rows.input_view(found, rows.environment_names(q.environments()))

    def list_logs(
        self,
        run_id: str,
        *,
        execution_id: str | None = None,
        after: int = 0,
        limit: int = 1000,
        levels: Sequence[str] | None = None,
    ) -> list[LogView]:
        among = LOG_LEVELS if levels is None else levels
        with self._reading(consistent=False) as q:
            return rows.log_views(q.logs(run_id, execution_id, after, limit, among), q.template)

    def list_metrics(self, run_id: str, *, execution_id: str | None = None) -> list[MetricView]:
        with self._reading(consistent=False) as q:
            return rows.metric_views(q.metrics(run_id, execution_id))

    def list_metric_points(
        self,
        run_id: str,
        *,
        execution_id: str | None = None,
        after: int = 0,
        limit: int = 1000,
    ) -> list[MetricPointView]:
        with self._reading(consistent=False) as q:
            return rows.metric_point_views(q.metric_points(run_id, execution_id, after, limit))


# Every state a run can be in (its root execution's): what ``count_runs`` counts.
_RUN_STATES = [state.value for state in ExecutionState]
# What an unfiltered read of logs asks for: every level.
LOG_LEVELS: tuple[str, ...] = get_args(protocol.LogLevel)


def _branches(query: RunQuery) -> list[dict[str, str]]:
    """The equality conditions of ``query``, a branch per environment and state it
    allows (none: it allows none). Only the conditions given are in a branch (one
    that matches everything would keep the planner from the index that serves the
    others)."""
    fixed = {
        column: value
        for column, value in (
            ("repository", query.repository),
            ("target", query.target),
            ("idempotency_key", query.idempotency_key),
        )
        if value is not None
    }
    environments: Iterable[str | None] = (
        [None] if query.environment_ids is None else dict.fromkeys(query.environment_ids)
    )
    states: Iterable[str | None] = [None] if query.states is None else dict.fromkeys(query.states)
    branches = []
    for environment_id, state in itertools.product(environments, states):
        branch = dict(fixed)
        if environment_id is not None:
            branch["environment_id"] = environment_id
        if state is not None:
            branch["state"] = state
        branches.append(branch)
    return branches
