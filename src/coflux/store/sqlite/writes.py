"""Writing facts into the SQLite schema: one function per kind of fact.

``write_facts`` runs inside the caller's transaction. It takes consecutive facts
of the same kind together and writes their rows (``fact_rows``) with ``executemany`` (one prepared statement per group), which
keeps the facts' order wherever order matters: a later group always sees what an
earlier one wrote.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from coflux.orchestration.effects import (
    AssetRecorded,
    AssetRestored,
    CheckpointRecorded,
    EnvironmentRecorded,
    ExecutionCreated,
    ExecutionLinked,
    ExecutionTransitioned,
    Fact,
    InputDismissed,
    InputRequested,
    InputResponded,
    LogsRecorded,
    ManifestRegistered,
    MetricsRecorded,
    OutcomeRecorded,
    RunCreated,
    SessionStarted,
    StepCreated,
)
from coflux.store import fact_rows


def write_facts(conn: sqlite3.Connection, facts: Sequence[Fact]) -> None:
    """Insert ``facts`` in order; the caller owns the transaction.

    Raises:
        TypeError: a fact of a kind this backend does not know.
        sqlite3.IntegrityError: a fact contradicts what is recorded (a duplicate
            id, say); the caller rolls the whole batch back.
    """
    for kind, group in itertools.groupby(facts, key=type):
        _WRITERS[kind](conn, list(group))


def _environments(conn: sqlite3.Connection, facts: Sequence[EnvironmentRecorded]) -> None:
    # The first record of an environment creates it; later ones only add versions.
    conn.executemany(
        "INSERT INTO environments (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
        fact_rows.environments(facts),
    )
    conn.executemany(
        "INSERT INTO environment_versions (environment_id, name, base_id, status, at)"
        " VALUES (?, ?, ?, ?, ?)",
        fact_rows.environment_versions(facts),
    )


def _manifests(conn: sqlite3.Connection, facts: Sequence[ManifestRegistered]) -> None:
    contents, registrations = fact_rows.manifests(facts)
    conn.executemany(
        "INSERT INTO manifests (hash, manifest) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING",
        contents,
    )
    # Agents register on every start; only a change of content is worth a row.
    # executemany runs the rows in order, so each sees the ones before it.
    conn.executemany(
        """
        INSERT INTO manifest_registrations (environment_id, repository, manifest_hash, at)
        SELECT :env, :repo, :hash, :at
        WHERE :hash IS NOT (
            SELECT manifest_hash FROM manifest_registrations
            WHERE environment_id = :env AND repository = :repo
            ORDER BY id DESC LIMIT 1
        )
        """,
        registrations,
    )


def _sessions(conn: sqlite3.Connection, facts: Sequence[SessionStarted]) -> None:
    conn.executemany(
        "INSERT INTO sessions (id, environment_id, concurrency, provides, created_at,"
        " secret_sha256) VALUES (?, ?, ?, ?, ?, ?)",
        fact_rows.sessions(facts),
    )


def _runs(conn: sqlite3.Connection, facts: Sequence[RunCreated]) -> None:
    conn.executemany(
        "INSERT INTO runs (id, environment_id, repository, target, idempotency_key, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        fact_rows.runs(facts),
    )


def _steps(conn: sqlite3.Connection, facts: Sequence[StepCreated]) -> None:
    conn.executemany(
        "INSERT INTO steps (id, run_id, number, parent_execution_id, call_index, repository,"
        " target, type, arguments, options, created_at, cache_key, memo_key, group_index,"
        " group_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        fact_rows.steps(facts),
    )
    # A first step's arguments are what a search finds its run by (0011_run_history.sql).
    conn.executemany(
        "INSERT INTO run_texts (rowid, text) SELECT r.rowid, substr(s.arguments, 1, 10000)"
        " FROM steps s JOIN runs r ON r.id = s.run_id WHERE s.id = ?",
        [(f.step_id,) for f in facts if f.number == 1],
    )


def _executions(conn: sqlite3.Connection, facts: Sequence[ExecutionCreated]) -> None:
    conn.executemany(
        "INSERT INTO executions (id, step_id, run_id, attempt, environment_id, due_at,"
        " created_at, arguments) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        fact_rows.executions(facts),
    )
    conn.executemany(
        "INSERT INTO active_executions (execution_id) VALUES (?)",
        [(f.execution_id,) for f in facts],
    )


def _checkpoints(conn: sqlite3.Connection, facts: Sequence[CheckpointRecorded]) -> None:
    conn.executemany(
        "INSERT INTO checkpoints (execution_id, run_id, arguments, at) VALUES (?, ?, ?, ?)",
        fact_rows.checkpoints(facts),
    )


def _transitions(conn: sqlite3.Connection, facts: Sequence[ExecutionTransitioned]) -> None:
    # Keeps each execution's current state in step with its transitions (see
    # 0005_current_state.sql): one update per execution of the group.
    current: dict[str, list[Any]] = {}
    rows, leaving = fact_rows.transitions(facts, current)
    conn.executemany(
        "INSERT INTO execution_transitions (execution_id, run_id, state, session_id, at)"
        " VALUES (?, ?, ?, ?, ?)",
        rows,
    )
    conn.executemany(
        "UPDATE executions SET state = ?2, state_at = ?3,"
        " assigned_at = coalesce(?4, assigned_at), session_id = coalesce(?5, session_id)"
        " WHERE id = ?1",
        current.values(),
    )
    # And each run's state (0011_run_history.sql).
    states: dict[str, str] = {}
    fact_rows.run_states(facts, states)
    conn.executemany("UPDATE runs SET state = ?2 WHERE id = ?1 AND state IS NOT ?2", states.items())
    # Keeps the working set in step with the transitions (see the schema and
    # 0007_stand_in_links.sql).
    conn.executemany(
        "DELETE FROM active_executions WHERE execution_id = ?",
        [(execution_id,) for execution_id in leaving],
    )


def _links(conn: sqlite3.Connection, facts: Sequence[ExecutionLinked]) -> None:
    conn.executemany(
        "UPDATE executions SET leader_id = ? WHERE id = ?",
        [(f.leader_id, f.execution_id) for f in facts],
    )


def _outcomes(conn: sqlite3.Connection, facts: Sequence[OutcomeRecorded]) -> None:
    conn.executemany(
        "INSERT INTO outcomes (execution_id, run_id, outcome, at) VALUES (?, ?, ?, ?)",
        fact_rows.outcomes(facts),
    )
    # A stand-in leaves the working set with its outcome (``fact_rows.transitions``);
    # for any other execution this deletes nothing.
    conn.executemany(
        "DELETE FROM active_executions WHERE execution_id = ?",
        [(f.execution_id,) for f in facts],
    )


def _logs(conn: sqlite3.Connection, facts: Sequence[LogsRecorded]) -> None:
    conn.executemany(
        "INSERT INTO logs (run_id, execution_id, timestamp, level, template, template_values)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        fact_rows.logs(facts, str),  # the template as its text
    )


def _metrics(conn: sqlite3.Connection, facts: Sequence[MetricsRecorded]) -> None:
    # The orchestrator defines each key of an execution once; DO NOTHING is only the
    # last line against a batch failing on a repeat.
    conn.executemany(
        "INSERT INTO metrics (execution_id, key, run_id, definition, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (execution_id, key) DO NOTHING",
        fact_rows.metrics(facts),
    )
    conn.executemany(
        "INSERT INTO metric_points (run_id, execution_id, key, value, at) VALUES (?, ?, ?, ?, ?)",
        fact_rows.metric_points(facts),
    )


def _assets(conn: sqlite3.Connection, facts: Sequence[AssetRecorded]) -> None:
    # Asset ids are chosen by executors, so recording the same asset twice (a
    # resent request) is a no-op rather than an error that would fail the batch.
    conn.executemany(
        "INSERT INTO assets (id, execution_id, run_id, kind, path, size, file_count, metadata,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        fact_rows.assets(facts),
    )
    conn.executemany(
        "INSERT INTO asset_entries (asset_id, path, size, blob) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (asset_id, path) DO NOTHING",
        fact_rows.asset_entries(facts),
    )


def _restores(conn: sqlite3.Connection, facts: Sequence[AssetRestored]) -> None:
    conn.executemany(
        "INSERT INTO asset_restores (asset_id, execution_id, run_id, at) VALUES (?, ?, ?, ?)",
        fact_rows.restores(facts),
    )


def _inputs(conn: sqlite3.Connection, facts: Sequence[InputRequested]) -> None:
    conn.executemany(
        "INSERT INTO inputs (id, run_id, execution_id, key, info, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        fact_rows.inputs(facts),
    )


def _input_responses(
    conn: sqlite3.Connection, facts: Sequence[InputResponded | InputDismissed]
) -> None:
    conn.executemany(
        "INSERT INTO input_responses (input_id, run_id, kind, value, by, at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        fact_rows.input_responses(facts),
    )


# Any: each writer takes a list of its own kind of fact, which groupby guarantees.
_Writer = Callable[[sqlite3.Connection, Sequence[Any]], None]
_WRITERS = fact_rows.Writers[_Writer](
    "SQLite",
    {
        EnvironmentRecorded: _environments,
        ManifestRegistered: _manifests,
        SessionStarted: _sessions,
        RunCreated: _runs,
        StepCreated: _steps,
        ExecutionCreated: _executions,
        CheckpointRecorded: _checkpoints,
        ExecutionTransitioned: _transitions,
        ExecutionLinked: _links,
        OutcomeRecorded: _outcomes,
        LogsRecorded: _logs,
        MetricsRecorded: _metrics,
        AssetRecorded: _assets,
        AssetRestored: _restores,
        InputRequested: _inputs,
        InputResponded: _input_responses,
        InputDismissed: _input_responses,
    },
)
