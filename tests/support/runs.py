"""Reading runs back through the CLI, for integration tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.cluster import Cluster


def inspect(cluster: Cluster, run_id: str) -> dict[str, Any]:
    done = cluster.cli("runs", "inspect", run_id, "--json")
    assert done.returncode == 0, done.stderr
    run: dict[str, Any] = json.loads(done.stdout)
    return run


def executions(cluster: Cluster, run_id: str, target: str) -> list[dict[str, Any]]:
    steps = [s for s in inspect(cluster, run_id)["steps"] if s["target"] == target]
    return [e for s in steps for e in s["executions"]]


def count(path: Path) -> int:
    """A counter file's value (test repositories count their executions in files).

    Read while an execution writes it, the file can be empty for a moment (written
    in place, truncated first): that reads as 0, the count not yet made."""
    text = path.read_text() if path.exists() else ""
    return int(text) if text.strip() else 0
