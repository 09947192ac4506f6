"""The HTTP edges: Studio's route and names too long for a file system, 405's
``Allow`` header, and the OpenAPI document declaring what the server enforces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from coflux import protocol
from coflux.server import app as app_module


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    static = tmp_path / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text("<!doctype html><title>Studio</title>")
    monkeypatch.setattr(app_module, "STATIC", static)
    return static


@pytest.mark.parametrize(
    "path",
    [
        "/" + "a" * 300,  # a name over 255 bytes: ENAMETOOLONG, answered 500
        "/assets/" + "b" * 300,
        "/projects/" + "é" * 200,  # 400 bytes in UTF-8
        "/" + "c/" * 2100,  # past PATH_MAX in all
    ],
    ids=["component", "asset", "utf-8", "whole path"],
)
async def test_a_path_too_long_to_name_a_file_is_404(
    built: Path, api: httpx.AsyncClient, path: str
) -> None:
    response = await api.get(path)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["reason"] == "not_found"


async def test_studio_paths_of_ordinary_length_still_get_the_app(
    built: Path, api: httpx.AsyncClient
) -> None:
    response = await api.get("/projects/" + "p" * 64 + "/environments/" + "e" * 64)
    assert response.status_code == 200 and "<title>Studio</title>" in response.text


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/projects", {"GET", "HEAD", "POST"}),
        ("PUT", "/api/projects/demo/runs", {"GET", "HEAD", "POST"}),
        ("DELETE", "/blobs/" + "0" * 64, {"GET", "HEAD", "PUT"}),
        ("POST", "/api/openapi.json", {"GET", "HEAD"}),
        ("GET", "/api/projects/demo/environments/production/pause", {"POST"}),
        ("DELETE", "/projects/demo", {"GET", "HEAD"}),
    ],
)
async def test_405_names_every_allowed_method(
    api: httpx.AsyncClient, method: str, path: str, allowed: set[str]
) -> None:
    response = await api.request(method, path)
    assert response.status_code == 405, response.text
    assert response.json()["error"]["reason"] == "method_not_allowed"
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


async def test_the_document_declares_the_patterns_the_server_enforces(
    api: httpx.AsyncClient,
) -> None:
    document = (await api.get("/api/openapi.json")).json()
    schemas = document["components"]["schemas"]

    def pattern(schema: str, field: str) -> Any:
        properties = schemas[schema]["properties"]
        return properties[field].get("pattern") or next(
            (s.get("pattern") for s in properties[field].get("anyOf", []) if "pattern" in s), None
        )

    assert pattern("CreateProject", "name") == protocol.NAME_PATTERN
    assert pattern("CreateEnvironment", "name") == protocol.NAME_PATTERN
    assert pattern("Manifest", "repository") == protocol.REPOSITORY_PATTERN
    assert pattern("TargetDefinition", "name") == protocol.TARGET_PATTERN
    for schema, field in (("Value", "blob"), ("AssetEntry", "blob")):
        assert pattern(schema, field) == protocol.BLOB_KEY_PATTERN
    blob = schemas["AssetEntry"]["properties"]["blob"]
    assert blob["minLength"] == blob["maxLength"] == 64
    runs = document["paths"]["/api/projects/{project}/environments/{environment}/manifests"]
    parameters = {p["name"]: p["schema"] for p in runs["post"]["parameters"]}
    assert parameters["project"]["pattern"] == protocol.NAME_PATTERN
    assert parameters["environment"]["pattern"] == protocol.NAME_PATTERN
