"""Fixtures for Studio's end-to-end tests: one browser, one server + agent per module.

The server and agent are shared by a module's tests (each test works on its own
runs), which keeps the suite fast; tests that need a pristine server or kill it
start their own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.support import browser as browsers
from tests.support.browser import ConsoleWatch
from tests.support.cluster import REPOS, Cluster, Server

STUDIO_FLOWS = REPOS / "studio_flows.py"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: Playwright's sync API runs an event loop of its own while it is
    # open, which must be gone before the asyncio tests of other modules run.
    with browsers.launch() as launched:
        yield launched


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A server with project 'test', environment 'production' and an agent hosting studio_flows."""
    browsers.check_prerequisites()
    workdir = tmp_path_factory.mktemp("studio")
    server = Server(workdir / "data").start()
    cluster = Cluster(server, workdir)
    try:
        assert cluster.cli("projects", "create", "test").returncode == 0
        created = cluster.cli("environments", "create", "production")
        assert created.returncode == 0, created.stderr
        cluster.start_agent(STUDIO_FLOWS, args=["--concurrency", "8"])
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def watched_page(browser: Browser) -> Iterator[tuple[Page, ConsoleWatch]]:
    with browsers.open_page(browser) as opened:
        yield opened


@pytest.fixture
def page(watched_page: tuple[Page, ConsoleWatch]) -> Page:
    """A fresh page; the test fails if the browser logs any error."""
    return watched_page[0]
