"""Studio's landing pages in a real browser: the front page shows each project's
environments with their recent runs by state and agents, and one click on "newest
failure" opens the failed run; the project's page shows both windows and follows new
runs live. Waits on what the page shows, never on fixed sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from tests.support import browser as browsers
from tests.support.browser import screenshot
from tests.support.cluster import REPOS, Cluster, Server

expect.set_options(timeout=15_000)

PROJECT = "landing"


@dataclass
class Landing:
    cluster: Cluster
    succeeded: str
    failed: str

    @property
    def url(self) -> str:
        return self.cluster.server.url


def submit(cluster: Cluster, environment: str, repository: str, target: str, argument: str) -> str:
    body = {
        "environment": environment, "repository": repository, "target": target,
        "arguments": [{"format": "json", "data": argument}],
    }  # fmt: skip
    response = cluster.api("POST", f"/api/projects/{PROJECT}/runs", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["run_id"])


def finish(cluster: Cluster, run_id: str) -> str:
    result = cluster.api("GET", f"/api/projects/{PROJECT}/runs/{run_id}/result?wait=30").json()
    assert result["outcome"] is not None, result
    return str(result["state"])


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Landing]:
    """A server with project 'landing' (environments production, with an agent, and
    staging, without), a succeeded run and a failed one in production."""
    browsers.check_prerequisites()
    workdir = tmp_path_factory.mktemp("landing")
    cluster = Cluster(Server(workdir / "data").start(), workdir, project=PROJECT)
    try:
        assert cluster.cli("projects", "create", PROJECT).returncode == 0
        for name in ("production", "staging"):
            created = cluster.cli("environments", "create", name)
            assert created.returncode == 0, created.stderr
        # Staging has the workflow but no agent: its runs wait queued.
        staging = cluster.env(COFLUX_ENVIRONMENT="staging")
        registered = cluster.cli("register", str(REPOS / "hello.py"), env=staging)
        assert registered.returncode == 0, registered.stderr
        cluster.start_agent(REPOS / "hello.py", REPOS / "failing.py")
        succeeded = submit(cluster, "production", "hello", "hello", "Ada")
        failed = submit(cluster, "production", "failing", "calls_failing", "boom")
        assert (finish(cluster, succeeded), finish(cluster, failed)) == ("succeeded", "failed")
        yield Landing(cluster, succeeded, failed)
    finally:
        cluster.stop()


def test_front_page_shows_counts_and_opens_the_newest_failure(landing: Landing, page: Page) -> None:
    page.goto(landing.url + "/")
    production = page.locator('[data-activity] li[data-environment="production"]')
    expect(production.locator('.activity-count[data-state="failed"]')).to_have_attribute(
        "data-count", "1"
    )
    expect(production.locator('.activity-count[data-state="succeeded"]')).to_have_attribute(
        "data-count", "1"
    )
    expect(production).to_contain_text("1 agent")
    # Failures first: the failed count is the line's first.
    expect(production.locator(".activity-count").first).to_have_attribute("data-state", "failed")
    staging = page.locator('[data-activity] li[data-environment="staging"]')
    expect(staging).to_contain_text("no runs")
    expect(staging).to_contain_text("no agents")
    screenshot(page, "landing")

    production.get_by_role("link", name=re.compile("Newest failure")).click()
    expect(page).to_have_url(
        re.compile(rf"/projects/{PROJECT}/environments/production/runs/{landing.failed}$")
    )
    expect(page.locator(".run-header [data-state]")).to_have_attribute("data-state", "failed")
    expect(page.get_by_role("heading", name="calls_failing")).to_be_visible()


def test_project_page_shows_both_windows_and_follows_new_runs(landing: Landing, page: Page) -> None:
    page.goto(f"{landing.url}/projects/{PROJECT}")
    table = page.get_by_role("table", name="Recent activity")
    production = table.locator('tr[data-environment="production"]')
    cells = production.locator("td")
    for window in (1, 2):  # the last 24 hours, the last 7 days
        counts = cells.nth(window).locator(".activity-count")
        expect(counts).to_have_count(2)
        expect(counts.first).to_have_attribute("data-state", "failed")
    expect(production).to_have_class(re.compile("activity-failing"))
    link = production.get_by_role("link", name=re.compile("Newest failure"))
    expect(link).to_have_attribute("data-run", landing.failed)
    screenshot(page, "project-activity")

    # A run recorded now shows without a reload (from the project's live topic).
    staging = table.locator('tr[data-environment="staging"]')
    expect(staging.locator("td").nth(1)).to_contain_text("no runs")
    submit(landing.cluster, "staging", "hello", "hello", "Grace")
    expect(staging.locator('.activity-count[data-state="queued"]').first).to_have_attribute(
        "data-count", "1"
    )
