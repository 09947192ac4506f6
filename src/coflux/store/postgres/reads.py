"""The PostgreSQL store's answers to ``reading.Queries``: its SQL run for one project.

The caller (``store.PostgresProjectStore._reading``) gives a connection either in
a read-only transaction (a call of several queries) or on its own (a statement
sees one snapshot). Every result is transferred in binary, so a float arrives as
its eight bytes whatever the session's ``extra_float_digits``; ``rows.py`` builds
the views.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec
import psycopg

from coflux.store.base import InputQuery
from coflux.store.postgres import queries
from coflux.store.reading import RunSelection
from coflux.store.rows import Row

Conn = psycopg.Connection[tuple[Any, ...]]

# A log's template is kept as a JSON string: it may hold NUL, which `text` cannot.
_template = msgspec.json.Decoder(str)


def rows(conn: Conn, query: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """All rows of ``query``, transferred in binary (floats exact, whatever the session)."""
    with conn.cursor(binary=True) as cursor:
        return cursor.execute(query, params).fetchall()


def row(conn: Conn, query: str, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
    with conn.cursor(binary=True) as cursor:
        return cursor.execute(query, params).fetchone()


class PostgresQueries:
    def __init__(self, conn: Conn, project_id: str) -> None:
        self._conn = conn
        self._p = project_id

    def _all(self, query: str, **params: Any) -> list[tuple[Any, ...]]:
        return rows(self._conn, query, {"p": self._p, **params})

    def _one(self, query: str, **params: Any) -> tuple[Any, ...] | None:
        return row(self._conn, query, {"p": self._p, **params})

    def template(self, column: Any) -> str:
        return _template.decode(column)

    def project(self) -> Row | None:
        return self._one(queries.PROJECT)

    def environments(self) -> Iterable[Row]:
        return self._all(queries.CURRENT_ENVIRONMENTS)

    def manifests(self, environment_id: str) -> Iterable[Row]:
        return self._all(queries.LATEST_MANIFESTS, env=environment_id)

    def runs(self, selection: RunSelection, limit: int) -> Iterable[Row]:
        # Only the conditions given are in the SQL, so the planner picks the index
        # serving them. A search first asks how many runs hold its text (a page in
        # fewer is read from those; in more, found in the page's order).
        matched = None
        if selection.search is not None and len(selection.search) >= 3:
            pattern = queries.like_pattern(selection.search)
            found = self._all(queries.MATCHING_RUNS, pattern=pattern, limit=queries.FEW_MATCHES + 1)
            matched = [run_id for (run_id,) in found] if len(found) <= queries.FEW_MATCHES else None
        sql, params = queries.list_runs(selection, matched)
        return self._all(sql, **params, limit=limit)

    def run_counts(
        self, environment_ids: Sequence[str], states: Sequence[str], since: float
    ) -> Iterable[Row]:
        environments, wanted = list(environment_ids), list(states)
        return self._all(queries.RUN_COUNTS, environments=environments, states=wanted, since=since)

    def run(self, run_id: str) -> Row | None:
        return self._one(queries.RUN, run=run_id)

    def outline_of_run(self, run_id: str, with_values: bool = False) -> Iterable[Row]:
        query = queries.OUTLINE_WITH_VALUES_OF_RUN if with_values else queries.OUTLINE_OF_RUN
        return self._all(query, run=run_id)

    def transitions_of_run(self, run_id: str) -> Iterable[Row]:
        return self._all(queries.TRANSITIONS_OF_RUN, run=run_id)

    def step_record(self, step_id: str) -> Row | None:
        return self._one(queries.STEP_RECORD, step=step_id)

    def logs(
        self, run_id: str, execution_id: str | None, after: int, limit: int, levels: Sequence[str]
    ) -> Iterable[Row]:
        query = queries.LOGS_OF_RUN if execution_id is None else queries.LOGS_OF_EXECUTION
        return self._all(
            query, run=run_id, execution=execution_id, after=after, limit=limit, levels=list(levels)
        )

    def metrics(self, run_id: str, execution_id: str | None) -> Iterable[Row]:
        query = queries.METRICS_OF_RUN if execution_id is None else queries.METRICS_OF_EXECUTION
        return self._all(query, run=run_id, execution=execution_id)

    def metric_points(
        self, run_id: str, execution_id: str | None, after: int, limit: int
    ) -> Iterable[Row]:
        query = queries.POINTS_OF_RUN if execution_id is None else queries.POINTS_OF_EXECUTION
        return self._all(query, run=run_id, execution=execution_id, after=after, limit=limit)

    def outcome(self, execution_id: str) -> Row | None:
        return self._one(queries.OUTCOME, execution=execution_id)

    def step_outcome(self, execution_id: str) -> Row | None:
        return self._one(queries.STEP_OUTCOME, execution=execution_id)

    def cache_hit(self, key: str, environment_ids: Sequence[str], since: float) -> Row | None:
        environments = list(environment_ids)
        return self._one(queries.CACHE_HIT, key=key, environments=environments, since=since)

    def memo_hit(self, run_id: str, key: str) -> Row | None:
        return self._one(queries.MEMO_HIT, run=run_id, key=key)

    def run_by_idempotency_key(self, key: str) -> Row | None:
        return self._one(queries.RUN_BY_IDEMPOTENCY_KEY, key=key)

    def run_of_execution(self, execution_id: str) -> Row | None:
        return self._one(queries.RUN_OF_EXECUTION, execution=execution_id)

    def asset(self, asset_id: str) -> Row | None:
        return self._one(queries.ASSET, asset=asset_id)

    def asset_entries(self, asset_id: str) -> Iterable[Row]:
        return self._all(queries.ASSET_ENTRIES, asset=asset_id)

    def assets_of_run(self, run_id: str) -> Iterable[Row]:
        return self._all(queries.ASSETS_OF_RUN, run=run_id)

    def restores_of_run(self, run_id: str) -> Iterable[Row]:
        return self._all(queries.RESTORES_OF_RUN, run=run_id)

    def input(self, input_id: str) -> Row | None:
        return self._one(queries.INPUT, input=input_id)

    def inputs(self, query: InputQuery) -> Iterable[Row]:
        sql, params = queries.list_inputs(
            query.environment_id, query.run_id, query.statuses, query.limit
        )
        return self._all(sql, **params)

    def active_inputs(self) -> Iterable[Row]:
        return self._all(queries.ACTIVE_INPUTS)

    def active_runs(self) -> Iterable[Row]:
        return self._all(queries.ACTIVE_RUNS)

    def active_executions(self) -> Iterable[Row]:
        return self._all(queries.ACTIVE_EXECUTIONS)

    def active_calls(self) -> Iterable[Row]:
        return self._all(queries.ACTIVE_CALLS)

    def active_metrics(self) -> Iterable[Row]:
        return self._all(queries.ACTIVE_METRICS)

    def session_secrets(self, session_ids: Sequence[str]) -> Iterable[Row]:
        return self._all(queries.SESSION_SECRETS, sessions=list(session_ids))
