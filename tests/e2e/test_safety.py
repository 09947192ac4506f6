"""Acting safely in Studio, in a real browser: cancelling asks first (and No or
Escape changes nothing), and a run's logs are searched across steps, filtered by
level and downloaded. Waits on what the page and the API show, never on sleeps."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import studio_server
from tests.support.browser import screenshot
from tests.support.cluster import REPOS, Cluster

expect.set_options(timeout=15_000)

SAFETY_FLOWS = REPOS / "studio_safety.py"


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A server with project 'test', environment 'production' and an agent hosting studio_safety."""
    with studio_server(tmp_path_factory, SAFETY_FLOWS, concurrency=4) as cluster:
        yield cluster


def submit(cluster: Cluster, target: str, *arguments: object) -> str:
    body = {
        "environment": "production", "repository": "studio_safety", "target": target,
        "arguments": [{"format": "json", "data": a} for a in arguments],
    }  # fmt: skip
    response = cluster.api("POST", "/api/projects/test/runs", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["run_id"])


def outcome(cluster: Cluster, run_id: str, wait: float = 0) -> object:
    response = cluster.api("GET", f"/api/projects/test/runs/{run_id}/result", params={"wait": wait})
    assert response.status_code == 200, response.text
    return response.json()["outcome"]


def run_url(cluster: Cluster, run_id: str, view: str | None = None) -> str:
    url = f"{cluster.server.url}/projects/test/environments/production/runs/{run_id}"
    return url + (f"?view={view}" if view else "")


def step_url(cluster: Cluster, run_id: str, number: int) -> str:
    return f"{run_url(cluster, run_id)}/steps/{number}"


def test_cancel_asks_first_and_no_changes_nothing(studio: Cluster, page: Page, tmp_path: Path) -> None:  # fmt: skip
    run_id = submit(studio, "hold", str(tmp_path / "never"))
    page.goto(run_url(studio, run_id))
    graph = page.get_by_role("group", name=re.compile("Steps of the run"))
    expect(graph.get_by_role("button", name=re.compile(r"^wait_for #2, running"))).to_be_visible()
    cancel = page.get_by_role("button", name="Cancel run")
    question = page.get_by_role("alertdialog", name="Cancel run?")

    cancel.click()
    expect(question).to_contain_text(f"Cancel run {run_id} and its 2 unfinished steps?")
    expect(question.get_by_role("button", name="No, let it run")).to_be_focused()
    screenshot(page, "confirm-cancel")
    page.keyboard.press("Escape")
    expect(question).to_have_count(0)

    cancel.click()
    question.get_by_role("button", name="No, let it run").click()
    expect(question).to_have_count(0)
    # Neither answer reached the server: the run goes on.
    assert outcome(studio, run_id) is None
    expect(page.locator(".run-header [data-state]")).to_have_attribute("data-state", "assigned")

    cancel.click()
    question.get_by_role("button", name="Yes, cancel the run").click()
    expect(page.locator(".run-header [data-state]")).to_have_attribute("data-state", "cancelled")
    assert outcome(studio, run_id, wait=10) is not None
    expect(graph.get_by_role("button", name=re.compile(r"^wait_for #2, cancelled"))).to_be_visible()


def test_a_queued_step_says_why_and_its_rerun_is_disabled_with_the_reason(
    studio: Cluster, page: Page
) -> None:
    run_id = submit(studio, "train")
    page.goto(step_url(studio, run_id, 2))
    panel = page.get_by_role("complementary", name="on_gpu")
    expect(panel.get_by_test_id("queued-reason")).to_contain_text(
        "no agent that hosts studio_safety.on_gpu provides gpu=A100"
    )
    rerun = panel.get_by_role("button", name=re.compile("Re-run"))
    expect(rerun).to_be_disabled()
    expect(panel.locator(".rerun-reason")).to_contain_text("still queued")
    # The caller is waiting on it, so its Re-run is refused too, for its own reason.
    page.goto(step_url(studio, run_id, 1))
    caller = page.get_by_role("complementary", name="train")
    expect(caller.locator(".rerun-reason")).to_contain_text("still running")
    page.get_by_role("button", name="Cancel run").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Yes, cancel the run").click()
    assert outcome(studio, run_id, wait=10) is not None


@pytest.fixture(scope="module")
def talked(studio: Cluster) -> str:
    """A finished run whose steps logged at every level."""
    run_id = submit(studio, "talkative", "Alpha")
    assert outcome(studio, run_id, wait=30) is not None
    return run_id


def test_logs_search_across_steps_and_filter_by_level(studio: Cluster, talked: str, page: Page) -> None:  # fmt: skip
    page.goto(run_url(studio, talked, view="logs"))
    lines = page.get_by_role("list", name="Log lines")
    expect(lines.get_by_text("hello from")).to_be_visible()

    page.get_by_label("Search logs").fill("NEEDLE")
    expect(lines.locator("li")).to_have_count(1)
    found = lines.locator("li").first
    expect(found).to_contain_text("needle in the second step")
    expect(found.locator(".log-step")).to_have_text("needle #3")
    expect(page.get_by_role("status").filter(has_text="matching")).to_have_text("1 matching line")
    screenshot(page, "run-logs-search")

    page.get_by_label("Search logs").fill("")
    page.get_by_label("Show", exact=True).select_option("warning")
    expect(lines.locator("li")).to_have_count(2)
    expect(lines.locator("[data-level=info]")).to_have_count(0)
    expect(lines.locator("[data-level=stdout]")).to_have_count(0)
    expect(lines.locator("[data-level=warning]")).to_contain_text("needle in the second step")
    expect(lines.locator("[data-level=error]")).to_contain_text("error in the second step")


def test_download_the_lines_shown(studio: Cluster, talked: str, page: Page, tmp_path: Path) -> None:
    page.goto(run_url(studio, talked, view="logs"))
    lines = page.get_by_role("list", name="Log lines")
    expect(lines.get_by_text("hello from")).to_be_visible()
    page.get_by_label("Show", exact=True).select_option("info")
    expect(lines.locator("[data-level=debug]")).to_have_count(0)
    expect(lines.locator("li")).to_have_count(5)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == f"{talked}-logs-info.txt"
    saved = tmp_path / "logs.txt"
    download.save_as(saved)
    rows = [line.split("\t") for line in saved.read_text().splitlines()]
    assert sorted((level, step, message) for _, level, step, message in rows) == [
        ("error", f"needle #3 ({talked}:3:1)", "error in the second step"),
        ("info", f"chatter #2 ({talked}:2:1)", "hello from Alpha"),
        ("info", f"needle #3 ({talked}:3:1)", "plain info line"),
        ("stdout", f"chatter #2 ({talked}:2:1)", "printed by Alpha"),
        ("warning", f"needle #3 ({talked}:3:1)", "needle in the second step"),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row[0]) for row in rows)
