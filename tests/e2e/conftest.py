"""Fixtures for Studio's end-to-end tests: one browser, one server + agent per module.

The server and agent are shared by a module's tests (each test works on its own
runs), which keeps the suite fast; tests that need a pristine server or kill it
start their own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

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


@contextlib.contextmanager
def studio_server(
    tmp_path_factory: pytest.TempPathFactory, repository: Path, concurrency: int = 8
) -> Iterator[Cluster]:
    """A server with project 'test', environment 'production' and an agent hosting
    ``repository``: what most modules' own module-scoped fixture starts."""
    browsers.check_prerequisites()
    workdir = tmp_path_factory.mktemp(repository.stem)
    cluster = Cluster(Server(workdir / "data").start(), workdir)
    try:
        for command in (("projects", "create", "test"), ("environments", "create", "production")):
            done = cluster.cli(*command)
            assert done.returncode == 0, done.stderr
        cluster.start_agent(repository, args=["--concurrency", str(concurrency)])
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A server with project 'test', environment 'production' and an agent hosting studio_flows."""
    with studio_server(tmp_path_factory, STUDIO_FLOWS) as cluster:
        yield cluster


@pytest.fixture
def watched_page(browser: Browser) -> Iterator[tuple[Page, ConsoleWatch]]:
    with browsers.open_page(browser) as opened:
        yield opened


@pytest.fixture
def page(watched_page: tuple[Page, ConsoleWatch]) -> Page:
    """A fresh page; the test fails if the browser logs any error."""
    return watched_page[0]
