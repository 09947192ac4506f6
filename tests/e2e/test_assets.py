"""Browsing an asset in Studio: its entries as a tree whose folders collapse and
expand, and previews of text (its first kilobytes), CSV (a table of its first rows)
and images; text and CSV previews fetch only a range of the file, as the Range
header of the browser's requests (and the 206 answers) show."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Request, expect

from tests.support import browser as browsers
from tests.support.cluster import REPOS, Cluster, Server
from tests.support.repos.asset_collections import CSV, TEXT

expect.set_options(timeout=15_000)

PREVIEW_BYTES = 64 * 1024  # studio/src/assets/preview.ts, TEXT_PREVIEW_BYTES
ADMIN = "admin-" + secrets.token_urlsafe(16)

Made = tuple[Cluster, str, Any]


def make(workdir: Path, tokens: list[str]) -> Iterator[Made]:
    """A server and an agent hosting asset_collections, and one run of `collections`."""
    browsers.check_prerequisites()
    cluster = Cluster(Server(workdir / "data", tokens=tokens).start(), workdir)
    env = cluster.env(COFLUX_TOKEN=tokens[0]) if tokens else None
    try:
        for command in (("projects", "create", "test"), ("environments", "create", "production")):
            done = cluster.cli(*command, env=env)
            assert done.returncode == 0, done.stderr
        cluster.start_agent(
            REPOS / "asset_collections.py", env={"COFLUX_TOKEN": tokens[0]} if tokens else None
        )
        run_id = cluster.cli("submit", "asset_collections", "collections", env=env).stdout.strip()
        done = cluster.cli("runs", "result", run_id, "--wait", timeout=120, env=env)
        assert done.returncode == 0, done.stderr
        yield cluster, run_id, json.loads(done.stdout)
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Made]:
    yield from make(tmp_path_factory.mktemp("assets"), [])


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Made]:
    """The same on a server that requires tokens."""
    yield from make(tmp_path_factory.mktemp("guarded-assets"), [ADMIN])


def blob_of(cluster: Cluster, asset_id: str, path: str, token: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    asset = cluster.api("GET", f"/api/projects/test/assets/{asset_id}", headers=headers).json()
    return str(next(e["blob"] for e in asset["entries"] if e["path"] == path))


def step_of(cluster: Cluster, run_id: str, target: str, token: str | None = None) -> int:
    env = cluster.env(COFLUX_TOKEN=token) if token else None
    run = json.loads(cluster.cli("runs", "inspect", run_id, "--json", env=env).stdout)
    step_id = next(s["id"] for s in run["steps"] if s["target"] == target)
    return int(step_id.rsplit(":", 1)[1])


def test_an_asset_is_browsed_as_a_tree_with_ranged_previews(
    made: tuple[Cluster, str, Any], page: Page
) -> None:
    cluster, run_id, report = made
    asset_id = report["ids"]["directory"]
    requests: list[Request] = []
    page.on("request", lambda request: "/blobs/" in request.url and requests.append(request))
    step = step_of(cluster, run_id, "make_files")
    page.goto(
        f"{cluster.server.url}/projects/test/environments/production/runs/{run_id}/steps/{step}"
    )
    panel = page.get_by_role("complementary", name="make_files")
    tree = panel.get_by_role("list", name=f"Files of asset {asset_id}")
    expect(tree).to_be_visible()

    # A small asset opens with every folder expanded; a folder collapses and expands.
    images = tree.get_by_role("button", name="Folder report/images")
    chart = tree.get_by_role("button", name="Preview report/images/chart.png")
    expect(images).to_have_attribute("aria-expanded", "true")
    expect(chart).to_be_visible()
    images.click()
    expect(images).to_have_attribute("aria-expanded", "false")
    expect(chart).to_have_count(0)
    tree.get_by_role("button", name="Folder report", exact=True).click()
    expect(tree.get_by_role("button", name="Preview report/table.csv")).to_have_count(0)
    tree.get_by_role("button", name="Folder report", exact=True).click()
    images.click()
    expect(chart).to_be_visible()
    assert requests == []  # browsing fetches no file

    # Text: the first kilobytes, through a Range request answered with a 206.
    text_key = blob_of(cluster, asset_id, "report/summary.txt")
    with page.expect_response(lambda r: text_key in r.url) as text_answer:
        tree.get_by_role("button", name="Preview report/summary.txt").click()
    preview = panel.get_by_label("Preview of report/summary.txt")
    expect(preview.locator(".asset-text")).to_contain_text("line 0 of the notes\nline 1 of")
    expect(preview).to_contain_text("download for the rest")
    answer = text_answer.value
    assert answer.request.headers["range"] == f"bytes=0-{PREVIEW_BYTES - 1}"
    assert answer.status == 206
    assert answer.headers["content-range"] == f"bytes 0-{PREVIEW_BYTES - 1}/{len(TEXT)}"
    assert int(answer.headers["content-length"]) == PREVIEW_BYTES < len(TEXT)

    # CSV: a table of the first rows, from a range too.
    csv_key = blob_of(cluster, asset_id, "report/table.csv")
    with page.expect_response(lambda r: csv_key in r.url) as csv_answer:
        tree.get_by_role("button", name="Preview report/table.csv").click()
    table = panel.get_by_role("table", name="CSV preview")
    expect(table.locator("th")).to_have_text(["id", "name"])
    expect(table.locator("tbody tr")).to_have_count(50)
    expect(table.locator("tbody tr").first.locator("td")).to_have_text(["0", "item 0"])
    assert csv_answer.value.request.headers["range"] == f"bytes=0-{PREVIEW_BYTES - 1}"
    assert csv_answer.value.status == 206
    assert csv_answer.value.headers["content-range"] == f"bytes 0-{PREVIEW_BYTES - 1}/{len(CSV)}"
    assert int(csv_answer.value.headers["content-length"]) == PREVIEW_BYTES < len(CSV)

    # An image is shown whole (a part of one cannot be drawn).
    chart.click()
    expect(panel.get_by_role("img", name="report/images/chart.png")).to_be_visible()
    ranged = [r for r in requests if r.headers.get("range")]
    assert {r.url.rsplit("/", 1)[1] for r in ranged} == {text_key, csv_key}


def test_a_file_of_an_asset_downloads(made: tuple[Cluster, str, Any], page: Page) -> None:
    cluster, run_id, report = made
    asset_id = report["ids"]["file"]
    step = step_of(cluster, run_id, "make_files")
    page.goto(
        f"{cluster.server.url}/projects/test/environments/production/runs/{run_id}/steps/{step}"
    )
    tree = page.get_by_role("list", name=f"Files of asset {asset_id}")
    with page.expect_download() as download:
        tree.get_by_role("link", name="Download report/table.csv").click()
    assert download.value.suggested_filename == "table.csv"
    with open(download.value.path()) as file:
        assert file.read() == CSV


def test_previews_and_downloads_carry_the_token(guarded: Made, page: Page) -> None:
    cluster, run_id, report = guarded
    asset_id = report["ids"]["directory"]
    step = step_of(cluster, run_id, "make_files", ADMIN)
    page.goto(
        f"{cluster.server.url}/projects/test/environments/production/runs/{run_id}/steps/{step}"
    )
    page.get_by_label("Token").fill(ADMIN)
    page.get_by_role("button", name="Sign in").click()
    tree = page.get_by_role("list", name=f"Files of asset {asset_id}")
    text_key = blob_of(cluster, asset_id, "report/summary.txt", ADMIN)
    with page.expect_response(lambda r: text_key in r.url) as answer:
        tree.get_by_role("button", name="Preview report/summary.txt").click()
    expect(page.locator(".asset-text")).to_contain_text("line 0 of the notes")
    assert answer.value.status == 206
    assert answer.value.request.headers["authorization"] == f"Bearer {ADMIN}"
    assert "token" not in answer.value.url.lower()
    with page.expect_download() as download:
        tree.get_by_role("link", name="Download report/summary.txt").click()
    with open(download.value.path()) as file:
        assert file.read() == TEXT
