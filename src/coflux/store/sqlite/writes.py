"""Writing facts into the SQLite schema: one function per kind of fact.

``write_facts`` runs inside the caller's transaction. It takes consecutive facts
of the same kind together and writes them with ``executemany`` (one prepared
statement per group), which keeps the facts' order wherever order matters: a
later group always sees what an earlier one wrote.
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
    LogsRecorded,
    ManifestRegistered,
    OutcomeRecorded,
    RunCreated,
    SessionStarted,
    StepCreated,
)
from coflux.orchestration.states import STANDING_IN, ExecutionState
from coflux.store import codecs
from coflux.store.sqlite import assets


def write_facts(conn: sqlite3.Connection, facts: Sequence[Fact]) -> None:
    """Insert ``facts`` in order; the caller owns the transaction.

    Raises:
        TypeError: a fact of a kind this backend does not know.
        sqlite3.IntegrityError: a fact contradicts what is recorded (a duplicate
            id, say); the caller rolls the whole batch back.
    """
    for kind, group in itertools.groupby(facts, key=type):
        writer = _WRITERS.get(kind)
        if writer is None:
            raise TypeError(f"the SQLite store cannot write {kind.__name__} facts")
        writer(conn, list(group))


def _environments(conn: sqlite3.Connection, facts: Sequence[EnvironmentRecorded]) -> None:
    # The first record of an environment creates it; later ones only add versions.
    conn.executemany(
        "INSERT INTO environments (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
        [(f.environment_id, f.at) for f in facts],
    )
    conn.executemany(
        "INSERT INTO environment_versions (environment_id, name, base_id, status, at)"
        " VALUES (?, ?, ?, ?, ?)",
        [(f.environment_id, f.name, f.base_id, f.status.value, f.at) for f in facts],
    )


def _manifests(conn: sqlite3.Connection, facts: Sequence[ManifestRegistered]) -> None:
    rows = []
    contents = []
    for fact in facts:
        digest, text = codecs.encode_manifest(fact.manifest)
        contents.append((digest, text))
        rows.append((fact.environment_id, fact.manifest.repository, digest, fact.at))
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
        [{"env": env, "repo": repo, "hash": digest, "at": at} for env, repo, digest, at in rows],
    )


def _sessions(conn: sqlite3.Connection, facts: Sequence[SessionStarted]) -> None:
    conn.executemany(
        "INSERT INTO sessions (id, environment_id, concurrency, provides, created_at,"
        " secret_sha256) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                f.session_id,
                f.environment_id,
                f.concurrency,
                codecs.encode(f.provides),
                f.at,
                f.secret_sha256,
            )
            for f in facts
        ],
    )


def _runs(conn: sqlite3.Connection, facts: Sequence[RunCreated]) -> None:
    conn.executemany(
        "INSERT INTO runs (id, environment_id, repository, target, idempotency_key, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (f.run_id, f.environment_id, f.repository, f.target, f.idempotency_key, f.at)
            for f in facts
        ],
    )


def _steps(conn: sqlite3.Connection, facts: Sequence[StepCreated]) -> None:
    conn.executemany(
        "INSERT INTO steps (id, run_id, number, parent_execution_id, call_index, repository,"
        " target, type, arguments, options, created_at, cache_key, memo_key)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                f.step_id,
                f.run_id,
                f.number,
                f.parent_execution_id,
                f.call_index,
                f.repository,
                f.target,
                f.type,
                codecs.encode(f.arguments),
                codecs.encode(f.options),
                f.at,
                f.cache_key,
                f.memo_key,
            )
            for f in facts
        ],
    )


def _executions(conn: sqlite3.Connection, facts: Sequence[ExecutionCreated]) -> None:
    conn.executemany(
        "INSERT INTO executions (id, step_id, run_id, attempt, environment_id, due_at,"
        " created_at, arguments) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                f.execution_id,
                f.step_id,
                f.run_id,
                f.attempt,
                f.environment_id,
                f.due_at,
                f.at,
                None if f.arguments is None else codecs.encode(f.arguments),
            )
            for f in facts
        ],
    )
    conn.executemany(
        "INSERT INTO active_executions (execution_id) VALUES (?)",
        [(f.execution_id,) for f in facts],
    )


def _checkpoints(conn: sqlite3.Connection, facts: Sequence[CheckpointRecorded]) -> None:
    conn.executemany(
        "INSERT INTO checkpoints (execution_id, run_id, arguments, at) VALUES (?, ?, ?, ?)",
        [(f.execution_id, f.run_id, codecs.encode(f.arguments), f.at) for f in facts],
    )


def _transitions(conn: sqlite3.Connection, facts: Sequence[ExecutionTransitioned]) -> None:
    conn.executemany(
        "INSERT INTO execution_transitions (execution_id, run_id, state, session_id, at)"
        " VALUES (?, ?, ?, ?, ?)",
        [(f.execution_id, f.run_id, f.state.value, f.session_id, f.at) for f in facts],
    )
    # Keeps each execution's current state in step with its transitions (see
    # 0005_current_state.sql): one update per execution, with where the batch's
    # transitions leave it (a step is often queued and assigned in one batch).
    current: dict[str, list[Any]] = {}  # id -> [id, state, at, assigned_at, session_id]
    for f in facts:
        row = current.setdefault(f.execution_id, [f.execution_id, None, None, None, None])
        row[1], row[2] = f.state.value, f.at
        if f.state is ExecutionState.ASSIGNED:
            row[3] = f.at
        if f.session_id is not None:
            row[4] = f.session_id
    conn.executemany(
        "UPDATE executions SET state = ?2, state_at = ?3,"
        " assigned_at = coalesce(?4, assigned_at), session_id = coalesce(?5, session_id)"
        " WHERE id = ?1",
        current.values(),
    )
    # Keeps the working set in step with the transitions (see the schema). A
    # stand-in stays in it until its outcome is recorded (0007_stand_in_links.sql).
    conn.executemany(
        "DELETE FROM active_executions WHERE execution_id = ?",
        [(f.execution_id,) for f in facts if f.state.terminal and f.state not in STANDING_IN],
    )


def _links(conn: sqlite3.Connection, facts: Sequence[ExecutionLinked]) -> None:
    conn.executemany(
        "UPDATE executions SET leader_id = ? WHERE id = ?",
        [(f.leader_id, f.execution_id) for f in facts],
    )


def _outcomes(conn: sqlite3.Connection, facts: Sequence[OutcomeRecorded]) -> None:
    conn.executemany(
        "INSERT INTO outcomes (execution_id, run_id, outcome, at) VALUES (?, ?, ?, ?)",
        [(f.execution_id, f.run_id, codecs.encode(f.outcome), f.at) for f in facts],
    )
    # A stand-in leaves the working set with its outcome; for any other execution
    # its terminal transition already took it out, and this deletes nothing.
    conn.executemany(
        "DELETE FROM active_executions WHERE execution_id = ?",
        [(f.execution_id,) for f in facts],
    )


def _logs(conn: sqlite3.Connection, facts: Sequence[LogsRecorded]) -> None:
    conn.executemany(
        "INSERT INTO logs (run_id, execution_id, timestamp, level, template, template_values)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                run_id,
                entry.execution_id,
                entry.timestamp,
                entry.level,
                entry.template,
                codecs.encode(entry.values),
            )
            for fact in facts
            # strict: a fact whose two lists differ in length is a bug upstream.
            for entry, run_id in zip(fact.entries, fact.run_ids, strict=True)
        ],
    )


# Any: each writer takes a list of its own kind of fact, which groupby guarantees.
_WRITERS: dict[type[Fact], Callable[[sqlite3.Connection, Sequence[Any]], None]] = {
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
    AssetRecorded: assets.write_assets,
    AssetRestored: assets.write_restores,
}
