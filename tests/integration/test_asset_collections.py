"""Assets made with ``cf.asset`` (upstream Coflux 0.11's API) through a real server and
agent, on each storage setup: from files, a directory and globs, composed without
uploading again, read by entry and restored partly; listed, shown and downloaded
(partly) by the CLI; served in parts (HTTP Range) by the blob endpoint; and code
shaped like upstream's edge_detection and pandas_etl examples, run unchanged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from coflux.orchestration.states import ExecutionState
from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually
from tests.support.repos.asset_collections import CSV, IMAGE, TEXT

FLOWS = REPOS / "asset_collections.py"


def submit(cluster: Cluster, repository: str, target: str) -> tuple[str, Any]:
    run_id = cluster.cli("submit", repository, target).stdout.strip()
    done = cluster.cli("runs", "result", run_id, "--wait", timeout=120)
    assert done.returncode == 0, done.stderr
    return run_id, json.loads(done.stdout)


def settled(cluster: Cluster, run_id: str) -> None:
    """Wait until every step of the run has ended: a workflow that returns a call's
    handle (``edge_detection``) succeeds before that call has."""

    def all_ended() -> bool:
        run = cluster.api("GET", f"/api/projects/test/runs/{run_id}").json()
        return all(ExecutionState(s["executions"][-1]["state"]).terminal for s in run["steps"])

    eventually(all_ended, timeout=60, message=f"run {run_id} still has steps running")


def files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def collections(cluster: Cluster) -> tuple[Cluster, str, Any]:
    cluster.start_agent(FLOWS)
    run_id, report = submit(cluster, "asset_collections", "collections")
    return cluster, run_id, report


def test_assets_from_files_directories_globs_and_other_assets(
    collections: tuple[Cluster, str, Any],
) -> None:
    _, _, report = collections
    report_files = [
        "report/images/chart.png", "report/images/copy.png", "report/summary.txt",
        "report/table.csv",
    ]  # fmt: skip
    assert report["paths"] == {
        "file": ["report/table.csv"],
        "list": ["report/summary.txt", "scratch/notes.md"],
        "directory": report_files,
        "glob": ["report/images/chart.png", "report/images/copy.png"],
        "at": ["summary.txt", "table.csv"],
        "everything": [*report_files, "scratch/notes.md"],
        "composed": [
            "data/table.csv", "images/report/images/chart.png",
            "images/report/images/copy.png", "notes/scratch/notes.md",
        ],
    }  # fmt: skip
    assert report["entry"] == {
        "path": "report/table.csv", "size": len(CSV), "type": "text/csv", "same_blob": True,
        "restored": "single/report/table.csv", "text_ok": True,
    }  # fmt: skip
    assert report["contains"] == [True, False]
    assert report["partial"] == {
        "report/images/chart.png": "partial/report/images/chart.png",
        "report/images/copy.png": "partial/report/images/copy.png",
    }
    assert report["whole"] == report_files
    assert report["names"] == ["report", "composed", None]
    assert report["image_blobs"] == 1  # equal files are one blob


def test_composed_assets_reuse_the_blobs_of_their_parts(
    collections: tuple[Cluster, str, Any],
) -> None:
    cluster, run_id, report = collections
    # Every blob the composed asset names was already named by the assets it was
    # made of (that no upload happens is tests/unit/test_assets_collections.py's).
    composed = cluster.api("GET", f"/api/projects/test/assets/{report['ids']['composed']}")
    blobs = {e["blob"] for e in composed.json()["entries"]}
    earlier: set[str] = set()
    for name in ("glob", "directory", "list"):
        got = cluster.api("GET", f"/api/projects/test/assets/{report['ids'][name]}").json()
        earlier |= {e["blob"] for e in got["entries"]}
    assert blobs <= earlier
    # The content of the composed entries is what was persisted.
    table = next(e for e in composed.json()["entries"] if e["path"] == "data/table.csv")
    assert table["blob"] == hashlib.sha256(CSV.encode()).hexdigest()
    listed = cluster.api("GET", f"/api/projects/test/runs/{run_id}/assets").json()
    # Made in the run: the six, the composed one, and the filtered one inside it.
    assert {a["id"] for a in listed["assets"]} > set(report["ids"].values())
    assert len(listed["assets"]) == 8


def test_the_cli_lists_shows_and_downloads_partly(
    collections: tuple[Cluster, str, Any], tmp_path: Path
) -> None:
    cluster, run_id, report = collections
    ids = report["ids"]
    listed = cluster.cli("assets", "list", run_id)
    assert listed.returncode == 0, listed.stderr
    assert all(asset_id in listed.stdout for asset_id in ids.values())
    assert "report" in listed.stdout and "composed" in listed.stdout
    as_json = json.loads(cluster.cli("assets", "list", run_id, "--json").stdout)
    assert {a["id"] for a in as_json["assets"]} > set(ids.values())

    shown = cluster.cli("assets", "show", ids["directory"])
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split() == ["PATH", "SIZE", "TYPE", "BLOB"]
    assert lines[4].split()[:3] == ["report/table.csv", str(len(CSV)), "text/csv"]
    detail = json.loads(cluster.cli("assets", "show", ids["directory"], "--json").stdout)
    assert detail["metadata"] == {"collection": True, "name": "report"}
    inspected = json.loads(cluster.cli("assets", "inspect", ids["directory"], "--json").stdout)
    assert inspected == detail  # 0.4's name for it

    # Partial download: a path and a glob.
    to = tmp_path / "out"
    got = cluster.cli(
        "assets", "download", ids["everything"], "report/summary.txt", "*.png", "--to", str(to)
    )
    assert got.returncode == 0, got.stderr
    assert files(to) == {
        "report/images/chart.png": IMAGE,
        "report/images/copy.png": IMAGE,
        "report/summary.txt": TEXT.encode(),
    }
    assert got.stdout.splitlines() == [
        str(to / "report/images/chart.png"),
        str(to / "report/images/copy.png"),
        str(to / "report/summary.txt"),
    ]
    # Everything, without a selection.
    whole = cluster.cli("assets", "download", ids["composed"], "--to", str(tmp_path / "all"))
    assert whole.returncode == 0, whole.stderr
    assert sorted(files(tmp_path / "all")) == report["paths"]["composed"]
    # A selection that selects nothing is an error, and writes nothing.
    missing = cluster.cli(
        "assets", "download", ids["file"], "nope/*", "--to", str(tmp_path / "none")
    )
    assert missing.returncode == 1
    assert "has no file matching 'nope/*'" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert not (tmp_path / "none").exists()


def test_blobs_and_asset_files_answer_range_requests(
    collections: tuple[Cluster, str, Any],
) -> None:
    cluster, _, report = collections
    asset = cluster.api("GET", f"/api/projects/test/assets/{report['ids']['file']}").json()
    key = asset["entries"][0]["blob"]
    size = len(CSV)
    full = cluster.api("GET", f"/blobs/{key}")
    assert (full.status_code, full.content) == (200, CSV.encode())
    assert full.headers["accept-ranges"] == "bytes"
    part = cluster.api("GET", f"/blobs/{key}", headers={"Range": "bytes=0-99"})
    assert (part.status_code, part.content) == (206, CSV.encode()[:100])
    assert part.headers["content-range"] == f"bytes 0-99/{size}"
    tail = cluster.api("GET", f"/blobs/{key}", headers={"Range": "bytes=-10"})
    assert (tail.status_code, tail.content) == (206, CSV.encode()[-10:])
    rest = cluster.api("GET", f"/blobs/{key}", headers={"Range": f"bytes={size - 5}-"})
    assert (rest.status_code, rest.content) == (206, CSV.encode()[-5:])
    outside = cluster.api("GET", f"/blobs/{key}", headers={"Range": f"bytes={size}-"})
    assert outside.status_code == 416
    assert outside.headers["content-range"] == f"bytes */{size}"
    # The asset-file route, too (what Studio's previews could use as well).
    path = f"/api/projects/test/assets/{asset['id']}/files/report/table.csv"
    file_part = cluster.api("GET", path, headers={"Range": "bytes=8-17"}, params={"inline": "1"})
    assert (file_part.status_code, file_part.content) == (206, CSV.encode()[8:18])
    assert file_part.headers["content-range"] == f"bytes 8-17/{size}"


def test_upstream_edge_detection_shape_runs_unchanged(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_agent(REPOS / "edge_detection.py")
    run_id, _ = submit(cluster, "edge_detection", "pipeline")
    settled(cluster, run_id)  # the workflow returned the contours' handle, not its result
    listed = cluster.api("GET", f"/api/projects/test/runs/{run_id}/assets").json()
    assert len(listed["assets"]) == 4  # fetch, grayscale, blur, contours
    last = listed["assets"][-1]["id"]  # the contours' image, the workflow's result
    got = cluster.cli("assets", "download", last, "result.jpg", "--to", str(tmp_path))
    assert got.returncode == 0, got.stderr
    image = (tmp_path / "result.jpg").read_bytes()
    assert len(image) == 4096 and image.count(255) > 0


def test_upstream_pandas_etl_shape_runs_unchanged(cluster: Cluster) -> None:
    cluster.start_agent(REPOS / "pandas_etl.py")
    run_id, _ = submit(cluster, "pandas_etl", "workflow")
    listed = cluster.api("GET", f"/api/projects/test/runs/{run_id}/assets").json()
    paths = set()
    for summary in listed["assets"]:
        asset = cluster.api("GET", f"/api/projects/test/assets/{summary['id']}").json()
        paths |= {e["path"] for e in asset["entries"]}
    assert paths == {
        "customers.csv", "categories.csv", "products.csv", "transactions.csv",
        "sales_summary.csv", "sales_summary_chart.png",
    }  # fmt: skip
    # The restores that upstream's code makes are recorded (entries read = used).
    assert len(listed["restores"]) >= 5
