"""Fault soak benchmark: runs under random kill -9 of the server and agents.

Runs the soak of ``tests/support/soak.py`` (the same harness as the test suite's
``tests/integration/test_soak.py``) once, with more runs and kills than the suite,
and writes its figures: runs, kills of each kind, lost records, executions beyond
their retry policy, wrong results (every one of those must be 0), time and seed.

Writes bench/results/soak.json and bench/results/soak.md.
Run with: bench/run soak [--runs N] [--kills N] [--seconds S] [--seed N]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(Path(__file__).resolve().parent), str(ROOT)]

from measure import machine, table, write  # noqa: E402
from tests.support.soak import Soak  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=None)
    options = parser.parse_args()
    seed = options.seed if options.seed is not None else random.randrange(2**32)
    with tempfile.TemporaryDirectory(prefix="coflux-soak-") as workdir:
        soak = Soak(
            Path(workdir), seed, runs=options.runs, kills=options.kills, seconds=options.seconds
        )
        figures = soak.run()
    data = {"machine": machine(), **dataclasses.asdict(figures)}
    rows = [
        ["runs", figures.runs],
        ["server kills (kill -9, restarted on the same data directory)", figures.server_kills],
        ["agent kills (kill -9, a new agent started)", figures.agent_kills],
        ["runs that did not finish", figures.unfinished_runs],
        ["wrong results", figures.wrong_results],
        ["records lost or changed after a kill", figures.lost_records],
        ["executions beyond their retry policy", figures.duplicate_executions],
        ["successes recorded for bodies that never finished", figures.unfounded_successes],
        ["seconds", figures.seconds],
        ["seed", figures.seed],
    ]
    markdown = (
        "# Fault soak\n\n"
        f"`bench/run soak` at {data['machine']['commit']} "
        f"({data['machine']['cpus']} CPUs, Python {data['machine']['python']}).\n\n"
        + table(["measure", "value"], rows)
        + "\n"
        + ("".join(f"\n- {p}" for p in figures.problems) + "\n" if figures.problems else "")
    )
    write(RESULTS, "soak", data, markdown)
    print(markdown)
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
