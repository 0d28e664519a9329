"""The one headless browser of a run, driven by Playwright: the Chromium `toolchain.browser` finds
(named by LINKMATRIX_CHROMIUM, Playwright's own, or one on PATH), a fresh profile in a temporary
folder, every wait bounded, and only pages on 127.0.0.1: every other address goes to a proxy that
is not there."""

from __future__ import annotations

import asyncio
import os
import shlex
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

from ..model import LinkmatrixError
from ..stack import CHROMIUM_ENV, ON_PATH, choose_browser

VIEWPORT = {"width": 1400, "height": 900}
WAIT_MS = 15_000  # every wait for a page or an element
# Only 127.0.0.1 is reached directly; anything else (a UI phoning home, a font from the web) is
# sent to a proxy on the discard port, and fails. No request interception: that would switch off
# the HTTP cache, and each page would load and compile its UI's bundle again (Lens: 2.5 MB).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1"]




class NoBrowserError(LinkmatrixError):
    """No browser to render with: the render columns are not measured (said, not error cells)."""


class BrowserDidNotStartError(LinkmatrixError):
    """A browser was found but did not start: not measured either, and a problem of the run."""


async def _find(given: str | None, playwright_own: str) -> tuple[str, str]:
    """(the browser's path, the line saying which one it is), or NoBrowserError saying what was looked at."""
    found, passed = await asyncio.to_thread(choose_browser, given, playwright_own)
    if found is None and given:  # the browser the user named does not run: a problem, not an absence
        raise BrowserDidNotStartError("; ".join(passed))
    if found is None:
        looked = passed or [f"{CHROMIUM_ENV} is not set, Playwright's own Chromium is not installed, and none of "
                            f"{', '.join(ON_PATH)} is on PATH"]
        raise NoBrowserError("; ".join(looked) + " (`make matrix` obtains one: `linkmatrix browser`)")
    return found.path, found.line()


def _launcher(folder: Path, path: str) -> tuple[Path, Path]:
    """(a script that runs the browser as its child and writes how it ended, that file). Playwright's
    driver is the browser's parent and says only that it is gone; a browser killed mid-run is to be
    named with its signal or exit code."""
    status = folder / "exit-status"
    launcher = folder / "browser"
    launcher.write_text(f'#!/bin/sh\n{shlex.quote(path)} "$@"\necho $? > {shlex.quote(str(status))}\n')
    launcher.chmod(0o700)
    return launcher, status


def _ended(status: Path) -> str:
    """How the browser ended, from its launcher's record (a shell's $?: 128 + N for signal N)."""
    try:
        code = int(status.read_text().strip())
    except (OSError, ValueError):
        return "ended (how is not known: its launcher ended with it)"
    return f"was killed by signal {code - 128}" if code > 128 else f"exited with code {code}"


class Pages:
    """Opens pages in the one browser: each in a context (a window) of its own. Tabs of one window
    would take turns being the visible one, and a hidden tab's frames are throttled: measured here,
    a click or a screenshot on the other tab then waited ~1 s for its next frame."""

    def __init__(self, opened: Browser, status: Path | None = None, path: str = "the browser") -> None:
        self._browser, self._status, self._path = opened, status, path

    def death_notice(self) -> str | None:
        """One line when the browser is gone (None while it runs): no page can be read any more."""
        if self._browser.is_connected():
            return None
        how = _ended(self._status) if self._status else "ended"
        return f"the browser ({self._path}) {how} during the run"

    async def new_page(self) -> Page:
        page = await self._browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
        page.set_default_timeout(WAIT_MS)
        return page


@asynccontextmanager
async def browser(report: Callable[[str], None] = lambda _line: None) -> AsyncIterator[Pages]:
    """The browser, with a fresh temporary profile (no cookies or storage from anywhere else),
    closed and its profile removed however the caller ends; `report` is told which browser it is."""
    async with async_playwright() as playwright:
        path, line = await _find(os.environ.get(CHROMIUM_ENV), playwright.chromium.executable_path)
        with tempfile.TemporaryDirectory(prefix="linkmatrix-browser-") as folder:
            launcher, status = _launcher(Path(folder), path)
            try:
                opened = await playwright.chromium.launch(executable_path=str(launcher), args=FLAGS, headless=True,
                                                          timeout=WAIT_MS)
            except Exception as error:  # Playwright's own errors: the browser exited or never answered
                first = (str(error).strip().splitlines() or [type(error).__name__])[0]
                raise BrowserDidNotStartError(f"{path} did not start: {first}") from None
            report(line)
            try:
                yield Pages(opened, status, path)
            finally:
                await opened.close()
