"""Studio at any size and by keyboard, in a real browser (docs/studio/README.md, "Any
screen, any key"): a missing run or project says so while the connection badge stays
as it is; at 1,280 px with the step panel open, and on a 390 px phone, nothing makes
the document wider than the screen (the phone's sidebar opens from the menu button,
its step panel is a full-width sheet); Tab reaches the step panel's buttons with a
visible focus ring in both themes; stopping a sensor asks first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import studio_server
from tests.support import browser as browsers
from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually

expect.set_options(timeout=15_000)

LAYOUT = REPOS / "layout.py"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A server with project 'test', environment 'production' and an agent hosting layout."""
    with studio_server(tmp_path_factory, LAYOUT, concurrency=4) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def finished(studio: Cluster) -> str:
    """A finished run of four steps with long names and values."""
    body = {
        "environment": "production", "repository": "layout", "target": "inspect_batch",
        "arguments": [{"format": "json", "data": "north-batch-with-a-rather-long-name"}],
    }  # fmt: skip
    response = studio.api("POST", "/api/projects/test/runs", json=body)
    assert response.status_code == 201, response.text
    run_id = str(response.json()["run_id"])
    result = studio.api("GET", f"/api/projects/test/runs/{run_id}/result", params={"wait": 60})
    assert result.json()["outcome"] is not None, result.text
    return run_id


def url(cluster: Cluster, path: str) -> str:
    return f"{cluster.server.url}/projects/test/environments/production{path}"


def overflow(page: Page) -> dict[str, int]:
    """How wide the document is against the viewport (a horizontal scrollbar if wider)."""
    measured: dict[str, int] = page.evaluate(
        "() => ({ scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth })"
    )
    return measured


def fits(page: Page) -> None:
    measured = overflow(page)
    assert measured["scroll"] <= measured["client"], measured


def test_a_missing_run_or_project_says_so_and_the_badge_stays_live(
    studio: Cluster, watched_page: tuple[Page, browsers.ConsoleWatch]
) -> None:
    page, watch = watched_page
    watch.allow(r"status of 404")  # the run's own requests are answered 404, on purpose
    page.goto(url(studio, "/runs/nosuchrun"))
    notice = page.get_by_test_id("missing")
    expect(notice).to_have_text("Run nosuchrun does not exist in project test.")
    expect(page.get_by_role("alert")).to_have_count(0)
    badge = page.locator(".app-header .connection")
    expect(badge).to_have_attribute("data-status", "live")

    page.goto(f"{studio.server.url}/projects/nosuchproject")
    missing = page.get_by_test_id("missing")
    expect(missing).to_have_text("Project nosuchproject does not exist.")
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(badge).not_to_have_attribute("data-status", "failed")


def test_at_1280_px_the_run_page_with_its_step_panel_has_no_horizontal_overflow(
    studio: Cluster, finished: str, page: Page
) -> None:
    page.set_viewport_size(LAPTOP)
    page.goto(url(studio, f"/runs/{finished}/steps/1"))
    panel = page.locator("aside.step-panel")
    expect(panel.get_by_role("table", name="Executions")).to_be_visible()
    expect(page.locator(".graph [data-step]").first).to_be_visible()
    fits(page)
    # The panel sits inside the viewport, beside the graph.
    box = panel.bounding_box()
    assert box is not None and box["x"] + box["width"] <= LAPTOP["width"], box


def test_on_a_phone_nothing_overflows_and_the_menu_opens_the_sidebar(
    studio: Cluster, finished: str, page: Page
) -> None:
    page.set_viewport_size(PHONE)
    page.goto(studio.server.url)
    expect(page.get_by_role("table", name="Projects").locator("[data-activity]")).to_contain_text(
        "1"
    )
    fits(page)
    page.goto(url(studio, ""))
    runs = page.get_by_role("table", name="Runs")
    expect(runs.locator(f'[data-run="{finished}"]')).to_be_visible()
    fits(page)
    # The table is wider than the phone: it scrolls inside its own box.
    widths: dict[str, int] = runs.evaluate(
        "t => ({ scroll: t.scrollWidth, client: t.clientWidth })"
    )
    assert widths["client"] <= PHONE["width"], widths

    sidebar = page.get_by_role("complementary", name="Environment")
    expect(sidebar).to_be_hidden()
    menu = page.get_by_role("button", name="Open the sidebar")
    menu.click()
    expect(sidebar).to_be_visible()
    expect(sidebar.get_by_role("link", name="inspect_batch")).to_be_visible()
    fits(page)
    page.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    expect(menu).to_be_focused()

    page.goto(url(studio, f"/runs/{finished}"))
    expect(page.locator(".graph [data-step]").first).to_be_visible()
    fits(page)
    page.goto(url(studio, f"/runs/{finished}/steps/1"))
    panel = page.locator("aside.step-panel")
    expect(panel.get_by_role("table", name="Executions")).to_be_visible()
    fits(page)
    box = panel.bounding_box()
    assert box is not None and (box["x"], box["width"]) == (0, PHONE["width"]), box


def focus_ring(page: Page) -> dict[str, Any]:
    """The focused element's ring: its outline and box shadow, and the panel's background."""
    ring: dict[str, Any] = page.evaluate(
        """() => {
          const el = document.activeElement;
          const style = getComputedStyle(el);
          return { tag: el.tagName, inPanel: !!el.closest("aside.step-panel"),
                   label: el.getAttribute("aria-label") || el.textContent.trim(),
                   outline: style.outlineStyle, width: parseFloat(style.outlineWidth),
                   color: style.outlineColor, shadow: style.boxShadow,
                   background: getComputedStyle(el.closest("aside") || document.body).backgroundColor };
        }"""
    )
    return ring


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_tab_reaches_the_step_panel_buttons_with_a_visible_focus_ring(
    studio: Cluster, finished: str, browser: Browser, scheme: str
) -> None:
    with browsers.open_page(browser, color_scheme=scheme) as (page, _):
        page.set_viewport_size(LAPTOP)
        page.goto(url(studio, f"/runs/{finished}/steps/1"))
        expect(page.locator(f'html[data-theme="{scheme}"]')).to_have_count(1)
        expect(page.locator("aside.step-panel").get_by_role("button", name="Close")).to_be_visible()
        for _ in range(200):  # every tab stop before the panel, in document order
            page.keyboard.press("Tab")
            ring = focus_ring(page)
            if ring["inPanel"] and ring["tag"] == "BUTTON":
                break
        else:
            raise AssertionError("Tab never reached a button of the step panel")
        drawn = (ring["outline"] != "none" and ring["width"] >= 2) or ring["shadow"] != "none"
        assert drawn and ring["color"] != ring["background"], ring
        # Escape closes the panel and leaves focus in the run's view.
        page.keyboard.press("Escape")
        expect(page.locator("aside.step-panel")).to_have_count(0)


def sensors(cluster: Cluster) -> list[dict[str, Any]]:
    listed = cluster.api("GET", "/api/projects/test/sensors", params={"environment": "production"})
    assert listed.status_code == 200, listed.text
    return list(listed.json())


def test_stopping_a_sensor_asks_first(studio: Cluster, page: Page) -> None:
    body = {
        "environment": "production",
        "repository": "layout",
        "target": "watch_door",
        "arguments": [],
    }
    started = studio.api("POST", "/api/projects/test/sensors", json=body)
    assert started.status_code in (200, 201), started.text
    sensor_id = str(started.json()["sensor_id"])
    page.goto(url(studio, "/sensors/layout/watch_door"))
    stop = page.get_by_role("button", name=f"Stop sensor {sensor_id}")
    stop.click()
    question = page.get_by_role("alertdialog", name="Stop sensor?")
    expect(question).to_contain_text(f"Stop sensor {sensor_id}")
    expect(question.get_by_role("button", name="No, keep it running")).to_be_focused()
    page.keyboard.press("Escape")
    expect(question).to_have_count(0)
    assert [s["id"] for s in sensors(studio)] == [sensor_id]

    stop.click()
    question.get_by_role("button", name="Yes, stop the sensor").click()
    expect(page.get_by_role("table", name="Running watch_door sensors")).to_have_count(0)
    eventually(lambda: sensors(studio) == [], 15, message="the sensor to stop")
