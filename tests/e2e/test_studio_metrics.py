"""Studio draws metrics and progress live: charts in the step panel, cards on the run
page, progress bars on the graph's nodes (docs/metrics.md, "In Studio").

The workflow (tests/support/repos/studio_metrics.py) stops its training chart halfway
and its progress bars at a quarter, a half and three quarters until the test opens a
gate, so the test sees them part-drawn, then watches them fill in without a reload.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import screenshot
from tests.support.cluster import REPOS, Cluster

expect.set_options(timeout=15_000)

REPOSITORY = REPOS / "studio_metrics.py"
# The narrowest layout Studio is laid out for with the step panel open.
NARROW = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def cluster(studio: Cluster) -> Cluster:
    """The module's server, with an agent for the metrics repository too."""
    studio.start_agent(REPOSITORY, args=["--concurrency", "8"])
    return studio


def submit(cluster: Cluster, target: str, *arguments: object) -> str:
    response = cluster.api(
        "POST",
        "/api/projects/test/runs",
        json={
            "environment": "production",
            "repository": "studio_metrics",
            "target": target,
            "arguments": [{"format": "json", "data": a} for a in arguments],
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["run_id"])


def run_url(cluster: Cluster, run_id: str) -> str:
    return f"{cluster.server.url}/projects/test/environments/production/runs/{run_id}"


def overflow(page: Page, selector: str) -> int:
    """How many pixels the element's content is wider than the element."""
    return int(
        page.evaluate(
            "s => { const e = document.querySelector(s); return e.scrollWidth - e.clientWidth; }",
            selector,
        )
    )


def test_metrics_and_progress_are_drawn_live(cluster: Cluster, page: Page, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    run_id = submit(cluster, "experiment", 10, 40, str(gate))
    page.set_viewport_size(NARROW)
    page.goto(run_url(cluster, run_id))
    graph = page.get_by_role("group", name=re.compile("Steps of the run"))

    # Each process step's node has a bar at its share; train, without progress, has none.
    for number, share in ((2, "25%"), (3, "50%"), (4, "75%")):
        node = graph.get_by_role("button", name=f"process #{number}, running, progress {share}")
        expect(node).to_be_visible()
        expect(node.locator(".node-progress-label")).to_have_text(share)
    train = graph.get_by_role("button", name=re.compile(r"^train #5, running"))
    expect(train).to_be_visible()
    expect(train.locator(".node-progress")).to_have_count(0)
    expect(page.locator(".node-progress")).to_have_count(3)

    # The run page lists the run's metrics: a card per chart, the training one plotted.
    band = page.get_by_role("region", name="Metrics")
    expect(band.locator(".metric-card")).to_have_count(4)
    training_card = band.locator(".metric-card[data-chart=training]")
    expect(training_card.locator("svg")).to_have_attribute("data-points", "10")
    expect(training_card.locator(".metric-values")).to_contain_text("accuracy40%")
    screenshot(page, "run-progress")

    # The step panel: the group's two metrics on one chart, five epochs of each so far.
    train.click()
    panel = page.get_by_role("complementary", name="train")
    chart = panel.get_by_role("figure", name="training")
    svg = chart.locator("svg.metric-svg")
    expect(svg).to_have_attribute("data-points", "10")
    expect(chart.locator(".metric-point")).to_have_count(10)
    expect(chart.locator("[data-metric=loss] .metric-latest")).to_have_text("0.2")
    expect(chart.locator("[data-metric=accuracy] .metric-latest")).to_have_text("40%")
    chart.get_by_text("Data", exact=True).click()
    rows = chart.get_by_role("table", name="Values of training").locator("tbody tr")
    expect(rows).to_have_count(5)
    # Focused, the arrow keys read the values out.
    svg.focus()
    page.keyboard.press("ArrowRight")
    expect(chart.locator(".metric-readout")).to_have_text("epoch 0 · loss 1, accuracy 0%")
    # It fits the 1,280 px layout: nothing wider than the panel or the page.
    assert overflow(page, "[data-testid=step-metrics]") <= 0
    assert overflow(page, "html") <= 0

    # The gate opens: the chart, its table and the bars fill in live.
    gate.touch()
    expect(svg).to_have_attribute("data-points", "20")
    expect(chart.locator(".metric-point")).to_have_count(20)
    expect(rows).to_have_count(10)
    expect(chart.locator("[data-metric=accuracy] .metric-latest")).to_have_text("90%")
    for number in (2, 3, 4):
        expect(
            graph.get_by_role("button", name=f"process #{number}, succeeded, progress 100%")
        ).to_be_visible()
    expect(page.locator(".run-header [data-state]")).to_have_attribute("data-state", "succeeded")
    expect(training_card.locator("svg")).to_have_attribute("data-points", "20")
    # Escape leaves the readout (and not the panel); the table folds away again.
    page.keyboard.press("Escape")
    expect(chart.locator(".metric-cursor")).to_have_count(0)
    expect(panel).to_be_visible()
    chart.get_by_text("Data", exact=True).click()
    svg.evaluate("element => element.blur()")
    chart.scroll_into_view_if_needed()
    screenshot(page, "step-metrics")

    # A progress metric is a bar with its percentage in the panel, not a chart.
    graph.get_by_role("button", name=re.compile(r"^process #3")).click()
    panel = page.get_by_role("complementary", name="process")
    bar = panel.get_by_role("progressbar", name="progress")
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(panel.locator(".metric-progress-value")).to_have_text("100% 40 / 40")
    expect(panel.locator("svg.metric-svg")).to_have_count(0)
