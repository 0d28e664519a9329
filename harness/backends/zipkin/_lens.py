"""Zipkin Lens (inside the pinned Zipkin jar, at /zipkin/): what a person sees of a span's links.

Zipkin has no link field; the collector writes each link as a tag `otlp.link.<i>`, and Lens shows
it as a raw tag row in the span's detail: ids and attributes as text, nothing to click.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from playwright.async_api import Locator, Page

from ...model import ShownLink, ShownSpan, SpanToShow
from .._page import wait_until_drawn

LINK_TAG = re.compile(r"^otlp\.link\.(\d+)$")
SCROLL_POLLS, SCROLL_POLL_MS = 4, 25  # after a scroll, how long Lens gets to draw the rows now in view
DETAIL_POLLS = 20  # after a click, how many times (SCROLL_POLL_MS apart) the detail panel is read
HEX32, HEX16 = re.compile(r"^[0-9a-f]{32}$"), re.compile(r"^[0-9a-f]{16}$")
HOW = ("open `/zipkin/traces/<trace id>`, click the linking span's row; each link is a tag `otlp.link.<i>` "
       "reading `traceId|spanId|traceState|attributes as JSON|dropped attributes count` (text, nothing to click: "
       "copy the trace id into the search box)")

# The next trace in the same page, the way Lens's own links go there: its router follows the
# history, without loading and compiling its 2.5 MB bundle again (measured: 0.12 s instead of 0.5 s).
# Only while Lens is there: after its script threw while drawing, its root is empty for good and
# nothing follows the history (false: the page is to be loaded afresh).
NAVIGATE_JS = """url => { if (!document.querySelector('#root main')) { return false; }
                         history.pushState(null, '', url);
                         window.dispatchEvent(new PopStateEvent('popstate', {state: null}));
                         return true; }"""

# Lens draws only the rows of its span list that are in view (the rest are not in the page until
# scrolled to): scroll the list, whose container is the scrollable ancestor of a row, to `top`;
# returns how far it can go.
SCROLL_JS = """async ([service, top]) => {
  const scrolls = e => e.scrollHeight > e.clientHeight + 1 && /(auto|scroll)/.test(getComputedStyle(e).overflowY);
  const prefix = service.toLowerCase() + ': ';
  for (const row of document.querySelectorAll('*')) {
    if (row.children.length || !row.textContent.trim().toLowerCase().startsWith(prefix)) { continue; }
    let box = row.parentElement;
    while (box && !scrolls(box)) { box = box.parentElement; }
    if (!box) { continue; }  // the page's title names a span too, outside the list
    box.scrollTop = top;
    // Lens draws the rows now in view on the next frames: come back after two of them.
    await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
    return {end: box.scrollHeight - box.clientHeight, step: Math.max(box.clientHeight - 60, 60)};
  }
  return {end: 0, step: 0};
}"""

# Whether the trace page is drawn (its header names the trace and its span list has rows), shows
# Lens's own message in the trace's place, shows nothing (Lens finished loading: its "No trace
# found" message is gone after 3 s), or is blank (Lens's root has nothing in it: its script threw
# while drawing); the states `wait_until_drawn` knows. A message alone is not enough: going from
# one trace to the next in the same page, Lens shows "No trace found" while the next one loads.
# As recorded in tests/fixtures/zipkin-lens-3.6.1.
PAGE_STATE_JS = """
(traceId) => {
  const root = document.getElementById('root');
  if (!root || !root.innerText.trim()) return {state: 'blank'};
  const main = root.querySelector('main');
  if (!main) return {state: 'loading'};
  const named = [...main.querySelectorAll('*')].some(e => !e.children.length && e.textContent.trim() === traceId);
  const rows = [...main.querySelectorAll('[style*="position: absolute"]')].some(e => e.textContent.trim());
  if (named && rows) return {state: 'drawn'};
  if (main.querySelector('[data-testid="loading-indicator"]') || main.innerText.trim()) return {state: 'loading'};
  const message = document.querySelector('[role="alert"]');
  return message ? {state: 'error', words: message.innerText} : {state: 'empty'};
}
"""

# The open span's detail panel: its labelled fields and its tag table.
DETAIL_JS = """
() => {
  const field = (name) => {
    const label = [...document.querySelectorAll('span')].find(e => e.textContent.trim() === name);
    const value = label && label.nextElementSibling;
    return value ? value.textContent.trim() : null;
  };
  const rows = [...document.querySelectorAll('table tr')]
    .map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent));
  return {span_id: field('Span ID'), parent_id: field('Parent ID'), tags: rows.filter(row => row.length === 2)};
}
"""


def shown_links(tags: list[list[str]]) -> list[ShownLink]:
    """The otlp.link.<i> tag rows, in their order, as a person reads them: one text
    `trace id|span id|trace state|attributes as JSON|dropped attribute count`."""
    numbered = sorted((int(match[1]), value) for key, value in tags if (match := LINK_TAG.match(key.strip())))
    links = []
    for _, value in numbered:
        trace_id, span_id, _, written, *_ = [*value.split("|", 3), "", "", "", ""]
        links.append(ShownLink(text=value, span_id=span_id if HEX16.match(span_id) else "",
                               trace_id=trace_id if HEX32.match(trace_id) else "",
                               attributes=_attributes(written.rsplit("|", 1)[0])))
    return links


def _attributes(written: str) -> dict[str, str]:
    """The JSON object in a link's text, each value exactly as the page writes it: a string's
    characters between its quotes (escapes and all: Go writes `<` as `\\u003c`), the rest as JSON text."""
    decoder = json.JSONDecoder()
    attributes: dict[str, str] = {}
    at = _skip(written, 0)
    if not written.startswith("{", at):
        return {}
    at = _skip(written, at + 1)
    try:
        while at < len(written) and written[at] != "}":
            key, at = decoder.raw_decode(written, at)
            at = _skip(written, at)
            if written[at] != ":":
                return {}
            start = _skip(written, at + 1)
            _, at = decoder.raw_decode(written, start)
            raw = written[start:at]
            attributes[str(key)] = raw[1:-1] if raw.startswith('"') else raw
            at = _skip(written, at)
            at = _skip(written, at + 1) if written.startswith(",", at) else at
    except (ValueError, IndexError):
        return {}
    return attributes if written.startswith("}", at) else {}


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


async def _row(page: Page, service: str, rows: Locator) -> tuple[Locator | None, bool]:
    """The span's row (the last match: the page's title may name the root span too), scrolling
    the list from its top to its end until Lens draws it; None when no part of the list has it.
    And whether the list was scrolled to find it."""
    if await rows.count():
        return rows.last, False
    top, end = 0, 0
    while True:
        place = await page.evaluate(SCROLL_JS, [service, top])
        end, step = int(place["end"]), int(place["step"])
        for _ in range(SCROLL_POLLS):  # its rows follow the scroll on the next frames
            if await rows.count():
                return rows.last, True
            await page.wait_for_timeout(SCROLL_POLL_MS)
        if not step or top >= end:
            return None, True
        top = min(top + step, end)


async def _detail(page: Page, span_id: str) -> dict[str, Any]:
    """The open span's detail panel, once it shows the span clicked (it follows on the next frames)."""
    detail: dict[str, Any] = {}
    for _ in range(DETAIL_POLLS):
        detail = await page.evaluate(DETAIL_JS)
        if detail.get("span_id") == span_id:
            break
        await page.wait_for_timeout(SCROLL_POLL_MS)
    return detail


async def render(page: Page, base_url: str, trace_id: str, spans: Sequence[SpanToShow],
                 screenshot: Path) -> dict[str, ShownSpan]:
    same_page = page.url.startswith(f"{base_url}/zipkin/")
    if not (same_page and await page.evaluate(NAVIGATE_JS, f"/zipkin/traces/{trace_id}")):
        await page.goto(f"{base_url}/zipkin/traces/{trace_id}", wait_until="domcontentloaded")
    await wait_until_drawn(page, PAGE_STATE_JS, trace_id)  # its header and the rows of its span list
    shown: dict[str, ShownSpan] = {}
    first, scrolled = True, False
    for span in spans:
        label = re.compile(rf"^\s*{re.escape(span.service)}: {re.escape(span.name)}\s*$", re.IGNORECASE)
        row, moved = await _row(page, span.service, page.get_by_text(label))
        scrolled = scrolled or moved
        if row is None:
            shown[span.span_id] = ShownSpan(span.span_id)
            continue
        # A real mouse click on the row. While the list has not been scrolled its rows do not move:
        # no need to wait for one to stay still over two frames (measured ~0.07 s less per page);
        # once it has, a row may still be moving, and a click then could open its neighbour.
        await row.click(force=not scrolled)
        detail = await _detail(page, span.span_id)
        if detail.get("span_id") != span.span_id:
            shown[span.span_id] = ShownSpan(span.span_id)
            continue
        parent = detail.get("parent_id") or ""
        shown[span.span_id] = ShownSpan(span.span_id, found=True, parent="" if parent == "none" else parent,
                                        links=shown_links(detail.get("tags") or []))
        if span.open_links and first:
            await page.screenshot(path=str(screenshot), full_page=True, quality=80)
            first = False
    if first:
        await page.screenshot(path=str(screenshot), full_page=True, quality=80)
    return shown
