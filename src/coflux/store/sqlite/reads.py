"""The SQLite store's answers to ``reading.Queries``: its SQL run on one connection.

The caller (``store.SqliteProjectStore._reading``) has put the connection in a
read transaction, so the rows of several queries are of one state. Rows come
back as the cursor yields them; ``rows.py`` builds the views.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from coflux.store.base import InputQuery
from coflux.store.reading import RunSelection
from coflux.store.rows import Row
from coflux.store.sqlite import queries


class SqliteQueries:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _one(self, query: str, parameters: Sequence[Any] | Mapping[str, Any]) -> Row | None:
        row: Row | None = self._conn.execute(query, parameters).fetchone()
        return row

    def template(self, column: Any) -> str:
        return str(column)

    def project(self) -> Row | None:
        return self._one(queries.PROJECT, ())

    def environments(self) -> Iterable[Row]:
        return self._conn.execute(queries.CURRENT_ENVIRONMENTS)

    def manifests(self, environment_id: str) -> Iterable[Row]:
        return self._conn.execute(queries.LATEST_MANIFESTS, {"env": environment_id})

    def runs(self, selection: RunSelection, limit: int) -> Iterable[Row]:
        # Only the conditions given are in the SQL: `(? IS NULL OR col = ?)` would
        # stop SQLite from using the indices. A search first asks how many runs
        # hold its text (a page in fewer is read from those; in more, in order).
        matched = None
        if selection.search is not None and len(selection.search) >= 3:
            found = self._conn.execute(
                queries.MATCHING_RUNS,
                {"phrase": queries.phrase(selection.search), "limit": queries.FEW_MATCHES + 1},
            ).fetchall()
            matched = [rowid for (rowid,) in found] if len(found) <= queries.FEW_MATCHES else None
        sql, params = queries.list_runs(selection, matched)
        return self._conn.execute(sql, {**params, "limit": limit})

    def run_counts(
        self, environment_ids: Sequence[str], states: Sequence[str], since: float
    ) -> Iterable[Row]:
        parameters = {
            "environments": json.dumps(list(environment_ids)),
            "states": json.dumps(list(states)),
            "since": since,
        }
        return self._conn.execute(queries.RUN_COUNTS, parameters)

    def run(self, run_id: str) -> Row | None:
        return self._one(queries.RUN, (run_id,))

    def outline_of_run(self, run_id: str, with_values: bool = False) -> Iterable[Row]:
        query = queries.OUTLINE_WITH_VALUES_OF_RUN if with_values else queries.OUTLINE_OF_RUN
        return self._conn.execute(query, (run_id,))

    def transitions_of_run(self, run_id: str) -> Iterable[Row]:
        return self._conn.execute(queries.TRANSITIONS_OF_RUN, (run_id,))

    def step_record(self, step_id: str) -> Row | None:
        return self._one(queries.STEP_RECORD, (step_id,))

    def logs(
        self, run_id: str, execution_id: str | None, after: int, limit: int, levels: Sequence[str]
    ) -> Iterable[Row]:
        among = json.dumps(list(levels))
        if execution_id is None:
            return self._conn.execute(queries.LOGS_OF_RUN, (run_id, after, among, limit))
        return self._conn.execute(
            queries.LOGS_OF_EXECUTION, (execution_id, run_id, after, among, limit)
        )

    def metrics(self, run_id: str, execution_id: str | None) -> Iterable[Row]:
        if execution_id is None:
            return self._conn.execute(queries.METRICS_OF_RUN, (run_id,))
        return self._conn.execute(queries.METRICS_OF_EXECUTION, (execution_id, run_id))

    def metric_points(
        self, run_id: str, execution_id: str | None, after: int, limit: int
    ) -> Iterable[Row]:
        if execution_id is None:
            return self._conn.execute(queries.POINTS_OF_RUN, (run_id, after, limit))
        return self._conn.execute(queries.POINTS_OF_EXECUTION, (execution_id, run_id, after, limit))

    def outcome(self, execution_id: str) -> Row | None:
        return self._one(queries.OUTCOME, (execution_id,))

    def step_outcome(self, execution_id: str) -> Row | None:
        return self._one(queries.STEP_OUTCOME, (execution_id,))

    def cache_hit(self, key: str, environment_ids: Sequence[str], since: float) -> Row | None:
        placeholders = ", ".join("?" for _ in environment_ids)
        query = queries.CACHE_HIT.format(environments=placeholders)
        return self._one(query, (key, *environment_ids, since))

    def memo_hit(self, run_id: str, key: str) -> Row | None:
        return self._one(queries.MEMO_HIT, (run_id, key))

    def run_by_idempotency_key(self, key: str) -> Row | None:
        return self._one(queries.RUN_BY_IDEMPOTENCY_KEY, (key,))

    def run_of_execution(self, execution_id: str) -> Row | None:
        return self._one(queries.RUN_OF_EXECUTION, (execution_id,))

    def asset(self, asset_id: str) -> Row | None:
        return self._one(queries.ASSET, (asset_id,))

    def asset_entries(self, asset_id: str) -> Iterable[Row]:
        return self._conn.execute(queries.ASSET_ENTRIES, (asset_id,))

    def assets_of_run(self, run_id: str) -> Iterable[Row]:
        return self._conn.execute(queries.ASSETS_OF_RUN, (run_id,))

    def restores_of_run(self, run_id: str) -> Iterable[Row]:
        return self._conn.execute(queries.RESTORES_OF_RUN, (run_id,))

    def input(self, input_id: str) -> Row | None:
        return self._one(queries.INPUT, (input_id,))

    def inputs(self, query: InputQuery) -> Iterable[Row]:
        sql, params = queries.list_inputs(
            query.environment_id, query.run_id, query.statuses, query.limit
        )
        return self._conn.execute(sql, params)

    def active_inputs(self) -> Iterable[Row]:
        return self._conn.execute(queries.ACTIVE_INPUTS)

    def active_runs(self) -> Iterable[Row]:
        return self._conn.execute(queries.ACTIVE_RUNS)

    def active_executions(self) -> Iterable[Row]:
        return self._conn.execute(queries.ACTIVE_EXECUTIONS)

    def active_calls(self) -> Iterable[Row]:
        return self._conn.execute(queries.ACTIVE_CALLS)

    def active_metrics(self) -> Iterable[Row]:
        return self._conn.execute(queries.ACTIVE_METRICS)

    def session_secrets(self, session_ids: Sequence[str]) -> Iterable[Row]:
        # A primary-key look-up each: a snapshot holds the sessions of a few agents.
        found = []
        for session_id in session_ids:
            row = self._one(queries.SESSION_SECRET, (session_id,))
            if row is not None and row[0] is not None:
                found.append((session_id, row[0]))
        return found
