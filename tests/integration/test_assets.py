"""Assets cross agents: a file, a directory filtered by a glob, the whole working
directory, restored in place or elsewhere; recorded against both executions;
inspected and downloaded through the API; restored by the CLI; and every way of
escaping the restore directory is refused."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import websockets

from coflux import protocol
from tests.support.cluster import REPOS, Cluster


@pytest.fixture
def two_agents(cluster: Cluster) -> Cluster:
    cluster.start_agent(REPOS / "producer.py")
    cluster.start_agent(REPOS / "consumer.py")
    return cluster


def submit(cluster: Cluster, *args: str) -> tuple[str, Any]:
    run_id = cluster.cli("submit", "consumer", *args).stdout.strip()
    done = cluster.cli("runs", "result", run_id, "--wait")
    assert done.returncode == 0, done.stderr
    return run_id, json.loads(done.stdout)


def files(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_assets_cross_agents_and_are_recorded_and_served(
    two_agents: Cluster, tmp_path: Path
) -> None:
    run_id, report = submit(two_agents, "assets_cross")
    assert report["file"] == {
        "kind": "file", "path": "out/report.csv", "size": 8, "file_count": 1,
        "metadata": {"content_type": "text/csv"}, "restored": "out/report.csv",
        "text": "a,b\n1,2\n",
    }  # fmt: skip
    assert report["csvs"] == {
        "kind": "directory", "path": "data", "file_count": 2, "metadata": {"match": "**/*.csv"},
        "restored": "data", "files": ["a.csv", "sub/c.csv"],
    }  # fmt: skip
    assert report["all"] == {
        "path": ".", "file_count": 4, "restored": "elsewhere",
        "files": ["data/a.csv", "data/b.txt", "data/sub/c.csv", "out/report.csv"],
    }  # fmt: skip
    ids = report["ids"]

    # GET /assets/{id}: exactly the shape Studio codes against.
    asset = two_agents.api("GET", f"/api/projects/test/assets/{ids['csvs']}").json()
    assert set(asset) == {
        "id", "execution_id", "kind", "path", "size", "file_count", "metadata", "entries"
    }  # fmt: skip
    assert [(e["path"], e["size"]) for e in asset["entries"]] == [
        ("data/a.csv", 16), ("data/sub/c.csv", 20)
    ]  # fmt: skip
    assert asset["execution_id"] == f"{run_id}:2:1"  # persisted by the producer's step

    # Recorded against the persisting execution and the restoring one.
    listed = two_agents.api("GET", f"/api/projects/test/runs/{run_id}/assets").json()
    assert {a["id"] for a in listed["assets"]} == set(ids.values())
    assert {(r["asset_id"], r["execution_id"]) for r in listed["restores"]} == {
        (asset_id, f"{run_id}:1:1") for asset_id in ids.values()
    }

    # One file, downloaded.
    path = f"/api/projects/test/assets/{ids['file']}/files/out/report.csv"
    download = two_agents.api("GET", path)
    assert download.status_code == 200 and download.text == "a,b\n1,2\n"
    assert download.headers["content-disposition"].startswith("attachment")
    preview = two_agents.api("GET", path, params={"inline": "1"})
    assert preview.headers["content-security-policy"] == "sandbox"

    # The CLI restores the whole working directory elsewhere, and shows the asset.
    restored = two_agents.cli("assets", "restore", ids["all"], "--to", str(tmp_path / "copy"))
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.strip() == str((tmp_path / "copy").resolve())
    assert files(tmp_path / "copy") == {
        "data/a.csv": "content of a.csv", "data/b.txt": "content of b.txt",
        "data/sub/c.csv": "content of sub/c.csv", "out/report.csv": "a,b\n1,2\n",
    }  # fmt: skip
    shown = two_agents.cli("assets", "inspect", ids["file"], "--json")
    assert json.loads(shown.stdout)["path"] == "out/report.csv"


def test_escaping_the_restore_directory_is_refused(two_agents: Cluster, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    # In an execution: the restore target holds a symlink leading outside.
    _, answer = submit(two_agents, "restore_through_symlink", json.dumps(str(outside)))
    assert answer.startswith("refused: refusing to restore 'trap/payload.txt'")
    assert "through a symlink" in answer
    assert list(outside.iterdir()) == []
    # From the CLI: the same, with nothing written at all.
    run_id = json.loads(two_agents.cli("runs", "list", "--json").stdout)[0]["id"]
    listed = two_agents.api("GET", f"/api/projects/test/runs/{run_id}/assets").json()
    trap = listed["assets"][0]["id"]
    target = tmp_path / "target"
    target.mkdir()
    (target / "trap").symlink_to(outside)
    refused = two_agents.cli("assets", "restore", trap, "--to", str(target))
    assert refused.returncode == 1
    assert "refusing to restore 'trap/payload.txt'" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert list(outside.iterdir()) == []
    # The download route only serves recorded entries: paths never reach the disk.
    for path in ("..%2F..%2Fblobs", "trap%2F..%2Ftrap%2Fpayload.txt", "%2Fetc%2Fpasswd", "trap"):
        response = two_agents.api("GET", f"/api/projects/test/assets/{trap}/files/{path}")
        assert response.status_code == 404, (path, response.text)


async def test_agents_cannot_record_assets_that_escape(cluster: Cluster) -> None:
    hello = protocol.Hello(
        protocol_version=protocol.PROTOCOL_VERSION, project="test", environment="production"
    )
    key = "ab" * 32
    bad = [
        ("../../etc/passwd", "."), ("/etc/passwd", "."), ("a/../../b", "."),
        ("..\\..\\windows", "."), ("x", "../up"),
    ]  # fmt: skip
    async with websockets.connect(f"ws://{cluster.server.host}/api/agent") as ws:
        await ws.send(protocol.encode_json(hello))
        (welcome,) = protocol.decode_server_frame(await ws.recv())
        assert isinstance(welcome, protocol.Welcome)
        for number, (entry, path) in enumerate(bad, start=1):
            request = protocol.PersistAsset(
                request_id=number,
                execution_id="nope:1:1",
                asset_id=f"asset{number:04d}",
                kind="directory",
                path=path,
                entries=(protocol.AssetEntry(path=entry, size=1, blob=key),),
            )
            await ws.send(protocol.encode_json(request))
            (reply,) = protocol.decode_server_frame(await asyncio.wait_for(ws.recv(), 10))
            assert isinstance(reply, protocol.AssetReply) and reply.asset is None
            assert reply.error is not None and "unsafe_asset_path" not in reply.error.message
            assert "asset path" in reply.error.message or "asset entry" in reply.error.message
        # A well-formed asset for an execution that is not running is refused too.
        good = protocol.PersistAsset(
            99, "nope:1:1", "asset0099", "file", "a.txt", (protocol.AssetEntry("a.txt", 1, key),)
        )
        await ws.send(protocol.encode_json(good))
        (reply,) = protocol.decode_server_frame(await asyncio.wait_for(ws.recv(), 10))
        assert isinstance(reply, protocol.AssetReply) and reply.error is not None
    assert cluster.api("GET", "/api/projects/test/assets/asset0001").status_code == 404
