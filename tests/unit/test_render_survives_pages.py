"""The render stage survives what a page does: a page whose script hangs its tab, a page that never
settles, a page that is blank after its script threw. Each costs only its own trace: the next
trace gets a fresh page and is read as if nothing had happened."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest
from playwright.async_api import Page

from harness.model import ObservationKey, Rendered, RenderReadPath, ShownSpan, SpanToShow, TraceNotDrawnError
from harness.render import _stage
from harness.render._browser import browser

SPAN = "a" * 16
HANGS, BLANK, SLOW, FINE = "1" * 32, "2" * 32, "3" * 32, "4" * 32


async def fake_ui(page: Page, base_url: str, trace_id: str, spans: Sequence[SpanToShow],
                  screenshot: Path) -> dict[str, ShownSpan]:
    if trace_id == BLANK:
        raise TraceNotDrawnError("the page is blank: its script threw TypeError: x is undefined")
    if trace_id == SLOW:
        await asyncio.sleep(60)
    await page.set_content("<p>drawn</p>")
    await page.screenshot(path=str(screenshot))
    if trace_id == HANGS:  # read fine, then its main thread never comes back (as after a followed link)
        await page.evaluate("setTimeout(() => { while (true) {} }, 0)")
    return {SPAN: ShownSpan(SPAN, found=True, parent="")}


def job(trace_id: str, tmp_path: Path) -> _stage._Job:
    path = RenderReadPath("fake", "ui", "Fake UI", fake_ui)
    key = ObservationKey(f"scenario-{trace_id[0]}", "collector", "fake", "ui")
    return _stage._Job(key, path, "http://127.0.0.1:9", trace_id, (SpanToShow(SPAN, "svc", "op", True),),
                       tmp_path / f"{trace_id}.jpg")


def test_each_bad_page_costs_only_its_own_trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_stage, "PAGE_BOUND", 3.0)
    rendered = Rendered()

    async def run() -> None:
        async with browser() as pages:
            opened = [await pages.new_page()]  # one page: every job after a bad one needs a fresh page
            jobs = [job(trace_id, tmp_path) for trace_id in (HANGS, BLANK, SLOW, FINE)]
            await asyncio.wait_for(_stage._run(opened, jobs, rendered, tmp_path, fresh_page=pages.new_page), 40)

    asyncio.run(run())
    by_trace = {trace_id: page for pages in rendered.pages.values() for trace_id, page in pages.items()}
    assert by_trace[HANGS].drawn and "stopped answering" in by_trace[HANGS].after
    assert not by_trace[BLANK].drawn and by_trace[BLANK].words.startswith("the page is blank")
    assert not by_trace[SLOW].drawn and "did not settle within 3 s" in by_trace[SLOW].words
    assert by_trace[FINE].drawn and not by_trace[FINE].missing
    assert not any(isinstance(shown, Exception) for shown in rendered.shown.values())  # no error cells
