"""Writing a batch of facts into the PostgreSQL schema: one function call, mostly.

The SQLite store writes each run of consecutive facts of one kind with its own
statement, which is cheap in-process. Over a network every statement costs the
server a parse, a plan, an executor start and a message or two, so here a batch
is first sorted into one list of rows per table (``Rows.collect``), then sent as
ONE ``jsonb`` document to ``coflux_append(project, epoch, batch)``, a PL/pgSQL
function (``append_function``, created by a migration) that first checks that the
writer still holds the project's lease at that epoch (``leases.py``: a server that
lost the project writes nothing more for it), then inserts each table's rows in
the facts' order, updates the existing executions' states, takes finished ones
out of the working set and checks the references. One autocommitted call: one
round trip and one transaction, whatever the batch's size; msgspec writes the
document far faster than psycopg dumps arrays; and PL/pgSQL keeps the plans of
its statements per connection, so nothing is planned again (``statistics.py``
says what keeps those plans right).

Two kinds of rows need a statement before the call, in its transaction
(``Rows.statements``; a pipeline, still one round trip): a manifest registration,
compared with the one before it in the database or earlier in the batch (one
statement per registration, after the manifests' contents), and a link of an
existing execution to its leader.

Writing table by table gives what writing fact by fact would, because the facts
of a batch only depend on each other in ways this order keeps:

* rows are inserted in the order of their facts (``WITH ORDINALITY ... ORDER BY``),
  so ids and sequence numbers grow in fact order, as SQLite's rowids do;
* an execution's current state, its leader and its place in the working set are
  what the batch's last fact about each leaves (computed here): an execution the
  batch creates is inserted with them, one it does not is updated once, and one
  that ends in the batch that creates it never joins the working set; a run's
  state (that of its first step's latest execution) likewise;
* a manifest registration compares with the one before it, in the database or
  earlier in the batch, so those are the one statement run once per fact;
* references are checked last, as a whole, like SQLite's deferred foreign keys
  at commit (``references.py``): the names the batch does not create itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

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
from coflux.store import codecs, fact_rows
from coflux.store.postgres import references

Statement = tuple[str, Sequence[Any] | Mapping[str, Any]]

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class _Table:
    """One table's rows: inserted by ``coflux_append`` (``block``), or by a statement of
    their own (``statement``: the manifests, before their registrations)."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (column, its type)
    conflict: str = ""  # e.g. " ON CONFLICT DO NOTHING"

    @property
    def sql(self) -> str:
        names = ", ".join(f'"{column}"' for column, _ in self.columns)
        types = ", ".join(f'"{column}" {kind}' for column, kind in self.columns)
        return (
            f"INSERT INTO {self.name} (project_id, {names})"
            f" SELECT %s, {names} FROM ROWS FROM (json_to_recordset(%s::json) AS ({types}))"
            f" WITH ORDINALITY AS u ({names}, _n) ORDER BY _n{self.conflict}"
        )

    def statement(self, project_id: str, rows: Sequence[Sequence[Any]]) -> Statement:
        """The insert of ``rows`` as a statement of its own."""
        return self.sql, [project_id, _encode(self.objects(rows)).decode()]

    def objects(self, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        """``rows`` as JSON objects (exact for text, integers and floats, whose
        shortest representation PostgreSQL reads back to the same double)."""
        keys = [column for column, _ in self.columns]
        return [dict(zip(keys, row, strict=True)) for row in rows]

    @property
    def block(self) -> str:
        """The insert of the batch document's rows for this table, in ``coflux_append``."""
        names = ", ".join(f'"{column}"' for column, _ in self.columns)
        types = ", ".join(f'"{column}" {kind}' for column, kind in self.columns)
        return (
            f"    IF b ? '{self.name}' THEN\n"
            f"        INSERT INTO {self.name} (project_id, {names})\n"
            f"        SELECT p, {names}\n"
            f"        FROM ROWS FROM (jsonb_to_recordset(b->'{self.name}') AS ({types}))\n"
            f"            WITH ORDINALITY AS u ({names}, _n)\n"
            f"        ORDER BY _n{self.conflict};\n"
            f"    END IF;\n"
        )


_T, _F, _I = "text", "float8", "bigint"

ENVIRONMENTS = _Table("environments", (("id", _T), ("created_at", _F)), " ON CONFLICT DO NOTHING")
ENVIRONMENT_VERSIONS = _Table(
    "environment_versions",
    (("environment_id", _T), ("name", _T), ("base_id", _T), ("status", _T), ("at", _F)),
)
MANIFESTS = _Table("manifests", (("hash", _T), ("manifest", _T)), " ON CONFLICT DO NOTHING")
SESSIONS = _Table(
    "sessions",
    (("id", _T), ("environment_id", _T), ("concurrency", _I), ("provides", _T),
     ("created_at", _F), ("secret_sha256", _T)),
)  # fmt: skip
RUNS = _Table(
    "runs",
    (("id", _T), ("environment_id", _T), ("repository", _T), ("target", _T),
     ("idempotency_key", _T), ("created_at", _F),
     ("state", _T)),  # where the batch's transitions leave a new run
)  # fmt: skip
STEPS = _Table(
    "steps",
    (("id", _T), ("run_id", _T), ("number", _I), ("parent_execution_id", _T),
     ("call_index", _I), ("repository", _T), ("target", _T), ("type", _T),
     ("arguments", _T), ("options", _T), ("created_at", _F), ("cache_key", _T),
     ("memo_key", _T), ("group_index", _I), ("group_name", _T)),
)  # fmt: skip
EXECUTIONS = _Table(
    "executions",
    (("id", _T), ("step_id", _T), ("run_id", _T), ("attempt", _I), ("environment_id", _T),
     ("due_at", _F), ("created_at", _F), ("arguments", _T),
     # where the batch's transitions and links leave a new execution
     ("state", _T), ("state_at", _F), ("assigned_at", _F), ("session_id", _T),
     ("leader_id", _T)),
)  # fmt: skip
ACTIVE = _Table("active_executions", (("execution_id", _T),))
CHECKPOINTS = _Table(
    "checkpoints", (("execution_id", _T), ("run_id", _T), ("arguments", _T), ("at", _F))
)
TRANSITIONS = _Table(
    "execution_transitions",
    (("execution_id", _T), ("run_id", _T), ("state", _T), ("session_id", _T), ("at", _F)),
)
OUTCOMES = _Table("outcomes", (("execution_id", _T), ("run_id", _T), ("outcome", _T), ("at", _F)))
LOGS = _Table(
    "logs",
    (("run_id", _T), ("execution_id", _T), ("timestamp", _F), ("level", _T),
     ("template", _T), ("template_values", _T)),
)  # fmt: skip
METRICS = _Table(
    "metrics",
    (("execution_id", _T), ("key", _T), ("run_id", _T), ("definition", _T),
     ("created_at", _F)),
    " ON CONFLICT DO NOTHING",
)  # fmt: skip
METRIC_POINTS = _Table(
    "metric_points",
    (("run_id", _T), ("execution_id", _T), ("key", _T), ("value", _F), ("at", _F)),
)
ASSETS = _Table(
    "assets",
    (("id", _T), ("execution_id", _T), ("run_id", _T), ("kind", _T), ("path", _T),
     ("size", _I), ("file_count", _I), ("metadata", _T), ("created_at", _F)),
    " ON CONFLICT DO NOTHING",
)  # fmt: skip
ASSET_ENTRIES = _Table(
    "asset_entries",
    (("asset_id", _T), ("path", _T), ("size", _I), ("blob", _T)),
    " ON CONFLICT DO NOTHING",
)
RESTORES = _Table(
    "asset_restores", (("asset_id", _T), ("execution_id", _T), ("run_id", _T), ("at", _F))
)
INPUTS = _Table(
    "inputs",
    (("id", _T), ("run_id", _T), ("execution_id", _T), ("key", _T), ("info", _T),
     ("created_at", _F)),
)  # fmt: skip
INPUT_RESPONSES = _Table(
    "input_responses",
    (("input_id", _T), ("run_id", _T), ("kind", _T), ("value", _T), ("by", _T), ("at", _F)),
)

# Only a change of content is worth a row: agents register on every start.
_REGISTER_MANIFEST = """
INSERT INTO manifest_registrations (project_id, environment_id, repository, manifest_hash, at)
SELECT %(p)s, %(env)s, %(repo)s, %(hash)s, %(at)s
WHERE %(hash)s IS DISTINCT FROM (
    SELECT manifest_hash FROM manifest_registrations
    WHERE project_id = %(p)s AND environment_id = %(env)s AND repository = %(repo)s
    ORDER BY id DESC LIMIT 1
)
"""

_LINK = """
UPDATE executions e SET leader_id = u.leader_id
FROM unnest(%b::text[], %b::text[], %b::text[]) AS u (id, leader_id, project_id)
WHERE e.project_id = u.project_id AND e.id = u.id
"""

# The tables the batch's function inserts into, in this order.
_INSERTED = (
    ENVIRONMENTS, ENVIRONMENT_VERSIONS, SESSIONS, RUNS, STEPS, EXECUTIONS, ACTIVE,
    CHECKPOINTS, TRANSITIONS, OUTCOMES, LOGS, ASSETS, ASSET_ENTRIES, RESTORES,
    METRICS, METRIC_POINTS, INPUTS, INPUT_RESPONSES,
)  # fmt: skip

_CURRENT = ("id", "state", "at", "assigned_at", "session_id")  # Rows.current's order


# The SQLSTATE of an append by a server that no longer holds the project's lease.
FENCED = "CF001"


def append_function() -> str:
    """``coflux_append(project, epoch, batch)``: every row of a batch but
    registrations and links, written by one call once it has checked that the
    caller's lease epoch is the project's current one (the schema's migrations
    create it from this text: a test holds them equal, so a new column reaches both).

    Its plans are made once per connection and kept (PL/pgSQL caches them), which
    is what makes it cheaper than the same statements sent one by one; the inserts
    read nothing, and every row that is read or changed is found by one
    primary-key lookup per row, the only plan that is right for a table of any
    size once it has statistics (``PostgresCatalog`` sees that it gets them).
    """
    checks = "\n".join(
        f"            WHEN '{kind}' THEN PERFORM FROM {table} WHERE project_id = p AND id = r.id;"
        for kind, table in references.TABLES.items()
    )
    return (
        "CREATE OR REPLACE FUNCTION coflux_append(p text, e bigint, b jsonb) RETURNS void\n"
        "LANGUAGE plpgsql AS $append$\n"
        "DECLARE\n    r record;\n    missing text[];\n"
        "BEGIN\n"
        "    -- Only the holder of the project's lease at epoch e writes (leases.py); the\n"
        "    -- share lock holds a takeover off until this batch has committed.\n"
        "    PERFORM FROM project_leases WHERE project_id = p AND epoch = e FOR SHARE;\n"
        "    IF NOT FOUND THEN\n"
        f"        RAISE EXCEPTION USING ERRCODE = '{FENCED}',\n"
        "            MESSAGE = 'the lease at epoch ' || e || ' is no longer current';\n"
        "    END IF;\n"
        + "".join(table.block for table in _INSERTED)
        + "    IF b ? 'current' THEN\n"
        "        FOR r IN SELECT * FROM jsonb_to_recordset(b->'current')\n"
        "            AS (id text, state text, at float8, assigned_at float8, session_id text)\n"
        "        LOOP\n"
        "            UPDATE executions SET state = r.state, state_at = r.at,\n"
        "                assigned_at = coalesce(r.assigned_at, assigned_at),\n"
        "                session_id = coalesce(r.session_id, session_id)\n"
        "            WHERE project_id = p AND id = r.id;\n"
        "        END LOOP;\n"
        "    END IF;\n"
        "    IF b ? 'run_states' THEN\n"
        "        FOR r IN SELECT * FROM jsonb_to_recordset(b->'run_states') AS (id text, state text)\n"
        "        LOOP\n"
        "            UPDATE runs SET state = r.state WHERE project_id = p AND id = r.id;\n"
        "        END LOOP;\n"
        "    END IF;\n"
        "    IF b ? 'leaving' THEN\n"
        "        FOR r IN SELECT jsonb_array_elements_text(b->'leaving') AS id LOOP\n"
        "            DELETE FROM active_executions WHERE project_id = p AND execution_id = r.id;\n"
        "        END LOOP;\n"
        "    END IF;\n"
        "    -- The references the batch does not create itself must exist already.\n"
        "    IF b ? 'named' THEN\n"
        "        FOR r IN SELECT * FROM jsonb_to_recordset(b->'named') AS (kind text, id text) LOOP\n"
        "            CASE r.kind\n"
        f"{checks}\n"
        "            END CASE;\n"
        "            IF NOT FOUND THEN\n"
        "                missing := array_append(missing, r.kind || ' ' || r.id);\n"
        "            END IF;\n"
        "        END LOOP;\n"
        "        IF missing IS NOT NULL THEN\n"
        "            PERFORM coflux_unknown_references(missing);\n"
        "        END IF;\n"
        "    END IF;\n"
        "END\n"
        "$append$;\n"
    )


Row = tuple[Any, ...]


@dataclass
class Rows:
    """A batch's rows, table by table, in the order of their facts."""

    environments: dict[str, Row] = field(default_factory=dict)  # the first record wins
    environment_versions: list[Row] = field(default_factory=list)
    manifests: dict[str, Row] = field(default_factory=dict)  # by content hash
    registrations: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[Row] = field(default_factory=list)
    runs: list[Row] = field(default_factory=list)
    steps: list[Row] = field(default_factory=list)
    executions: list[Row] = field(default_factory=list)
    checkpoints: list[Row] = field(default_factory=list)
    transitions: list[Row] = field(default_factory=list)
    # id -> [id, state, at, assigned_at, session_id] where the batch leaves each
    current: dict[str, list[Any]] = field(default_factory=dict)
    leaders: dict[str, str] = field(default_factory=dict)  # the last link wins
    run_states: dict[str, str] = field(default_factory=dict)  # where the batch leaves each run
    outcomes: list[Row] = field(default_factory=list)
    leaving: dict[str, None] = field(default_factory=dict)  # an ordered set
    logs: list[Row] = field(default_factory=list)
    assets: dict[str, Row] = field(default_factory=dict)  # the first record wins
    asset_entries: dict[tuple[str, str], Row] = field(default_factory=dict)
    restores: list[Row] = field(default_factory=list)
    metrics: list[Row] = field(default_factory=list)
    metric_points: list[Row] = field(default_factory=list)
    inputs: list[Row] = field(default_factory=list)
    input_responses: list[Row] = field(default_factory=list)
    names: references.Names = field(default_factory=references.Names)

    @classmethod
    def collect(cls, facts: Sequence[Fact]) -> Rows:
        """The rows of ``facts``.

        Raises:
            TypeError: a fact of a kind this backend does not know.
        """
        # Each table's rows come from one kind of fact, in the facts' order (the
        # tables' order is that of ``statements``): all of a kind are collected at once.
        by_kind: defaultdict[type[Fact], list[Fact]] = defaultdict(list)
        for fact in facts:
            by_kind[type(fact)].append(fact)
        rows = cls()
        for kind, group in by_kind.items():
            _COLLECTORS[kind](rows, group)
        for fact in facts:
            rows.names.add(fact)
        return rows

    def statements(self, project_id: str, epoch: int) -> list[Statement]:
        """What writes these rows, in the order it must run: the registrations and
        links (if any), then the batch's one statement (see the module docstring),
        which is there even with no rows of its own, for its check of the lease."""
        p = project_id
        # A manifest's content, then each registration naming it.
        manifests = list(self.manifests.values())
        before: list[Statement] = [MANIFESTS.statement(p, manifests)] if manifests else []
        before += [(_REGISTER_MANIFEST, {"p": p, **r}) for r in self.registrations]
        # An execution created in this batch is inserted where the batch leaves
        # it; only older ones are updated, and join or leave the working set once.
        new = {row[0]: row for row in self.executions}
        leaders = [(e, leader) for e, leader in self.leaders.items() if e not in new]
        if leaders:
            before.append((_LINK, (*_columns(leaders), [p] * len(leaders))))
        inserted: list[tuple[_Table, Sequence[Sequence[Any]]]] = [
            (ENVIRONMENTS, list(self.environments.values())),
            (ENVIRONMENT_VERSIONS, self.environment_versions),
            (SESSIONS, self.sessions),
            (RUNS, [(*row, self.run_states.get(row[0])) for row in self.runs]),
            (STEPS, self.steps),
            (EXECUTIONS, [self._created(row) for row in self.executions]),
            (ACTIVE, [(e,) for e in new if e not in self.leaving]),
            (CHECKPOINTS, self.checkpoints),
            (TRANSITIONS, self.transitions),
            (OUTCOMES, self.outcomes),
            (LOGS, self.logs),
            (ASSETS, list(self.assets.values())),
            (ASSET_ENTRIES, list(self.asset_entries.values())),
            (RESTORES, self.restores),
            (METRICS, self.metrics),
            (METRIC_POINTS, self.metric_points),
            (INPUTS, self.inputs),
            (INPUT_RESPONSES, self.input_responses),
        ]
        document: dict[str, Any] = {
            table.name: table.objects(rows) for table, rows in inserted if rows
        }
        current = [
            dict(zip(_CURRENT, row, strict=True)) for e, row in self.current.items() if e not in new
        ]
        if current:
            document["current"] = current
        # Likewise a run: one created here is inserted with its state.
        created = {row[0] for row in self.runs}
        run_states = [
            {"id": run, "state": state} for run, state in self.run_states.items()
            if run not in created
        ]  # fmt: skip
        if run_states:
            document["run_states"] = run_states
        leaving = [e for e in self.leaving if e not in new]
        if leaving:
            document["leaving"] = leaving
        named = [{"kind": kind, "id": value} for kind, value in self.names.unknown()]
        if named:
            document["named"] = named
        call = "SELECT coflux_append(%s, %s, %s::jsonb)"
        return [*before, (call, [p, epoch, _encode(document).decode()])]

    def _created(self, row: Row) -> Row:
        """A new execution's row, with its state and leader after this batch."""
        state = self.current.get(row[0], (None, None, None, None, None))[1:]
        return (*row, *state, self.leaders.get(row[0]))


def _columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """The rows transposed: one list per column, for ``unnest``."""
    return [list(column) for column in zip(*rows, strict=True)]


# --- one collector per kind of fact (the rows themselves: ``fact_rows``) ----------


def _environments(rows: Rows, facts: Sequence[EnvironmentRecorded]) -> None:
    for row in fact_rows.environments(facts):
        rows.environments.setdefault(row[0], row)
    rows.environment_versions += fact_rows.environment_versions(facts)


def _manifests(rows: Rows, facts: Sequence[ManifestRegistered]) -> None:
    contents, registrations = fact_rows.manifests(facts)
    for content in contents:
        rows.manifests.setdefault(content[0], content)
    rows.registrations += registrations


def _sessions(rows: Rows, facts: Sequence[SessionStarted]) -> None:
    rows.sessions += fact_rows.sessions(facts)


def _runs(rows: Rows, facts: Sequence[RunCreated]) -> None:
    rows.runs += fact_rows.runs(facts)


def _steps(rows: Rows, facts: Sequence[StepCreated]) -> None:
    rows.steps += fact_rows.steps(facts)


def _executions(rows: Rows, facts: Sequence[ExecutionCreated]) -> None:
    rows.executions += fact_rows.executions(facts)


def _checkpoints(rows: Rows, facts: Sequence[CheckpointRecorded]) -> None:
    rows.checkpoints += fact_rows.checkpoints(facts)


def _transitions(rows: Rows, facts: Sequence[ExecutionTransitioned]) -> None:
    transitions, leaving = fact_rows.transitions(facts, rows.current)
    fact_rows.run_states(facts, rows.run_states)
    rows.transitions += transitions
    rows.leaving.update(dict.fromkeys(leaving))


def _links(rows: Rows, facts: Sequence[ExecutionLinked]) -> None:
    for f in facts:
        rows.leaders[f.execution_id] = f.leader_id


def _outcomes(rows: Rows, facts: Sequence[OutcomeRecorded]) -> None:
    rows.outcomes += fact_rows.outcomes(facts)
    # A stand-in leaves the working set with its outcome (``fact_rows.transitions``).
    rows.leaving.update(dict.fromkeys(f.execution_id for f in facts))


def _logs(rows: Rows, facts: Sequence[LogsRecorded]) -> None:
    # The template is kept as a JSON string: it may hold NUL, which `text` cannot.
    rows.logs += fact_rows.logs(facts, codecs.encode)


def _assets(rows: Rows, facts: Sequence[AssetRecorded]) -> None:
    # The first record of an asset, and of each of its entries, wins.
    for row in fact_rows.assets(facts):
        rows.assets.setdefault(row[0], row)
    for entry in fact_rows.asset_entries(facts):
        rows.asset_entries.setdefault((entry[0], entry[1]), entry)


def _restores(rows: Rows, facts: Sequence[AssetRestored]) -> None:
    rows.restores += fact_rows.restores(facts)


def _metrics(rows: Rows, facts: Sequence[MetricsRecorded]) -> None:
    rows.metrics += fact_rows.metrics(facts)
    rows.metric_points += fact_rows.metric_points(facts)


def _inputs(rows: Rows, facts: Sequence[InputRequested]) -> None:
    rows.inputs += fact_rows.inputs(facts)


def _input_responses(rows: Rows, facts: Sequence[InputResponded | InputDismissed]) -> None:
    rows.input_responses += fact_rows.input_responses(facts)


# Any: each collector takes a list of its own kind of fact, which collect guarantees.
_Collector = Callable[[Rows, Sequence[Any]], None]
_COLLECTORS = fact_rows.Writers[_Collector](
    "PostgreSQL",
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
        AssetRecorded: _assets,
        AssetRestored: _restores,
        MetricsRecorded: _metrics,
        InputRequested: _inputs,
        InputResponded: _input_responses,
        InputDismissed: _input_responses,
    },
)
