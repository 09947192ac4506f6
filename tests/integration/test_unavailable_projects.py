"""A project whose database cannot be opened: reported, refused with 503, and
no obstacle to the server starting and the other projects serving."""

from __future__ import annotations

import json
import os
from pathlib import Path

from websockets.sync.client import connect

from tests.support.cluster import REPOS, Cluster, Process, Server, coflux_command
from tests.support.eventually import eventually

FLOWS = REPOS / "flows.py"


def test_damaged_project_files_are_unavailable_and_the_others_serve(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    cluster = Cluster(server, tmp_path, project="good")
    try:
        assert cluster.cli("projects", "create", "good").returncode == 0
        assert cluster.cli("environments", "create", "production").returncode == 0
        broken = cluster.cli("projects", "create", "broken").stdout.strip()
        server.stop()

        projects = tmp_path / "data" / "projects"
        (projects / "junk.sqlite").write_bytes(b"not a database at all\n" * 200)
        damaged = projects / f"{broken}.sqlite"
        os.truncate(damaged, damaged.stat().st_size // 2)
        server.start()

        assert server.process is not None
        log = server.process.output.text()
        assert f"{damaged}" in log and "junk.sqlite" in log  # each named, with the reason
        assert "file is not a database" in log

        listed = cluster.cli("projects", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        by_id = {p["id"]: p for p in json.loads(listed.stdout)}
        assert by_id.keys() >= {broken, "junk"} and len(by_id) == 3
        assert [p["status"] for p in by_id.values() if p["name"] == "good"] == ["ok"]
        for bad in (broken, "junk"):
            assert by_id[bad]["status"] == "unavailable"
            assert f"{bad}.sqlite could not be opened" in by_id[bad]["error"]
        table = cluster.cli("projects", "list").stdout
        assert "unavailable: its database junk.sqlite could not be opened" in table

        # Every route of a bad project answers 503, naming the problem.
        for method, path in [
            ("GET", f"/api/projects/{broken}/environments"),
            ("GET", f"/api/projects/{broken}/runs"),
            ("POST", "/api/projects/junk/runs"),
        ]:
            body = {"environment": "production", "repository": "flows", "target": "echo"}
            kwargs = {"json": {**body, "arguments": []}} if method == "POST" else {}
            answer = cluster.api(method, path, **kwargs)
            assert answer.status_code == 503, (path, answer.text)
            assert answer.json()["error"]["reason"] == "project_unavailable"
            assert "could not be opened" in answer.json()["error"]["message"]
        refused = cluster.cli("runs", "list", env=cluster.env(COFLUX_PROJECT="junk"))
        assert refused.returncode == 1
        assert refused.stderr.startswith("error: project junk is unavailable")

        # So does a live subscription (Studio's).
        with connect(f"ws://{server.host}/api/live") as live:
            live.send(json.dumps({"subscribe": "project", "project": "junk"}))
            error = json.loads(live.recv(timeout=30))["error"]
        assert error["reason"] == "project_unavailable"

        # Its agent is told why, and keeps trying (the project may come back).
        agent = Process(
            coflux_command("agent", str(FLOWS)), cluster.env(COFLUX_PROJECT=broken), tmp_path
        )
        agent.start()
        cluster.agents.append(agent)
        told = f"project {broken} is unavailable"
        eventually(lambda: any(told in line and "retrying" in line for line in agent.output.lines))
        assert agent.popen.poll() is None

        # The healthy project serves runs as usual.
        cluster.start_agent(FLOWS)
        done = cluster.cli("submit", "flows", "echo", '"still here"', "--wait")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == "still here"
    finally:
        cluster.stop()
