"""Finding runs in Studio: a server seeded with 300 varied runs (succeeded, failed and
cancelled, of three workflows, some with idempotency keys), filtered, paged by
scrolling, and a filtered link reloaded. Waits on what the page shows, never on
fixed sleeps.

The runs that succeed are ``gated`` ones whose gate (a file named in their
argument) is open: they call nothing, so all of them can wait queued for the
agent; the failures call a task (``slow(-1)``: ``nap`` refuses to sleep), and are
few enough that their blocked callers never fill the agent's executors."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import STUDIO_FLOWS
from tests.support import browser as browsers
from tests.support.browser import screenshot
from tests.support.cluster import Cluster, Server
from tests.support.eventually import eventually

expect.set_options(timeout=15_000)

# Seeding and waiting for 300 runs takes most of a minute on a busy machine.
pytestmark = pytest.mark.timeout(300)


@dataclass
class Seeded:
    cluster: Cluster
    succeeded: list[str]  # oldest first, as each list
    failed: list[str]
    cancelled: list[str]
    _order: dict[str, int]  # the order the succeeded and failed were submitted in

    @property
    def everything(self) -> list[str]:
        """Every run, oldest first (the cancelled ones were submitted first)."""
        later = self.succeeded + self.failed
        return self.cancelled + sorted(later, key=self._order.__getitem__)

    @property
    def url(self) -> str:
        return f"{self.cluster.server.url}/projects/hist/environments/production"


def _submit(cluster: Cluster, repository: str, target: str, *arguments: object, key: str | None = None) -> str:  # fmt: skip
    body = {
        "environment": "production", "repository": repository, "target": target,
        "arguments": [{"format": "json", "data": a} for a in arguments],
        **({"idempotency_key": key} if key else {}),
    }  # fmt: skip
    response = cluster.api("POST", "/api/projects/hist/runs", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["run_id"])


def _unfinished(cluster: Cluster) -> int:
    query = {"state": ["queued", "assigned"], "limit": 1000}
    return len(cluster.api("GET", "/api/projects/hist/runs", params=query).json())


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    browsers.check_prerequisites()
    workdir = tmp_path_factory.mktemp("history")
    cluster = Cluster(Server(workdir / "data").start(), workdir, project="hist")
    try:
        assert cluster.cli("projects", "create", "hist").returncode == 0
        assert cluster.cli("environments", "create", "production").returncode == 0
        assert cluster.cli("register", str(STUDIO_FLOWS)).returncode == 0
        gates = workdir / "gates"
        gates.mkdir()
        seeded = Seeded(cluster, [], [], [], {})
        # Cancelled before any agent could take them.
        for _ in range(40):
            seeded.cancelled.append(_submit(cluster, "studio_flows", "slow", 3600))
            cancel = cluster.api("POST", f"/api/projects/hist/runs/{seeded.cancelled[-1]}/cancel")
            assert cancel.status_code == 200, cancel.text
        for n in range(260):
            if n % 13 == 12:
                run_id = _submit(cluster, "studio_flows", "slow", -1)
                seeded.failed.append(run_id)
            else:
                gate = gates / f"order-{n:04d}"
                gate.touch()
                key = f"nightly-{n}" if n % 50 == 0 else None
                run_id = _submit(cluster, "studio_flows", "gated", str(gate), key=key)
                seeded.succeeded.append(run_id)
            seeded._order[run_id] = n
        cluster.start_agent(STUDIO_FLOWS, args=["--concurrency", "8"])
        eventually(lambda: _unfinished(cluster) == 0, 120, message="the seeded runs to end")
        yield seeded
    finally:
        cluster.stop()


def rows(page: Page, name: str = "Recent runs") -> list[str]:
    table = page.get_by_role("table", name=name)
    return [
        str(r) for r in table.locator("tbody tr").evaluate_all("rs => rs.map(r => r.dataset.run)")
    ]


def shown(page: Page) -> Locator:
    return page.get_by_role("status").filter(has_text="shown")


def load_all(page: Page) -> None:
    """Press "Load more" until the list says it shows all."""
    more = page.get_by_role("button", name="Load more")

    def done() -> bool:
        if shown(page).inner_text().endswith("(all)"):
            return True
        if more.count() and more.is_enabled():
            # The list may load the rest itself meanwhile (the end scrolled into
            # view) and drop the button: then the next look sees "(all)".
            with contextlib.suppress(PlaywrightError):
                more.click(timeout=2000)
        return False

    eventually(done, 60, message="every page to load")


def test_filter_page_and_reload_a_filtered_link(seeded: Seeded, page: Page) -> None:
    page.goto(seeded.url)
    table = page.get_by_role("table", name="Recent runs")
    # The first page, newest first; the end of the list in view loads the next one.
    expect(shown(page)).to_have_text("50 runs shown")
    expect(table.locator("tbody tr").first).to_have_attribute("data-run", seeded.everything[-1])
    shown(page).scroll_into_view_if_needed()
    expect(shown(page)).to_have_text("100 runs shown")
    load_all(page)
    expect(shown(page)).to_have_text("300 runs shown (all)")
    assert rows(page) == seeded.everything[::-1]  # each once, in order

    # A state: the URL says so, and every run shown is in it.
    filters = page.get_by_role("search", name="Filter runs")
    filters.get_by_label("failed", exact=True).check()
    expect(page).to_have_url(re.compile(r"\?state=failed$"))
    expect(shown(page)).to_have_text("20 runs shown (all)")
    assert rows(page) == seeded.failed[::-1]
    expect(table.locator("[data-state='failed']")).to_have_count(20)
    screenshot(page, "run-history")

    # Another state too, and a workflow: the failures and cancellations of `slow`.
    filters.get_by_label("cancelled", exact=True).check()
    filters.get_by_label("Workflow").select_option("studio_flows:slow")
    expect(page).to_have_url(
        re.compile(r"\?state=failed&state=cancelled&workflow=studio_flows%3Aslow$")
    )
    expect(shown(page)).to_have_text("50 runs shown")
    load_all(page)
    expect(shown(page)).to_have_text("60 runs shown (all)")
    assert rows(page) == seeded.failed[::-1] + seeded.cancelled[::-1]

    # Text in the arguments, oldest first: then reload the link, and it is the same view.
    filters.get_by_role("button", name="Clear filters").click()
    expect(page).to_have_url(seeded.url)
    search = filters.get_by_label("Search")
    search.fill("order-000")  # the gates order-0000 to order-0009
    search.press("Enter")
    filters.get_by_label("Order", exact=True).select_option("oldest")
    expect(page).to_have_url(re.compile(r"\?q=order-000&order=oldest$"))
    first_ten = seeded.succeeded[:10]
    # The count is the same before the new order applies: wait for the rows.
    expect(shown(page)).to_have_text("10 runs shown (all)")
    eventually(lambda: rows(page) == first_ten, 15, message="the oldest ten, in order")
    page.reload()
    expect(shown(page)).to_have_text("10 runs shown (all)")
    eventually(lambda: rows(page) == first_ten, 15, message="the same after a reload")
    expect(page.get_by_label("Search")).to_have_value("order-000")
    expect(page.get_by_label("Order", exact=True)).to_have_value("oldest")

    # A search shorter than three characters is not sent; a run id finds its run.
    search = page.get_by_label("Search")
    search.fill("or")
    search.press("Enter")
    expect(page.get_by_text("At least 3 characters")).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?q=order-000&order=oldest$"))
    search.fill(seeded.failed[3])
    search.press("Enter")
    expect(shown(page)).to_have_text("1 run shown (all)")
    assert rows(page) == [seeded.failed[3]]


def test_a_workflows_runs_by_key_and_time_from_a_link(seeded: Seeded, page: Page) -> None:
    target = f"{seeded.url}/workflows/studio_flows/gated"
    name = "Runs of gated"
    page.goto(f"{target}?key=nightly-100")
    expect(shown(page)).to_have_text("1 run shown (all)")
    expect(page.get_by_label("Idempotency key")).to_have_value("nightly-100")
    (run_id,) = rows(page, name)
    assert run_id == seeded.succeeded[93]  # n = 100: 7 of the runs before it failed
    created = seeded.cluster.api("GET", f"/api/projects/hist/runs/{run_id}").json()["created_at"]
    # Created before a time that precedes them all: none, and the page says so.
    page.goto(f"{target}?state=succeeded&until={int(created) - 3600}")
    expect(page.get_by_text("No runs match these filters.")).to_be_visible()
    expect(page.get_by_label("succeeded", exact=True)).to_be_checked()
    # All of the workflow's 240 successes, a page at a time.
    page.goto(f"{target}?state=succeeded")
    expect(shown(page)).to_have_text("50 runs shown")
    load_all(page)
    expect(shown(page)).to_have_text("240 runs shown (all)")
    assert rows(page, name) == seeded.succeeded[::-1]
