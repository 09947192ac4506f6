"""Studio against a server that requires tokens: signing in, working, signing out.

The server has an admin token, a project with an environment and an agent (which
connects with the admin token). The only errors the page may log are the 401s
(and 403s) these tests provoke on purpose.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, WebSocket, expect

from tests.e2e.conftest import STUDIO_FLOWS
from tests.support import browser as browsers
from tests.support.browser import ConsoleWatch
from tests.support.cluster import Cluster, Server

expect.set_options(timeout=15_000)

ADMIN = "admin-" + secrets.token_urlsafe(16)
REFUSED = "The server refused this token."


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A token server: projects 'test' (environment 'production', an agent) and 'other'."""
    browsers.check_prerequisites()
    workdir = tmp_path_factory.mktemp("signin")
    server = Server(workdir / "data", tokens=[ADMIN]).start()
    cluster = Cluster(server, workdir)
    admin = cluster.env(COFLUX_TOKEN=ADMIN)
    try:
        for command in (
            ("projects", "create", "test"),
            ("projects", "create", "other"),
            ("environments", "create", "production"),
        ):
            done = cluster.cli(*command, env=admin)
            assert done.returncode == 0, done.stderr
        cluster.start_agent(STUDIO_FLOWS, env={"COFLUX_TOKEN": ADMIN})
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def watched(
    watched_page: tuple[Page, ConsoleWatch],
) -> tuple[Page, ConsoleWatch]:
    page, watch = watched_page
    # Chromium logs every refused fetch ("Failed to load resource: ... status of 401").
    watch.allow(r"status of 401")
    return page, watch


def sign_in(page: Page, token: str) -> None:
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def submit_cli(cluster: Cluster, token: str, target: str, *arguments: str) -> str:
    done = cluster.cli(
        "submit", "studio_flows", target, *arguments, env=cluster.env(COFLUX_TOKEN=token)
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_server_refuses_studio_without_a_token(guarded: Cluster) -> None:
    # What the sign-in screen is for: without a token the API answers nothing.
    assert httpx.get(guarded.server.url + "/api/projects", timeout=10).status_code == 401
    auth = httpx.get(guarded.server.url + "/api/auth", timeout=10).json()
    assert auth == {"required": True, "authenticated": False, "admin": False, "token": None}


def test_sign_in_follow_a_run_download_reload_and_sign_out(
    guarded: Cluster, watched: tuple[Page, ConsoleWatch], tmp_path: Path
) -> None:
    page, _ = watched
    sockets: list[WebSocket] = []
    page.on("websocket", lambda socket: sockets.append(socket))
    page.goto(guarded.server.url + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Token")).to_have_attribute("type", "password")
    expect(page.get_by_role("table", name="Projects")).to_have_count(0)

    sign_in(page, "not-" + ADMIN)
    expect(page.get_by_role("alert")).to_have_text(REFUSED)
    assert page.evaluate("sessionStorage.getItem('coflux.token')") is None

    sign_in(page, ADMIN)
    projects = page.get_by_role("table", name="Projects")
    expect(projects.locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("signed-in")).to_have_text("admin")
    # The token is in no URL the page shows or asks for.
    assert ADMIN not in page.url

    # A run submitted through the CLI shows up live and completes on screen.
    projects.get_by_role("link", name="test").click()
    page.get_by_role("list", name="Environments").get_by_role("link", name="production").click()
    expect(page.get_by_role("heading", name="production")).to_be_visible()
    gate = tmp_path / "gate"
    run_id = submit_cli(guarded, ADMIN, "gated", f'"{gate}"')
    row = page.get_by_role("table", name="Recent runs").locator(f"tr[data-run='{run_id}']")
    expect(row).to_be_visible()
    row.get_by_role("link", name=run_id).click()
    page.get_by_role("tab", name="Logs").click()
    lines = page.get_by_role("list", name="Log lines")
    expect(lines.get_by_text(re.compile("waiting for"))).to_be_visible()
    expect(page.locator(".run-header [data-state]")).not_to_have_attribute(
        "data-state", "succeeded"
    )
    gate.touch()
    expect(lines.get_by_text(re.compile(r"gate opened after \d+ checks"))).to_be_visible()
    expect(page.locator(".run-header [data-state]")).to_have_attribute("data-state", "succeeded")

    # An asset's file previews and downloads with the token (fetched, then an object URL).
    report = submit_cli(guarded, ADMIN, "reporting", "4")
    page.goto(f"{guarded.server.url}/projects/test/environments/production/runs/{report}/steps/2")
    panel = page.get_by_role("complementary", name="write_report")
    files = panel.get_by_role("list", name=re.compile("Files of asset"))
    files.get_by_role("button", name="report.csv").click()
    table = panel.get_by_role("table", name="CSV preview")  # fetched with the token, too
    expect(table.locator("tr")).to_have_text(["nsquare", "00", "11", "24", "39"])
    with page.expect_download() as download:
        files.get_by_role("link", name="Download report.csv").click()
    assert download.value.suggested_filename == "report.csv"
    assert download.value.url.startswith("blob:")
    assert Path(download.value.path()).read_text().startswith("n,square\n0,0\n")

    # A reload keeps the session (sessionStorage) and the page.
    page.reload()
    sockets.clear()  # a document's sockets end with it (Playwright reports no close)
    expect(page.get_by_test_id("signed-in")).to_have_text("admin")
    expect(files).to_contain_text("report.csv")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_test_id("signed-in")).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('coflux.token')") is None
    # No live socket stays open with the old token, and the API answers the page no more.
    assert sockets, "the run page subscribes live"
    for socket in sockets:
        if not socket.is_closed():
            socket.wait_for_event("close")
    status = page.evaluate("fetch('/api/projects').then(r => r.status)")
    assert status == 401
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_read_only_project_token_sees_its_project_only(
    guarded: Cluster, watched: tuple[Page, ConsoleWatch]
) -> None:
    page, watch = watched
    watch.allow(r"status of 403")  # the refused project creation below
    created = guarded.cli(
        "tokens", "create", "--project", "test", "--read-only",
        env=guarded.env(COFLUX_TOKEN=ADMIN),
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    reader = created.stdout.strip()
    token_id = re.search(r"created token (\S+)", created.stderr)
    assert token_id is not None, created.stderr

    # A deep link: after signing in, the same page opens.
    page.goto(guarded.server.url + "/projects/test/environments/production")
    sign_in(page, reader)
    expect(page.get_by_role("heading", name="production")).to_be_visible()
    sidebar = page.get_by_role("navigation", name="Workflows and agents")
    expect(sidebar.get_by_role("link", name=re.compile(r"^gated"))).to_be_visible()
    expect(page.get_by_test_id("signed-in")).to_have_text(
        f"token {token_id.group(1)} · project test · read-only"
    )

    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Projects").click()
    projects = page.get_by_role("table", name="Projects")
    expect(projects.locator("tbody tr")).to_have_count(1)
    expect(projects).to_contain_text("test")
    expect(projects).not_to_contain_text("other")

    # A write is refused with the server's reason; the session stays signed in.
    page.get_by_label("New project").fill("nope")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("alert")).to_contain_text("admin")
    expect(page.get_by_test_id("signed-in")).to_be_visible()


def test_a_revoked_token_brings_up_sign_in_on_the_same_page(
    guarded: Cluster, watched: tuple[Page, ConsoleWatch]
) -> None:
    page, _ = watched
    admin = guarded.env(COFLUX_TOKEN=ADMIN)
    created = guarded.cli("tokens", "create", "--project", "test", env=admin)
    assert created.returncode == 0, created.stderr
    token_id = re.search(r"created token (\S+)", created.stderr)
    assert token_id is not None, created.stderr
    page.goto(guarded.server.url + "/projects/test/environments/production")
    sign_in(page, created.stdout.strip())
    expect(page.get_by_test_id("signed-in")).to_contain_text(f"token {token_id.group(1)}")

    revoked = guarded.cli("tokens", "revoke", token_id.group(1), env=admin)
    assert revoked.returncode == 0, revoked.stderr
    # The next request (the workflow's runs) gets a 401: sign-in, on the same URL.
    sidebar = page.get_by_role("navigation", name="Workflows and agents")
    sidebar.get_by_role("link", name=re.compile(r"^reporting")).click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("no longer accepts the token")
    expect(page).to_have_url(re.compile(r"/workflows/studio_flows/reporting$"))
    assert page.evaluate("sessionStorage.getItem('coflux.token')") is None
    sign_in(page, ADMIN)
    expect(page.get_by_role("heading", name="reporting")).to_be_visible()
