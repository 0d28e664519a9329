"""The one headless browser of a run: Debian's Chromium driven by Playwright (a browser download
is never needed), a fresh profile in a temporary folder, every wait bounded, and only pages on
127.0.0.1: every other address goes to a proxy that is not there."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import BrowserContext, async_playwright

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


@asynccontextmanager
async def browser() -> AsyncIterator[BrowserContext]:
    """The browser, with its own profile (no cookies or storage from anywhere else), closed and
    its profile removed however the caller ends."""
    path = chromium()
    if path is None:
        raise LinkmatrixError(f"no Chromium to render with: install Debian's `chromium`, or set {CHROMIUM_ENV}")
    with tempfile.TemporaryDirectory(prefix="linkmatrix-chromium-") as profile:
        async with async_playwright() as playwright:
            opened = await playwright.chromium.launch_persistent_context(
                profile, executable_path=path, args=FLAGS, headless=True, timeout=WAIT_MS,
                viewport=VIEWPORT)  # type: ignore[arg-type]
            opened.set_default_timeout(WAIT_MS)
            try:
                yield opened
            finally:
                await opened.close()
