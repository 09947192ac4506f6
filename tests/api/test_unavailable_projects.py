"""Projects that cannot serve: listed as unavailable with the reason, refused with 503,
and leaving every other project (and the server) working."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from coflux.orchestration.project import Project
from coflux.server.app import create_app


@asynccontextmanager
async def serving(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(data_dir, session_timeout=5, admin_tokens=frozenset())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def ok(response: Any, status: int = 200) -> Any:
    answer: httpx.Response = await response
    assert answer.status_code == status, answer.text
    return answer.json()


async def test_files_that_cannot_be_opened_are_listed_and_refused(tmp_path: Path) -> None:
    async with serving(tmp_path) as api:
        demo = await ok(api.post("/api/projects", json={"name": "demo"}), 201)
        await ok(api.post("/api/projects/demo/environments", json={"name": "production"}), 201)
        other = await ok(api.post("/api/projects", json={"name": "other"}), 201)
    projects = tmp_path / "projects"
    shutil.copy(projects / f"{demo['id']}.sqlite", projects / "backup.sqlite")  # intact copy
    (projects / "empty.sqlite").touch()
    junk = b"\x00garbage" * 1000
    (projects / "junk.sqlite").write_bytes(junk)
    truncated = projects / f"{other['id']}.sqlite"
    os.truncate(truncated, truncated.stat().st_size // 3)

    async with serving(tmp_path) as api:
        listed = {p["id"]: p for p in await ok(api.get("/api/projects"))}
        assert listed[demo["id"]] == {**demo, "status": "ok", "error": None}
        reasons = {i: p["error"] for i, p in listed.items() if p["status"] == "unavailable"}
        assert reasons.keys() == {"backup", "empty", "junk", other["id"]}
        assert reasons["backup"] == (
            f"its database backup.sqlite holds project {demo['id']} (demo), "
            f"whose database must be named {demo['id']}.sqlite"
        )
        assert "is not a Coflux project database" in reasons["empty"]
        assert "file is not a database" in reasons["junk"]
        assert "malformed" in reasons[other["id"]]
        assert all(listed[i]["name"] == i for i in reasons)  # the name is in the file

        for project in reasons:
            answer = await api.get(f"/api/projects/{project}/environments")
            assert answer.status_code == 503
            error = answer.json()["error"]
            assert error["reason"] == "project_unavailable"
            assert error["message"] == f"project {project} is unavailable: {reasons[project]}"
        # Known by a name the server cannot read: the 404 says some did not open.
        missing = await api.get("/api/projects/other/runs")
        assert missing.status_code == 404
        assert "4 project file(s) could not be opened" in missing.json()["error"]["message"]
        # A new project may not take an unavailable one's name.
        taken = await api.post("/api/projects", json={"name": "junk"})
        assert taken.status_code == 409
        # The healthy project works, its copy notwithstanding.
        environments = await ok(api.get("/api/projects/demo/environments"))
        assert [e["name"] for e in environments] == ["production"]
        assert (await ok(api.post("/api/projects", json={"name": "new"}), 201))["status"] == "ok"
    assert (projects / "junk.sqlite").read_bytes() == junk  # refusing it changed nothing


async def test_a_failed_project_is_listed_as_unavailable_with_its_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serving(tmp_path) as api:
        await ok(api.post("/api/projects", json={"name": "demo"}), 201)
        await ok(api.post("/api/projects", json={"name": "fine"}), 201)
        failure = "its orchestrator failed (disk I/O error); it is being rebuilt"
        # Patched on the class after the projects were made: whatever sets it
        # (the supervisor), the listing reads ``failure`` and nothing else.
        monkeypatch.setattr(
            Project, "failure", property(lambda p: failure if p.info.name == "demo" else None)
        )
        listed = {p["name"]: p for p in await ok(api.get("/api/projects"))}
        assert (listed["demo"]["status"], listed["demo"]["error"]) == ("unavailable", failure)
        assert (listed["fine"]["status"], listed["fine"]["error"]) == ("ok", None)
