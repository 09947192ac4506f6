"""Studio on a large project, in a real browser: a history of 10,000 varied runs and
one run of 10,000 steps, recorded straight into the project's store
(``tests/support/history.py``) before the real server opens it, since driving that
many through agents would take far too long.

The landing page counts them and opens the newest failure; the run list filters
from its URL, pages by scrolling and searches the arguments; the large run draws
its fan-out as one node, leads from one failed step to the next, shows each
attempt of a retried step and searches its logs. What each page must show is
worked out from the functions that made the facts. Waits on what the page shows,
never on fixed sleeps.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Locator, Page, expect

from coflux.orchestration.states import ExecutionState as Q
from tests.support import browser as browsers
from tests.support import history
from tests.support.cluster import Server

expect.set_options(timeout=15_000)

# Seeding takes a few seconds, as does each test; a busy machine is slower.
pytestmark = pytest.mark.timeout(300)

PROJECT = "large"
RUNS = 10_000
TIMES = "\N{MULTIPLICATION SIGN}"  # how a collapsed group names its size


@dataclass
class Large:
    server: Server
    fan_out: history.FanOut

    @property
    def environment_url(self) -> str:
        return f"{self.server.url}/projects/{PROJECT}/environments/production"

    def run_url(self, run_id: str) -> str:
        return f"{self.environment_url}/runs/{run_id}"

    def step_url(self, number: int) -> str:
        return f"{self.run_url(self.fan_out.run_id)}/steps/{number}"


def production(state: Q | None = None) -> list[str]:
    """The ids of the history's production runs (in ``state``), newest first."""
    return [
        history.run_id_of(n)
        for n in reversed(range(RUNS))
        if history.environment_of(n) == history.PROD
        and (state is None or history.end_of(n, RUNS) is state)
    ]


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Large]:
    browsers.check_prerequisites()
    workdir = tmp_path_factory.mktemp("large")
    end = float(int(time.time()))
    # Older than every run of the history, so the newest failure is one of those.
    fan_out = history.FanOut(at=history.created_at(0, RUNS, end) - 600)
    history.seed_data_dir(workdir / "data", PROJECT, RUNS, end, fan_out)
    # The history's assigned runs belong to a session that never reconnects: a
    # timeout longer than the module keeps them assigned rather than abandoned.
    server = Server(workdir / "data", session_timeout=3600).start()
    try:
        yield Large(server, fan_out)
    finally:
        server.stop()


def counts(environment: str) -> Counter[str]:
    """The history's runs in ``environment`` by state (all of the last 24 hours)."""
    return Counter(
        history.end_of(n, RUNS).value
        for n in range(RUNS)
        if history.environment_of(n) == environment
    )


def rows(page: Page) -> list[str]:
    table = page.get_by_role("table", name="Recent runs")
    return [
        str(r) for r in table.locator("tbody tr").evaluate_all("rs => rs.map(r => r.dataset.run)")
    ]


def shown(page: Page) -> Locator:
    return page.get_by_role("status").filter(has_text="shown")


def test_the_front_page_counts_the_history_and_opens_the_newest_failure(
    large: Large, page: Page
) -> None:
    page.goto(large.server.url + "/")
    activity = page.locator("[data-activity]")
    environment = activity.locator('li[data-environment="production"]')
    fan_out = Counter({Q.FAILED.value: 1})
    for name, expected in (("production", counts(history.PROD) + fan_out),
                           ("staging", counts(history.STAGING))):  # fmt: skip
        shown_counts = activity.locator(f'li[data-environment="{name}"] .activity-count')
        expect(shown_counts).to_have_count(len(expected))
        for state, count in expected.items():
            expect(shown_counts.and_(page.locator(f'[data-state="{state}"]'))).to_have_attribute(
                "data-count", str(count)
            )
        expect(shown_counts.first).to_have_attribute("data-state", "failed")

    newest = production(Q.FAILED)[0]
    environment.get_by_role("link", name=re.compile("Newest failure")).click()
    expect(page).to_have_url(large.run_url(newest))
    expect(page.locator(".run-header [data-state]")).to_have_attribute("data-state", "failed")
    _, target = history.workflow_of(int(newest[1:]))
    expect(page.get_by_role("heading", name=target)).to_be_visible()


def test_the_run_list_filters_by_state_from_its_url_and_pages_by_scrolling(
    large: Large, page: Page
) -> None:
    cancelled = production(Q.CANCELLED)
    page.goto(f"{large.environment_url}?state=cancelled")
    expect(page.get_by_label("cancelled", exact=True)).to_be_checked()
    expect(shown(page)).to_have_text("50 runs shown")
    assert rows(page) == cancelled[:50]
    shown(page).scroll_into_view_if_needed()
    expect(shown(page)).to_have_text("100 runs shown")
    assert rows(page) == cancelled[:100]
    table = page.get_by_role("table", name="Recent runs")
    expect(table.locator("tbody tr [data-state]")).to_have_count(100)
    expect(table.locator("tbody tr [data-state='cancelled']")).to_have_count(100)

    # Unfiltered: each page is the next 50 of the environment's history.
    page.goto(large.environment_url)
    expect(shown(page)).to_have_text("50 runs shown")
    for pages in (2, 3):
        shown(page).scroll_into_view_if_needed()
        expect(shown(page)).to_have_text(f"{50 * pages} runs shown")
    assert rows(page) == production()[:150]


def test_a_search_finds_the_run_holding_the_text(large: Large, page: Page) -> None:
    number = 4_321  # in production, finished long ago
    page.goto(large.environment_url)
    expect(shown(page)).to_have_text("50 runs shown")
    search = page.get_by_role("search", name="Filter runs").get_by_label("Search")
    search.fill(f"order-{number:07d}")
    search.press("Enter")
    expect(page).to_have_url(re.compile(rf"\?q=order-{number:07d}$"))
    expect(shown(page)).to_have_text("1 run shown (all)")
    assert rows(page) == [history.run_id_of(number)]


def test_the_fan_out_is_one_node_and_the_failed_chip_leads_to_each_failure(
    large: Large, page: Page
) -> None:
    fan_out = large.fan_out
    failed = fan_out.failed()
    page.goto(large.run_url(fan_out.run_id))
    chips = page.get_by_role("toolbar", name="Steps by state")
    # The workflow failed too.
    expect(chips.get_by_role("button", name=f"{len(failed) + 1} failed")).to_be_visible()
    succeeded = f"{fan_out.calls - len(failed):,} succeeded"
    expect(chips.get_by_role("button", name=succeeded)).to_be_visible()
    group = page.locator("[data-group]")
    expect(group).to_have_count(1)
    expect(group).to_have_attribute(
        "aria-label", re.compile(rf"^sample {TIMES} {fan_out.calls:,} ")
    )
    expect(group.locator(".group-first")).to_have_text(f"{len(failed)} ✕")

    chips.get_by_role("button", name=f"{len(failed) + 1} failed").click()
    expect(page).to_have_url(large.step_url(1))
    panel = page.locator("aside.step-panel")
    expect(panel.get_by_role("group", name="Error")).to_contain_text(
        f"{len(failed)} of {fan_out.calls} samples failed"
    )
    for number in failed[:2]:
        chips.get_by_role("button", name="Next failed").click()
        expect(page).to_have_url(large.step_url(number))
        expect(panel.get_by_role("group", name="Error")).to_contain_text(fan_out.error_of(number))
        node = page.locator(f'.node[data-step="{fan_out.run_id}:{number}"]')
        expect(node).to_be_visible()
        expect(node).to_have_class("node state-failed selected")
    expect(chips).to_contain_text(f"3 of {len(failed) + 1}")


def test_the_first_attempt_of_a_retried_step_shows_its_error(large: Large, page: Page) -> None:
    number = large.fan_out.retried()[0]
    url = large.step_url(number)
    page.goto(url)
    panel = page.locator("aside.step-panel")
    # The latest attempt by default: the retry, which returned the call's index.
    expect(panel.get_by_test_id("step-result")).to_have_text(str(number - 2))
    attempts = panel.get_by_role("navigation", name="Attempts")
    expect(attempts.get_by_role("link", name=re.compile(r"^Attempt 2: succeeded"))).to_be_visible()
    attempts.get_by_role("link", name=re.compile(r"^Attempt 1: failed")).click()
    expect(page).to_have_url(url + "?attempt=1")
    expect(panel.get_by_role("group", name="Error")).to_contain_text(large.fan_out.error_of(number))
    expect(panel.get_by_test_id("step-result")).to_have_count(0)


def test_the_logs_search_finds_a_line_among_the_steps(large: Large, page: Page) -> None:
    fan_out = large.fan_out
    page.goto(large.run_url(fan_out.run_id) + "?view=logs")
    lines = page.get_by_role("list", name="Log lines")
    expect(lines.get_by_text(fan_out.log_of(2), exact=True)).to_be_visible()
    page.get_by_label("Search logs").fill("calibration drift")
    expect(lines.locator("li")).to_have_count(1)
    found = lines.locator("li").first
    expect(found).to_contain_text(fan_out.log_of(fan_out.drifted))
    expect(found).to_have_attribute("data-level", "warning")
    expect(found.locator(".log-step")).to_have_text(f"sample #{fan_out.drifted}")
    expect(page.get_by_role("status").filter(has_text="matching")).to_have_text("1 matching line")
