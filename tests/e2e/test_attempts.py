"""Studio shows every attempt of a step and follows the links between executions:
a retried step's attempts, a spawned run and its caller, a cached step and the
execution it reused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import studio_server
from tests.support.cluster import REPOS, Cluster

expect.set_options(timeout=15_000)

ATTEMPTS = REPOS / "attempts.py"


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A server with project 'test', environment 'production' and an agent hosting attempts."""
    with studio_server(tmp_path_factory, ATTEMPTS, concurrency=4) as cluster:
        yield cluster


def finished_run(cluster: Cluster, target: str, *arguments: object) -> dict[str, Any]:
    """Submit ``target``, wait for its outcome and return the run's view."""
    response = cluster.api(
        "POST",
        "/api/projects/test/runs",
        json={
            "environment": "production",
            "repository": "attempts",
            "target": target,
            "arguments": [{"format": "json", "data": a} for a in arguments],
        },
    )
    assert response.status_code == 201, response.text
    run_id = response.json()["run_id"]
    result = cluster.api("GET", f"/api/projects/test/runs/{run_id}/result?wait=30").json()
    assert result["outcome"] is not None, result
    view: dict[str, Any] = cluster.api("GET", f"/api/projects/test/runs/{run_id}").json()
    return view


def number_of(run: dict[str, Any], target: str, index: int = 0) -> int:
    return int([s for s in run["steps"] if s["target"] == target][index]["number"])


def step_url(cluster: Cluster, run_id: str, number: int) -> str:
    return (
        f"{cluster.server.url}/projects/test/environments/production/runs/{run_id}/steps/{number}"
    )


def test_each_attempt_of_a_retried_step_shows_its_own_outcome(
    studio: Cluster, page: Page, tmp_path: Path
) -> None:
    run = finished_run(studio, "retried", str(tmp_path / "counter"))
    url = step_url(studio, run["id"], number_of(run, "flaky"))
    page.goto(url)
    panel = page.locator("aside.step-panel")
    expect(panel.get_by_test_id("step-result")).to_contain_text("succeeded on attempt 2")
    attempts = panel.get_by_role("navigation", name="Attempts")
    attempts.get_by_role("link", name=re.compile(r"^Attempt 1: failed")).click()
    expect(page).to_have_url(url + "?attempt=1")
    expect(panel.get_by_role("group", name="Error")).to_contain_text("the first attempt fails")
    expect(panel.locator(".traceback")).to_contain_text("RuntimeError")
    expect(panel.get_by_test_id("step-result")).to_have_count(0)
    attempts.get_by_role("link", name=re.compile(r"^Attempt 2: succeeded")).click()
    expect(page).to_have_url(url)
    expect(panel.get_by_test_id("step-result")).to_contain_text("succeeded on attempt 2")
    # The URL alone opens an attempt.
    page.goto(url + "?attempt=1")
    expect(panel.get_by_role("group", name="Error")).to_contain_text("the first attempt fails")


def test_a_spawned_step_links_to_its_run_and_the_run_back_to_it(
    studio: Cluster, page: Page
) -> None:
    run = finished_run(studio, "spawns", "Ada")
    number = number_of(run, "child")
    page.goto(step_url(studio, run["id"], number))
    link = page.get_by_test_id("stand-in").get_by_role("link")
    child_run = link.inner_text()
    assert child_run and child_run != run["id"]
    link.click()
    expect(page).to_have_url(re.compile(rf"/runs/{child_run}$"))
    spawned_by = page.get_by_test_id("spawned-by")
    expect(spawned_by).to_have_text(f"Spawned by {run['id']}:{number}:1")
    spawned_by.get_by_role("link").click()
    expect(page).to_have_url(step_url(studio, run["id"], number) + "?attempt=1")
    expect(page.get_by_role("heading", name="child", exact=True)).to_be_visible()


def test_a_cached_step_links_to_the_execution_it_reused(studio: Cluster, page: Page) -> None:
    run = finished_run(studio, "reuses", "key")
    ran, hit = number_of(run, "expensive", 0), number_of(run, "expensive", 1)
    page.goto(step_url(studio, run["id"], hit))
    stand_in = page.get_by_test_id("stand-in")
    expect(stand_in).to_have_text(f"Reused the result of {run['id']}:{ran}:1")
    stand_in.get_by_role("link").click()
    expect(page).to_have_url(step_url(studio, run["id"], ran) + "?attempt=1")
    panel = page.locator("aside.step-panel")
    expect(panel.get_by_test_id("stand-in")).to_have_count(0)  # it ran: it reused nothing
    expect(panel.get_by_test_id("step-result")).to_contain_text("KEY")
