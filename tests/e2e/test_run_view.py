"""Studio's run page at any size: the graph's state chips lead from one failed step
of a fan-out of 200 to the next (its panel open, its node drawn), and the run header
shows the run's arguments and, once it has ended, its error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import studio_server
from tests.support.browser import screenshot
from tests.support.cluster import REPOS, Cluster

expect.set_options(timeout=15_000)

RUN_VIEW = REPOS / "run_view.py"
FAILING = [17, 60, 123, 180]


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A server with project 'test', environment 'production' and an agent hosting run_view."""
    with studio_server(tmp_path_factory, RUN_VIEW, concurrency=8) as cluster:
        yield cluster


def submit(cluster: Cluster, *arguments: object) -> str:
    response = cluster.api(
        "POST",
        "/api/projects/test/runs",
        json={
            "environment": "production",
            "repository": "run_view",
            "target": "survey",
            "arguments": [{"format": "json", "data": a} for a in arguments],
        },
    )
    assert response.status_code == 201, response.text
    run_id: str = response.json()["run_id"]
    return run_id


def wait_result(cluster: Cluster, run_id: str) -> dict[str, Any]:
    result: dict[str, Any] = cluster.api(
        "GET", f"/api/projects/test/runs/{run_id}/result?wait=60"
    ).json()
    assert result["outcome"] is not None, result
    return result


def run_url(cluster: Cluster, run_id: str) -> str:
    return f"{cluster.server.url}/projects/test/environments/production/runs/{run_id}"


def test_the_failed_chip_goes_from_one_failed_step_to_the_next(studio: Cluster, page: Page) -> None:
    run_id = submit(studio, "north", 200, FAILING)
    wait_result(studio, run_id)
    page.goto(run_url(studio, run_id))
    chips = page.get_by_role("toolbar", name="Steps by state")
    # The workflow failed too: 5 failed steps.
    expect(chips.get_by_role("button", name="5 failed")).to_be_visible()
    expect(chips.get_by_role("button", name="196 succeeded")).to_be_visible()
    # The 200 calls are one collapsed node, which names its failures.
    expect(page.locator("[data-group] .group-first")).to_have_text("4 ✕")

    chips.get_by_role("button", name="5 failed").click()
    panel = page.locator("aside.step-panel")
    expect(page).to_have_url(f"{run_url(studio, run_id)}/steps/1")
    expect(panel.get_by_role("group", name="Error")).to_contain_text("4 of 200 samples")
    chips.get_by_role("button", name="Next failed").click()
    # Sample n is step n + 2, hidden in the collapsed node until it is reached.
    for sample in FAILING[:2]:
        number = sample + 2
        expect(page).to_have_url(f"{run_url(studio, run_id)}/steps/{number}")
        expect(panel.get_by_role("group", name="Error")).to_contain_text(
            f"sample {sample} is corrupt"
        )
        node = page.locator(f'.node[data-step="{run_id}:{number}"]')
        expect(node).to_be_visible()
        expect(node).to_have_class("node state-failed selected")
        chips.get_by_role("button", name="Next failed").click()
    expect(page).to_have_url(f"{run_url(studio, run_id)}/steps/{FAILING[2] + 2}")
    expect(chips).to_contain_text("4 of 5")
    screenshot(page, "run-failed-steps")
    chips.get_by_role("button", name="Previous failed").click()
    expect(page).to_have_url(f"{run_url(studio, run_id)}/steps/{FAILING[1] + 2}")


def test_the_header_shows_the_arguments_then_the_error(
    studio: Cluster, page: Page, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    run_id = submit(studio, "south", 3, [1], str(gate))
    page.goto(run_url(studio, run_id))
    summary = page.get_by_test_id("run-summary")
    arguments = summary.locator(".run-summary-argument")
    expect(arguments.locator("dt")).to_have_text(["region", "count", "failing", "gate"])
    expect(arguments.locator("dd").nth(0)).to_have_text('"south"')
    expect(arguments.locator("dd").nth(2)).to_have_text("[1]")
    outcome = page.get_by_test_id("run-outcome")
    expect(outcome).to_contain_text("Not finished yet")

    gate.touch()
    wait_result(studio, run_id)
    expect(outcome.locator("h2")).to_have_text("Error")
    expect(outcome.locator(".error-box")).to_contain_text("RuntimeError")
    expect(outcome.locator(".error-box")).to_contain_text(": 1 of 3 samples in south failed")
    screenshot(page, "run-summary")

    # The timeline lists the steps by number; its legend is drawn with the bars' classes.
    page.get_by_role("tab", name="Timeline").click()
    rows = page.get_by_role("list", name="Executions").get_by_role("button")
    expect(rows).to_have_count(5)
    expect(rows.nth(0)).to_have_attribute("aria-label", re.compile(r"^survey #1 attempt 1"))
    expect(rows.nth(1)).to_have_attribute("aria-label", re.compile(r"^wait_for #2 attempt 1"))
    swatch = page.locator(".timeline-states [data-state=failed] .legend-swatch")
    expect(swatch).to_have_class("bar bar-running state-failed legend-swatch")
    expect(swatch).to_have_css(
        "background-color",
        page.locator(".timeline-track .bar-running.state-failed").first.evaluate(
            "el => getComputedStyle(el).backgroundColor"
        ),
    )
    screenshot(page, "run-timeline-legend")
