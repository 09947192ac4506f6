"""The fault soak, bounded for the suite (``tests/support/soak.py``).

``COFLUX_SOAK_SECONDS``, ``COFLUX_SOAK_RUNS``, ``COFLUX_SOAK_KILLS`` and
``COFLUX_SOAK_SEED`` make it longer or repeat a failing schedule.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.support.soak import Soak


@pytest.mark.timeout(600)
def test_runs_survive_random_kills_of_the_server_and_agents(tmp_path: Path) -> None:
    seed = int(os.environ.get("COFLUX_SOAK_SEED", random.randrange(2**32)))
    soak = Soak(
        tmp_path,
        seed,
        runs=int(os.environ.get("COFLUX_SOAK_RUNS", "30")),
        kills=int(os.environ.get("COFLUX_SOAK_KILLS", "12")),
        seconds=float(os.environ.get("COFLUX_SOAK_SECONDS", "150")),
    )
    figures = soak.run()
    print(figures)
    assert figures.ok, f"seed {seed} (COFLUX_SOAK_SEED={seed} repeats it): {figures.problems}"
    assert figures.runs >= 30 and figures.server_kills + figures.agent_kills >= 10
    assert figures.lost_records == figures.duplicate_executions == 0
