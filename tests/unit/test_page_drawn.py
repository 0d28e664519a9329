"""Whether a trace page is drawn, told early and in the page's own words: Zipkin Lens's page states
read off pages recorded from the real Lens (tests/fixtures/zipkin-lens-3.6.1), and the wait both
UI readers share (harness/backends/_page.py) ending well before its bound on a page that shows an
error, that is blank after its script threw, or that settled on nothing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

from harness.backends import _page
from harness.backends.jaeger import _ui as jaeger_ui
from harness.backends.zipkin import _lens as lens
from harness.model import TraceNotDrawnError
from harness.render._browser import browser

from ..browser import requires_browser

pytestmark = requires_browser

LENS = Path(__file__).resolve().parent.parent / "fixtures" / "zipkin-lens-3.6.1"
FACTS: dict[str, Any] = json.loads((LENS / "facts.json").read_text())["pages"]
DRAWN, UNKNOWN = FACTS["drawn"]["trace_id"], FACTS["not-found"]["trace_id"]
THROWS_LATER = """<div id="root"></div>
<script>setTimeout(() => { throw new TypeError("x is undefined"); }, 300);</script>"""


def recorded(name: str) -> str:
    return f"<!doctype html><html><body>{(LENS / f'{name}.html').read_text()}</body></html>"


def in_a_page(step: Callable[[Page], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        async with browser() as pages:
            return await step(await pages.new_page())
    return asyncio.run(run())


RECORDED_STATES = [  # page, the trace asked for, what Lens shows
    ("drawn", DRAWN, {"state": "drawn"}),
    ("drawn", UNKNOWN, {"state": "loading"}),  # the last trace, still up while the next one is asked for
    ("not-found", UNKNOWN, {"state": "error", "words": "No trace found: Not Found"}),
    ("trace-was-empty", FACTS["trace-was-empty"]["trace_id"], {"state": "error", "words": "No trace found: Trace was empty"}),
    ("not-found-alert-gone", UNKNOWN, {"state": "empty"}),
    ("loading-under-last-alert", DRAWN, {"state": "loading"}),  # Lens's "No trace found" while it loads
    ("blank-after-throw", FACTS["blank-after-throw"]["trace_id"], {"state": "blank"}),
]


def test_lens_page_states_as_recorded() -> None:
    async def read(opened: Page) -> list[Any]:
        states = []
        for page, trace_id, _ in RECORDED_STATES:
            await opened.set_content(recorded(page))
            states.append(await opened.evaluate(lens.PAGE_STATE_JS, trace_id))
        return states

    assert in_a_page(read) == [state for _, _, state in RECORDED_STATES]


def test_after_its_script_threw_lens_is_loaded_afresh_not_navigated_in() -> None:
    async def navigated(opened: Page) -> Any:
        await opened.set_content(recorded("blank-after-throw"))
        return await opened.evaluate(lens.NAVIGATE_JS, f"/zipkin/traces/{DRAWN}")

    assert in_a_page(navigated) is False


def waited(content: str, state_js: str, trace_id: str) -> tuple[TraceNotDrawnError | None, float]:
    """What the shared wait ends with on a page of this content, and after how many seconds."""
    async def wait(opened: Page) -> tuple[TraceNotDrawnError | None, float]:
        await opened.set_content(content)
        started = time.monotonic()
        try:
            await _page.wait_until_drawn(opened, state_js, trace_id)
        except TraceNotDrawnError as not_drawn:
            return not_drawn, time.monotonic() - started
        return None, time.monotonic() - started

    result: tuple[TraceNotDrawnError | None, float] = in_a_page(wait)
    return result


def test_a_drawn_page_is_drawn_at_once() -> None:
    error, took = waited(recorded("drawn"), lens.PAGE_STATE_JS, DRAWN)
    assert error is None and took < 1.0


def test_an_error_page_is_not_drawn_in_its_own_words_early() -> None:
    error, took = waited(recorded("not-found"), lens.PAGE_STATE_JS, UNKNOWN)
    assert error is not None and took < 3.0 < _page.DRAW_WITHIN_S
    assert error.words == "the page shows an error instead of the trace: No trace found: Not Found"
    jaeger_error = '<div id="jaeger-ui-root"><div class="ErrorMessage">HTTP Error: trace not found</div></div>'
    error, took = waited(jaeger_error, jaeger_ui.PAGE_STATE_JS, UNKNOWN)
    assert error is not None and took < 3.0
    assert error.words == "the page shows an error instead of the trace: HTTP Error: trace not found"


@pytest.mark.parametrize("state_js", [lens.PAGE_STATE_JS, jaeger_ui.PAGE_STATE_JS], ids=["lens", "jaeger-ui"])
def test_a_blank_page_after_a_thrown_error_is_not_drawn_with_the_error_as_evidence(state_js: str) -> None:
    error, took = waited(THROWS_LATER, state_js, DRAWN)
    assert error is not None and took < _page.BLANK_FOR_S + 2.0 < _page.DRAW_WITHIN_S
    assert error.words == "the page is blank: its script threw TypeError: x is undefined"
    assert error.console_errors == ["TypeError: x is undefined"]


def test_a_page_settled_on_nothing_is_not_drawn_early() -> None:
    error, took = waited(recorded("not-found-alert-gone"), lens.PAGE_STATE_JS, UNKNOWN)
    assert error is not None and took < _page.BLANK_FOR_S + 2.0 < _page.DRAW_WITHIN_S
    assert error.words == "the page finished loading and shows neither the trace nor an error"


def test_a_page_still_loading_at_the_bound_is_not_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_page, "DRAW_WITHIN_S", 1.0)
    error, took = waited(recorded("loading-under-last-alert"), lens.PAGE_STATE_JS, DRAWN)
    assert error is not None and error.words == "the trace was not drawn within 1 s (no error on the page)"
    assert 1.0 <= took < 3.0
