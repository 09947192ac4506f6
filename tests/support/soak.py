"""The fault soak: runs under random ``kill -9`` of the server and of agents.

A real server and agents (``tests.support.cluster``) on one data directory run a
mix of fan-outs, chains, retried, cached and spawned calls
(``tests/support/repos/soak.py``) while a seeded random schedule kills the
server or an agent and starts it again on the same data directory. At the end
it checks what the engine promises (``docs/design.md``, "Faults, and what
survives them"):

* every run reaches a final state, with the correct result;
* no task's body ran more often than its retries allow (counted in the files
  the tasks write, not in the engine's records);
* nothing recorded before a kill is missing or changed after it;
* no execution is recorded succeeded unless its body finished.

Used by ``tests/integration/test_soak.py`` (bounded) and ``bench/soak.py``
(figures into ``bench/results/``).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.cluster import REPOS, Cluster, Process, Server
from tests.support.eventually import eventually
from tests.support.repos import soak as workflows

STANDING_IN = {"cached", "spawned", "deferred", "queued"}  # states in which no body ran
TERMINAL = {"succeeded", "failed", "abandoned", "cancelled", "cached", "spawned", "deferred"}


@dataclass
class Figures:
    seed: int
    runs: int = 0
    server_kills: int = 0
    agent_kills: int = 0
    lost_records: int = 0
    duplicate_executions: int = 0
    wrong_results: int = 0
    unfinished_runs: int = 0
    unfounded_successes: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Soak:
    workdir: Path
    seed: int
    runs: int = 30
    kills: int = 10
    agents: int = 2
    seconds: float = 150.0  # the whole soak's budget, kills included
    cluster: Cluster = field(init=False)
    marks: Path = field(init=False)

    def __post_init__(self) -> None:
        self.marks = self.workdir / "marks"
        self.marks.mkdir(parents=True)
        # Short enough that a killed agent's work is abandoned (and retried) soon.
        server = Server(self.workdir / "data", session_timeout=2.0)
        self.cluster = Cluster(server, self.workdir)

    # --- processes -----------------------------------------------------------------

    def _agent(self) -> Process:
        return self.cluster.start_agent(
            REPOS / "soak.py",
            args=("--concurrency", "4"),
            env={"COFLUX_SOAK_DIR": str(self.marks)},
            wait=False,
        )

    def run(self) -> Figures:
        figures = Figures(self.seed)
        rng = random.Random(self.seed)
        started = time.monotonic()
        cluster = self.cluster
        cluster.server.start()
        try:
            assert cluster.cli("projects", "create", "test").returncode == 0
            assert cluster.cli("environments", "create", "production").returncode == 0
            assert cluster.cli("register", str(REPOS / "soak.py")).returncode == 0
            for _ in range(self.agents):
                self._agent()
            # Runs are submitted in waves between the kills, so that every kill
            # lands on work in flight.
            plan = self._plan(rng)
            wave = -(-len(plan) // max(1, self.kills))
            submitted: dict[str, tuple[str, str, int]] = {}
            snapshots: list[dict[str, Any]] = []
            deadline = started + self.seconds * 0.6
            for _ in range(self.kills):
                submitted.update(self._submit(plan[:wave]))
                del plan[:wave]
                time.sleep(rng.uniform(0.2, 1.2))
                if time.monotonic() > deadline:
                    break
                # What every kill must not take away: compared with the final views.
                snapshots.extend(self._views(submitted))
                if rng.random() < 0.4:
                    cluster.server.kill9()
                    cluster.server.start()
                    figures.server_kills += 1
                else:
                    victim = rng.randrange(len(cluster.agents))
                    cluster.agents[victim].kill9()
                    cluster.agents.pop(victim)
                    self._agent()
                    figures.agent_kills += 1
            submitted.update(self._submit(plan))
            figures.runs = len(submitted)
            remaining = max(30.0, self.seconds - (time.monotonic() - started))
            self._wait_for_the_end(submitted, remaining, figures)
            self._check(submitted, snapshots, figures)
        finally:
            cluster.stop()
            figures.seconds = round(time.monotonic() - started, 1)
        return figures

    # --- driving -------------------------------------------------------------------

    def _plan(self, rng: random.Random) -> list[tuple[str, str, int]]:
        """The runs to submit: (kind, key, size), kinds in turn."""
        plan = []
        for n in range(self.runs):
            kind = ("fanout", "chain", "mixed")[n % 3]
            sizes = {"fanout": (30, 50), "chain": (10, 20), "mixed": (1, 9)}[kind]
            plan.append((kind, f"r{n}", rng.randint(*sizes)))
        return plan

    def _submit(self, plan: list[tuple[str, str, int]]) -> dict[str, tuple[str, str, int]]:
        """Submit runs (through kills: retried with their idempotency keys)."""
        submitted = {}
        for kind, key, size in plan:
            body = {
                "environment": "production", "repository": "soak", "target": kind,
                "arguments": [{"format": "json", "data": key}, {"format": "json", "data": size}],
                "idempotency_key": f"soak-{self.seed}-{key}",
            }  # fmt: skip

            def post(body: dict[str, Any] = body) -> str | None:
                try:
                    answer = self.cluster.api("POST", "/api/projects/test/runs", json=body)
                except httpx.TransportError:
                    return None
                if answer.status_code == 503:
                    return None
                assert answer.status_code in (200, 201), answer.text
                return str(answer.json()["run_id"])

            submitted[eventually(post, 60, interval=0.2)] = (kind, key, size)
        return submitted

    def _get(self, path: str) -> Any:
        """A GET through kills: retried while the server is away."""

        def answer() -> Any:
            try:
                response = self.cluster.api("GET", path)
            except httpx.TransportError:
                return None
            return response.json() if response.status_code == 200 else None

        return eventually(answer, 60, interval=0.2, message=f"GET {path}")

    def _views(self, submitted: dict[str, Any]) -> list[dict[str, Any]]:
        return [self._get(f"/api/projects/test/runs/{run_id}") for run_id in submitted]

    def _wait_for_the_end(
        self, submitted: dict[str, Any], timeout: float, figures: Figures
    ) -> None:
        deadline = time.monotonic() + timeout
        for run_id in submitted:
            remaining = max(1.0, deadline - time.monotonic())
            try:
                eventually(
                    lambda run_id=run_id: (
                        self._get(f"/api/projects/test/runs/{run_id}/result")["state"] in TERMINAL
                    ),
                    remaining,
                    interval=0.25,
                )
            except AssertionError:
                figures.unfinished_runs += 1
                figures.problems.append(f"run {run_id} did not finish")

    # --- invariants ----------------------------------------------------------------

    def _check(
        self,
        submitted: dict[str, tuple[str, str, int]],
        snapshots: list[dict[str, Any]],
        figures: Figures,
    ) -> None:
        finals = {view["id"]: view for view in self._views(submitted)}
        for run_id, (kind, _key, size) in submitted.items():
            result = self._get(f"/api/projects/test/runs/{run_id}/result")
            outcome = result.get("outcome") or {}
            value = (outcome.get("value") or {}).get("data")
            if result["state"] != "succeeded" or value != workflows.expected(kind, size):
                figures.wrong_results += 1
                figures.problems.append(f"run {run_id} ({kind}): {result}")
        # Spawned runs (a task calling a workflow) are runs of their own: all of them.
        views = [self._get(f"/api/projects/test/runs/{r['id']}") for r in self._list_runs()]
        self._check_side_effects(views, figures)
        for before in snapshots:
            self._check_kept(before, finals.get(before["id"]), figures)

    def _list_runs(self) -> list[dict[str, Any]]:
        return list(self._get("/api/projects/test/runs?limit=1000"))

    def _check_side_effects(self, views: list[dict[str, Any]], figures: Figures) -> None:
        """Each body ran at most once per recorded attempt, and no step has more
        attempts than its retries allow; a success was only recorded for a body
        that finished."""
        attempts: dict[str, int] = {}
        succeeded: set[str] = set()
        for view in views:
            for step in view["steps"][1:]:
                key = step["arguments"][0]["data"]
                if not isinstance(key, str) or key.startswith("soak-cache."):
                    continue  # shared by every run: a cache hit runs nothing
                ran = [e for e in step["executions"] if e["state"] not in STANDING_IN]
                if len(ran) > 1 + workflows.RETRIES:
                    figures.duplicate_executions += 1
                    figures.problems.append(f"step {step['id']} has {len(ran)} attempts")
                attempts[key] = attempts.get(key, 0) + len(ran)
                if any(e["state"] == "succeeded" for e in ran):
                    succeeded.add(key)
        for key, allowed in attempts.items():
            lines = self._marks(key)
            if lines.count("start") > allowed:
                figures.duplicate_executions += 1
                figures.problems.append(
                    f"{key}: ran {lines.count('start')} times, {allowed} attempts"
                )
            if key in succeeded and "end" not in lines:
                figures.unfounded_successes += 1
                figures.problems.append(f"{key}: recorded succeeded, never finished")

    def _marks(self, key: str) -> list[str]:
        path = self.marks / key
        return path.read_text().split() if path.exists() else []

    def _check_kept(
        self, before: dict[str, Any], after: dict[str, Any] | None, figures: Figures
    ) -> None:
        """Everything ``before`` recorded is in ``after``; what had ended is unchanged."""
        if after is None:
            figures.lost_records += 1
            figures.problems.append(f"run {before['id']} is gone")
            return
        later = {e["id"]: e for s in after["steps"] for e in s["executions"]}
        for step in before["steps"]:
            for execution in step["executions"]:
                found = later.get(execution["id"])
                if found is None:
                    figures.lost_records += 1
                    figures.problems.append(f"execution {execution['id']} is gone")
                elif execution["state"] in TERMINAL and (
                    found["state"] != execution["state"]
                    or found.get("outcome") != execution.get("outcome")
                ):
                    figures.lost_records += 1
                    figures.problems.append(f"execution {execution['id']} changed after ending")
