"""The one headless browser of a run: Debian's Chromium driven by Playwright (a browser download
is never needed), a fresh profile in a temporary folder, every wait bounded, and only pages on
127.0.0.1: every other address goes to a proxy that is not there."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import Browser, Page, async_playwright

from ..errors import LinkmatrixError

CHROMIUM_ENV = "LINKMATRIX_CHROMIUM"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
VIEWPORT = {"width": 1400, "height": 900}
WAIT_MS = 15_000  # every wait for a page or an element
# Only 127.0.0.1 is reached directly; anything else (a UI phoning home, a font from the web) is
# sent to a proxy on the discard port, and fails. No request interception: that would switch off
# the HTTP cache, and each page would load and compile its UI's bundle again (Lens: 2.5 MB).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1"]


def chromium() -> str | None:
    """The Chromium to drive: $LINKMATRIX_CHROMIUM, else the first of chromium… on PATH."""
    given = os.environ.get(CHROMIUM_ENV)
    if given:
        return given
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


class Pages:
    """Opens pages in the one browser: each in a context (a window) of its own. Tabs of one window
    would take turns being the visible one, and a hidden tab's frames are throttled: measured here,
    a click or a screenshot on the other tab then waited ~1 s for its next frame."""

    def __init__(self, opened: Browser) -> None:
        self._browser = opened

    async def new_page(self) -> Page:
        page = await self._browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
        page.set_default_timeout(WAIT_MS)
        return page


@asynccontextmanager
async def browser() -> AsyncIterator[Pages]:
    """The browser, with a fresh temporary profile (no cookies or storage from anywhere else),
    closed and its profile removed however the caller ends."""
    path = chromium()
    if path is None:
        raise LinkmatrixError(f"no Chromium to render with: install Debian's `chromium`, or set {CHROMIUM_ENV}")
    async with async_playwright() as playwright:
        opened = await playwright.chromium.launch(executable_path=path, args=FLAGS, headless=True, timeout=WAIT_MS)
        try:
            yield Pages(opened)
        finally:
            await opened.close()
