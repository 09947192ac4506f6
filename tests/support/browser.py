"""Headless Chromium for Studio's end-to-end tests: Playwright driving Debian's chromium.

Playwright cannot download browsers here, so it runs the system's ``/usr/bin/chromium``
(``scripts/setup`` installs it). Every page records console errors and uncaught
exceptions; a test fails on any it did not expect. Screenshots of the main screens
go to ``docs/studio/`` only when ``COFLUX_SCREENSHOTS=1``, so ordinary runs leave the
tree clean.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Error, Page, sync_playwright

ROOT = Path(__file__).parents[2]
CHROMIUM = Path("/usr/bin/chromium")
STATIC_INDEX = ROOT / "src" / "coflux" / "server" / "static" / "index.html"
SCREENSHOTS = ROOT / "docs" / "studio"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 900}


def check_prerequisites() -> None:
    """Fail (never skip) with what to run when the browser or the build is missing."""
    if not CHROMIUM.exists():
        raise AssertionError(
            f"{CHROMIUM} is missing: run scripts/setup (installs Debian's chromium)"
        )
    if not STATIC_INDEX.exists():
        raise AssertionError(
            "Studio is not built: run scripts/setup (npm ci && npm run build in studio/)"
        )


@contextmanager
def launch() -> Iterator[Browser]:
    check_prerequisites()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class ConsoleWatch:
    """Console errors and uncaught exceptions of a page."""

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    def allow(self, pattern: str) -> None:
        """Expect errors matching ``pattern`` (e.g. a connection refused on purpose)."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]


@contextmanager
def open_page(browser: Browser, color_scheme: str = "light") -> Iterator[tuple[Page, ConsoleWatch]]:
    """A fresh page (own context: no shared storage) that must log no errors."""
    context = browser.new_context(viewport=VIEWPORT, color_scheme=color_scheme)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    page = context.new_page()
    watch = ConsoleWatch()
    watch.attach(page)
    try:
        yield page, watch
    finally:
        with suppress(Error):  # the browser may already be gone
            context.close()
    unexpected = watch.unexpected()
    assert not unexpected, "errors in the browser console:\n" + "\n".join(unexpected)


def screenshot(page: Page, name: str) -> None:
    """Save ``docs/studio/NAME.png`` when COFLUX_SCREENSHOTS=1 (else do nothing)."""
    if os.environ.get("COFLUX_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Let transitions and the graph's fit settle on one frame before capturing.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
