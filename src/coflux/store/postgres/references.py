"""Checking the references of a batch: every row it names must exist.

The SQLite store's foreign keys, deferred to the commit, refuse a batch that
names an environment, run, step, execution or asset that neither the database
nor the batch has (the engine checks what it is sent, so this is the last line
against a bug). The PostgreSQL schema has no such foreign keys (its migration
says why); instead ``Names`` notes, fact by fact, what a batch creates and what
it names, and the batch's function (``writes.append_function``) ends by looking
up, one by one through their primary keys, the names it does not create. Any that
do not exist make ``coflux_unknown_references`` raise a foreign_key_violation,
which aborts the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coflux.orchestration.effects import (
    AssetRecorded,
    AssetRestored,
    CheckpointRecorded,
    EnvironmentRecorded,
    ExecutionCreated,
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

# What a fact creates and what it names, as (kind, attribute): the references of
# the SQLite schema. Logs and assets name rows inside their records (see ``add``).
_Relation = tuple[tuple[str, str] | None, tuple[tuple[str, str], ...]]
_RELATIONS: dict[type[Fact], _Relation] = {
    EnvironmentRecorded: (("environment", "environment_id"), (("environment", "base_id"),)),
    ManifestRegistered: (None, (("environment", "environment_id"),)),
    SessionStarted: (None, (("environment", "environment_id"),)),
    RunCreated: (("run", "run_id"), (("environment", "environment_id"),)),
    StepCreated: (("step", "step_id"), (("run", "run_id"), ("execution", "parent_execution_id"))),
    ExecutionCreated: (
        ("execution", "execution_id"),
        (("step", "step_id"), ("run", "run_id"), ("environment", "environment_id")),
    ),
    CheckpointRecorded: (None, (("execution", "execution_id"), ("run", "run_id"))),
    ExecutionTransitioned: (None, (("execution", "execution_id"), ("run", "run_id"))),
    OutcomeRecorded: (None, (("execution", "execution_id"), ("run", "run_id"))),
    AssetRecorded: (None, (("run", "run_id"),)),
    MetricsRecorded: (None, (("execution", "execution_id"), ("run", "run_id"))),
    AssetRestored: (
        None,
        (("asset", "asset_id"), ("execution", "execution_id"), ("run", "run_id")),
    ),
    InputResponded: (None, (("input", "input_id"), ("run", "run_id"))),
    InputDismissed: (None, (("input", "input_id"), ("run", "run_id"))),
}

# The table holding each kind of name, looked up by (project_id, id).
TABLES = {
    "environment": "environments",
    "run": "runs",
    "step": "steps",
    "execution": "executions",
    "asset": "assets",
    "input": "inputs",
}


@dataclass
class Names:
    """What a batch creates, and what it names, by kind."""

    created: dict[str, set[str]] = field(default_factory=dict)
    named: dict[tuple[str, str], None] = field(default_factory=dict)  # an ordered set

    def add(self, fact: Fact) -> None:
        creates, names = _RELATIONS.get(type(fact), (None, ()))
        if creates is not None:
            kind, attribute = creates
            self.created.setdefault(kind, set()).add(getattr(fact, attribute))
        for kind, attribute in names:
            value = getattr(fact, attribute)
            if value is not None:
                self.named[kind, value] = None
        if isinstance(fact, LogsRecorded):
            for entry, run_id in zip(fact.entries, fact.run_ids, strict=True):
                self.named["execution", entry.execution_id] = None
                self.named["run", run_id] = None
        elif isinstance(fact, AssetRecorded):
            self.created.setdefault("asset", set()).add(fact.asset.id)
            self.named["execution", fact.asset.execution_id] = None
        elif isinstance(fact, InputRequested):
            self.created.setdefault("input", set()).add(fact.input.id)
            self.named["execution", fact.input.execution_id] = None
            self.named["run", fact.run_id] = None

    def unknown(self) -> list[tuple[str, str]]:
        """The names the batch does not create itself: those must exist already."""
        return [
            (kind, value) for kind, value in self.named if value not in self.created.get(kind, ())
        ]
