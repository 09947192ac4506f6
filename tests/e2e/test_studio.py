"""Studio in a real browser against a real server and agent.

Each test drives Studio as a user would and waits on what the page shows (never on
fixed sleeps); the page fixture fails a test on any browser console error.
Screenshots of the main screens are refreshed with COFLUX_SCREENSHOTS=1.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import STUDIO_FLOWS
from tests.support.browser import ConsoleWatch, screenshot
from tests.support.cluster import REPOS, Cluster, Server

expect.set_options(timeout=15_000)


def submit(cluster: Cluster, target: str, *arguments: object) -> str:
    response = cluster.api(
        "POST",
        "/api/projects/test/runs",
        json={
            "environment": "production",
            "repository": "studio_flows",
            "target": target,
            "arguments": [{"format": "json", "data": a} for a in arguments],
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["run_id"])


def wait_result(cluster: Cluster, run_id: str) -> dict[str, object]:
    result = cluster.api("GET", f"/api/projects/test/runs/{run_id}/result?wait=30").json()
    assert result["outcome"] is not None, result
    return dict(result)


def run_url(cluster: Cluster, run_id: str, step: int | None = None, view: str | None = None) -> str:
    url = f"{cluster.server.url}/projects/test/environments/production/runs/{run_id}"
    if step is not None:
        url += f"/steps/{step}"
    return url + (f"?view={view}" if view else "")


def api_has(cluster: Cluster, suffix: str) -> bool:
    """Whether the server's API has a route ending with ``suffix`` (others build some)."""
    paths = cluster.api("GET", "/api/openapi.json").json()["paths"]
    return any(path.endswith(suffix) for path in paths)


def test_create_a_project_and_environments_then_see_a_registered_workflow(
    studio: Cluster, page: Page
) -> None:
    page.goto(studio.server.url + "/")
    expect(page.get_by_role("table", name="Projects")).to_contain_text("test")
    screenshot(page, "projects")
    page.get_by_label("New project").fill("ui")
    page.get_by_role("button", name="Create project").click()
    expect(page).to_have_url(re.compile(r"/projects/ui$"))
    expect(page.get_by_role("heading", name="ui")).to_be_visible()

    page.get_by_label("New environment").fill("production")
    page.get_by_role("button", name="Create environment").click()
    tree = page.get_by_role("list", name="Environments")
    expect(tree.get_by_role("link", name="production")).to_be_visible()
    page.get_by_label("New environment").fill("staging")
    page.get_by_label("Base").select_option("production")
    page.get_by_role("button", name="Create environment").click()
    # Drawn as a hierarchy: staging sits in the list under production.
    nested = tree.locator("li", has=page.get_by_role("link", name="production", exact=True))
    expect(nested.locator("ul").get_by_role("link", name="staging")).to_be_visible()
    screenshot(page, "environments")

    tree.get_by_role("link", name="production", exact=True).click()
    sidebar = page.get_by_role("navigation", name="Workflows and agents")
    expect(sidebar.get_by_text("Nothing registered")).to_be_visible()
    registered = studio.cli("register", str(STUDIO_FLOWS), env=studio.env(COFLUX_PROJECT="ui"))
    assert registered.returncode == 0, registered.stderr
    # Arrives live (manifest fact), with parameters, defaults and docstring.
    workflow = sidebar.get_by_role("link", name=re.compile(r"^fan_out"))
    expect(workflow).to_be_visible()
    expect(workflow).to_contain_text("(count, label='squares')")
    expect(workflow).to_contain_text("Square 0..count-1 in parallel")

    # Keyboard: arrows move through the sidebar's entries.
    sidebar.get_by_role("button", name=re.compile("studio_flows")).focus()
    page.keyboard.press("ArrowDown")
    expect(workflow).to_be_focused()


def test_submit_with_arguments_watch_the_graph_and_read_a_result(
    studio: Cluster, page: Page
) -> None:
    page.goto(f"{studio.server.url}/projects/test/environments/production")
    page.get_by_role("link", name=re.compile(r"^fan_out")).click()
    expect(page.get_by_role("heading", name="fan_out")).to_be_visible()
    page.get_by_role("button", name="Run…").click()
    form = page.get_by_role("dialog", name="Run fan_out")
    count = form.get_by_label("count")
    count.fill("{")
    count.blur()
    expect(form.get_by_text("Enter a whole number.")).to_be_visible()
    count.fill("30")
    form.get_by_label("label").fill("e2e")
    expect(form.get_by_text("Enter a whole number.")).to_have_count(0)
    screenshot(page, "run-form")
    form.get_by_role("button", name="Start run").click()

    expect(page).to_have_url(re.compile(r"/runs/\w+$"))
    graph = page.get_by_role("group", name=re.compile("Steps of the run"))
    # The graph fills in as the run goes: the fan-out collapses into one group,
    # and the step that receives the squares gets a dashed result-dependency edge.
    expect(graph.get_by_role("button", name=re.compile(r"^fan_out #1"))).to_be_visible()
    expect(graph.get_by_role("button", name=re.compile(r"^square \u00d7 30"))).to_be_visible()
    expect(graph.get_by_role("button", name=re.compile(r"^total #\d+, succeeded"))).to_be_visible()
    expect(page.locator("path.edge.dependency")).to_have_count(1)
    header = page.locator(".run-header")
    expect(header.locator("[data-state]")).to_have_attribute("data-state", "succeeded")
    expect(
        graph.get_by_role("button", name=re.compile(r"^square \u00d7 30.*30 succeeded"))
    ).to_be_visible()

    graph.get_by_role("button", name=re.compile(r"^total #")).click()
    panel = page.get_by_role("complementary", name="total")
    expect(panel.get_by_test_id("step-result")).to_have_text("8555")
    graph.get_by_role("button", name=re.compile(r"^fan_out #1")).click()
    panel = page.get_by_role("complementary", name="fan_out")
    expect(panel.get_by_test_id("step-result")).to_contain_text('"label": "e2e"')
    expect(panel.get_by_test_id("step-result")).to_contain_text('"total": 8555')
    expect(panel.get_by_role("table", name="Executions")).to_contain_text("succeeded")
    expect(page).to_have_url(re.compile(r"/steps/1$"))
    screenshot(page, "run-graph")

    # Expanding the group shows its members; the timeline shows every execution.
    graph.get_by_role("button", name=re.compile(r"^square \u00d7 30")).click()
    expect(graph.get_by_role("button", name=re.compile(r"^square #2, succeeded"))).to_be_visible()
    page.get_by_role("tab", name="Timeline").click()
    rows = page.get_by_role("list", name="Executions").get_by_role("button")
    expect(rows.first).to_have_attribute(
        "aria-label", re.compile(r"^fan_out #1 attempt 1: succeeded, queued")
    )
    screenshot(page, "run-timeline")

    page.get_by_role("button", name=re.compile("Theme")).click()  # system -> light
    page.get_by_role("button", name=re.compile("Theme")).click()  # light -> dark
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.get_by_role("tab", name="Graph").click()
    expect(graph).to_be_visible()
    screenshot(page, "run-graph-dark")


def test_logs_appear_live(studio: Cluster, page: Page, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    run_id = submit(studio, "gated", str(gate))
    page.goto(run_url(studio, run_id, view="logs"))
    lines = page.get_by_role("list", name="Log lines")
    expect(lines.get_by_text(re.compile("waiting for"))).to_be_visible()
    expect(lines.get_by_text("stdout before the gate")).to_be_visible()
    expect(lines.get_by_text(re.compile("gate opened"))).to_have_count(0)
    gate.touch()
    opened = lines.locator("[data-level=warning]")
    expect(opened).to_contain_text(re.compile(r"gate opened after \d+ checks"))
    expect(page.locator(".run-header [data-state]")).to_have_attribute("data-state", "succeeded")
    screenshot(page, "run-logs")


def test_cancel_a_running_run(studio: Cluster, page: Page) -> None:
    run_id = submit(studio, "slow", 3600)
    page.goto(run_url(studio, run_id))
    graph = page.get_by_role("group", name=re.compile("Steps of the run"))
    expect(graph.get_by_role("button", name=re.compile(r"^nap #2, running"))).to_be_visible()
    page.get_by_role("button", name="Cancel run").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Yes, cancel the run").click()
    expect(graph.get_by_role("button", name=re.compile(r"^nap #2, cancelled"))).to_be_visible()
    expect(page.locator(".run-header [data-state]")).to_have_attribute("data-state", "cancelled")
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)


def test_rerun_a_step_from_a_deep_link(
    studio: Cluster, watched_page: tuple[Page, ConsoleWatch]
) -> None:
    page, watch = watched_page
    supported = api_has(studio, "/rerun")
    if not supported:  # the browser logs the 404 that Studio then explains
        watch.allow("status of 404")
    run_id = submit(studio, "fan_out", 3)
    wait_result(studio, run_id)
    total_step = 5  # fan_out #1, square #2..#4, total #5
    page.goto(run_url(studio, run_id, step=total_step))
    panel = page.get_by_role("complementary", name="total")
    expect(panel.get_by_test_id("step-result")).to_have_text("5")
    screenshot(page, "step-panel")
    panel.get_by_role("button", name="Re-run").click()
    if supported:
        executions = panel.get_by_role("table", name="Executions")
        second = executions.locator(f"[data-execution='{run_id}:{total_step}:2']")
        expect(second).to_be_visible()
        expect(second).to_contain_text("succeeded")
    else:
        expect(panel.get_by_text("Re-run is not available on this server")).to_be_visible()


def test_assets_are_listed_previewed_and_downloaded(
    studio: Cluster, watched_page: tuple[Page, ConsoleWatch]
) -> None:
    page, watch = watched_page
    supported = api_has(studio, "/assets/{asset_id}")
    if not supported:
        watch.allow("status of 404")
    run_id = submit(studio, "reporting", 4)
    wait_result(studio, run_id)
    page.goto(run_url(studio, run_id, step=2))  # write_report
    panel = page.get_by_role("complementary", name="write_report")
    if not supported:
        expect(panel.get_by_text("Assets are not available on this server")).to_be_visible()
        return
    files = panel.get_by_role("list", name=re.compile("Files of asset"))
    files.get_by_role("button", name="report.csv").click()
    table = panel.get_by_role("table", name="CSV preview")  # a CSV file is shown as a table
    expect(table.locator("tr")).to_have_text(["nsquare", "00", "11", "24", "39"])
    screenshot(page, "step-assets")
    with page.expect_download() as download:
        files.get_by_role("link", name="Download report.csv").click()
    assert download.value.suggested_filename == "report.csv"
    assert Path(download.value.path()).read_text().startswith("n,square")


def test_a_large_run_is_drawn_with_its_fan_out_grouped(studio: Cluster, page: Page) -> None:
    # How fast it is drawn is measured, not asserted (docs/benchmarks.md, Studio).
    run_id = submit(studio, "fan_out", 1000)
    wait_result(studio, run_id)
    page.goto(run_url(studio, run_id))
    graph = page.get_by_role("group", name=re.compile("Steps of the run: 1002"))
    expect(graph.get_by_role("button", name=re.compile(r"^square \u00d7 1,000"))).to_be_visible()


def test_a_lost_connection_is_shown_and_recovered(
    studio: Cluster, watched_page: tuple[Page, ConsoleWatch]
) -> None:
    # Its own server, killed and restarted: the only errors the page may log are
    # the refused connections while the server is down.
    page, watch = watched_page
    watch.allow(r"WebSocket connection to .* failed|ERR_CONNECTION_REFUSED|Failed to load resource")
    data = studio.workdir / "restart-data"
    server = Server(data).start()
    try:
        httpx.post(server.url + "/api/projects", json={"name": "restart"}, timeout=10)
        page.goto(server.url + "/projects/restart")
        status = page.get_by_role("status").filter(has_text=re.compile("Live|Connection"))
        expect(status).to_have_text("Live")
        server.kill9()
        expect(status).to_contain_text("Connection lost")
        server.start()
        expect(status).to_have_text("Live")
        # Live again: a change made now appears without a reload.
        created = httpx.post(
            server.url + "/api/projects/restart/environments",
            json={"name": "after-restart"},
            timeout=10,
        )
        assert created.status_code == 201, created.text
        tree = page.get_by_role("list", name="Environments")
        expect(tree.get_by_role("link", name="after-restart")).to_be_visible()
    finally:
        server.stop()


def test_a_group_shows_one_member_at_a_time_and_a_timeout_is_shown(
    studio: Cluster, page: Page
) -> None:
    studio.start_agent(REPOS / "studio_groups.py")
    response = studio.api(
        "POST",
        "/api/projects/test/runs",
        json={
            "environment": "production",
            "repository": "studio_groups",
            "target": "grouped",
            "arguments": [{"format": "json", "data": 5}],
        },
    )
    assert response.status_code == 201, response.text
    run_id = str(response.json()["run_id"])
    # Opened while it runs: the group fills in from live facts.
    page.goto(run_url(studio, run_id))
    graph = page.get_by_role("group", name=re.compile("Steps of the run: 7"))
    expect(page.locator(".run-header [data-state]")).to_have_attribute("data-state", "succeeded")

    # grouped #1 calls chapter #2..#6 in the group "chapters" (the last fails), then stuck #7.
    group = graph.get_by_role("group", name=re.compile(r"^chapters: 5 steps · 1 failed"))
    expect(group).to_have_accessible_name("chapters: 5 steps · 1 failed; showing 1 of 5")
    expect(graph.get_by_role("button", name=re.compile(r"^chapter #"))).to_have_count(1)
    first = graph.get_by_role("button", name="chapter #2, succeeded, step 1 of 5 in chapters")
    expect(first).to_be_visible()

    graph.get_by_role("button", name="Next step in chapters").click()
    expect(
        graph.get_by_role("button", name=re.compile(r"^chapter #3, succeeded, step 2 of 5"))
    ).to_be_visible()
    expect(first).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/steps/3$"))
    panel = page.get_by_role("complementary", name="chapter")
    expect(panel.get_by_test_id("step-group")).to_have_text(
        "In group chapters, step 2 of 5 (5 steps · 1 failed)"
    )

    # The count of failed members jumps to the failed one; Next wraps round to the first.
    group.locator("[data-member-state=failed]").click()
    expect(
        graph.get_by_role("button", name=re.compile(r"^chapter #6, failed, step 5 of 5"))
    ).to_be_visible()
    expect(panel.get_by_role("group", name="Error")).to_contain_text("chapter 4 is missing")
    graph.get_by_role("button", name="Next step in chapters").click()
    expect(
        graph.get_by_role("button", name=re.compile(r"^chapter #2, succeeded, step 1 of 5"))
    ).to_be_visible()
    screenshot(page, "run-group")

    stuck = graph.get_by_role("button", name=re.compile(r"^stuck #7, timed out"))
    expect(stuck).to_be_visible()
    expect(stuck).to_have_attribute("data-state", "timed_out")
    stuck.click()
    panel = page.get_by_role("complementary", name="stuck")
    expect(panel.locator(".step-head [data-state]")).to_have_text(re.compile("Timed out", re.I))
    expect(panel.get_by_role("group", name="Error")).to_have_text(
        "Timed out after 1 s: its agent stopped the execution."
    )
    expect(panel.get_by_label("Options")).to_contain_text("timeout 1 s")
    expect(page.locator(".run-header")).to_contain_text("1 timed out")

    page.get_by_role("tab", name="Timeline").click()
    expect(
        page.get_by_role("button", name=re.compile(r"^stuck #7 attempt 1: timed out"))
    ).to_be_visible()
    expect(page.locator(".timeline-states [data-state=timed_out]")).to_have_text(
        re.compile("timed out")
    )
