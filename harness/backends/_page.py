"""What every UI reader does while a trace page loads: ask the page, a few times a second, what it
shows — by a script of the reader's own (each UI draws a trace, an error and its loading its own
way) — and return once the trace is drawn; else say early, in the page's own words, why it is not.

The script gets one argument (the reader's choice, e.g. the trace id) and returns one of
  {state: 'drawn'}                     the trace is drawn: its header names it and its span rows are there
  {state: 'error', words: '...'}      the UI shows an error message in the trace's place
  {state: 'empty'}                     the UI has finished loading and shows nothing in the trace's place
  {state: 'blank'}                     the UI itself shows nothing (after a script error: it threw while drawing)
  {state: 'loading'}                   anything else: not settled yet
"""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import Page

from ..model import TraceNotDrawnError, script_error_words

DRAW_WITHIN_S = 15.0  # the trace page is drawn by then, or it is not drawn
ERROR_FOR_S = 0.3  # an error in the trace's place is believed once it stays this long: a
#                    page between two traces may show, for a frame, the last one's message and no trace
BLANK_FOR_S = 1.5  # after a script error, a page blank this long stays blank
POLL_S = 0.1
ANSWER_WITHIN_S = 3.0  # a tab that does not run a trivial script by then has stopped answering
MAX_WORDS = 200


class _Thrown:
    """What the page's script throws while it is watched, as `Name: message` lines."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []

    def __enter__(self) -> list[str]:
        self.page.on("pageerror", self._seen)
        return self.errors

    def __exit__(self, *_: object) -> None:
        self.page.remove_listener("pageerror", self._seen)

    def _seen(self, error: Exception) -> None:
        self.errors.append(script_error_words(error)[:300])


def _words(state: dict[str, Any]) -> str:
    return " ".join(str(state.get("words") or "").split())[:MAX_WORDS]


async def wait_until_drawn(page: Page, state_js: str, arg: Any, within: float | None = None) -> None:
    """Return once `state_js` says the trace is drawn; else TraceNotDrawnError in the page's own
    words: its error message, the error its script threw when it stays blank, that it settled on
    nothing, or that it never drew within `within` seconds (DRAW_WITHIN_S)."""
    within = DRAW_WITHIN_S if within is None else within
    clock = asyncio.get_running_loop().time
    with _Thrown(page) as thrown:
        try:
            deadline = clock() + within
            since: dict[str, float] = {}  # each state: since when it has been read without a break
            while (now := clock()) < deadline:
                state = await asyncio.wait_for(page.evaluate(state_js, arg), ANSWER_WITHIN_S)
                name = str(state.get("state"))
                if name == "drawn":
                    return
                since = {name: since.get(name, now)}
                held = now - since[name]
                if name == "error" and held >= ERROR_FOR_S:
                    raise TraceNotDrawnError(f"the page shows an error instead of the trace: {_words(state)}",
                                             list(thrown))
                if name == "empty" and held >= BLANK_FOR_S:
                    raise TraceNotDrawnError("the page finished loading and shows neither the trace nor an error"
                                             + (f"; its script threw {thrown[0]}" if thrown else ""), list(thrown))
                if name == "blank" and thrown and held >= BLANK_FOR_S:
                    raise TraceNotDrawnError(f"the page is blank: its script threw {thrown[0]}", list(thrown))
                await asyncio.sleep(POLL_S)
            raise TraceNotDrawnError(f"the trace was not drawn within {within:.0f} s"
                                     + (f"; its script threw {thrown[0]}" if thrown else " (no error on the page)"),
                                     list(thrown))
        except asyncio.TimeoutError:
            raise TraceNotDrawnError(f"the tab stopped answering while the trace page loaded (no answer within "
                                     f"{ANSWER_WITHIN_S:.0f} s)", list(thrown)) from None
