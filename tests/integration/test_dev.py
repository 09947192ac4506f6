"""`coflux agent --dev` reloads changed code and re-registers its workflows."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cluster import Cluster
from tests.support.eventually import eventually

VERSION_ONE = """
import coflux as cf

@cf.workflow
def version() -> int:
    return 1
"""

VERSION_TWO = '''
import coflux as cf

@cf.workflow
def version() -> int:
    return 2

@cf.workflow
def added(x: int) -> int:
    """A workflow that appears on reload."""
    return x + 1
'''


def registered(cluster: Cluster) -> set[str]:
    path = "/api/projects/test/environments/production/manifests"
    return {t["name"] for m in cluster.api("GET", path).json() for t in m["targets"]}


def test_dev_agent_reloads_and_reregisters_on_change(cluster: Cluster, tmp_path: Path) -> None:
    source = tmp_path / "code" / "live.py"
    source.parent.mkdir()
    source.write_text(VERSION_ONE)
    agent = cluster.start_agent(source, args=["--dev"])
    assert json.loads(cluster.cli("submit", "live", "version", "--wait").stdout) == 1
    assert registered(cluster) == {"version"}

    source.write_text(VERSION_TWO)
    eventually(lambda: registered(cluster) == {"version", "added"}, 20, message=agent.output.text())
    eventually(lambda: cluster.cli("submit", "live", "version", "--wait").stdout.strip() == "2", 20)
    assert json.loads(cluster.cli("submit", "live", "added", "41", "--wait").stdout) == 42
