"""Jaeger UI (the real one: the official image, or UI assets given to a local Jaeger): what a
person sees of a span's links. Links are the span's References (the parent's CHILD_OF
reference is listed among them); a same-trace target is a button that scrolls to it, a
cross-trace one a link to `/trace/<id>?uiFind=<span>`; rows referenced by a same-trace span get
an icon. The facts are read off the DOM by one script, the same for a live page and for the
recorded pages in tests/fixtures/jaeger-ui-1.76.0."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Any

from playwright.async_api import Page

from ...model import ShownLink, ShownSpan, SpanToShow
from .._page import ANSWER_WITHIN_S, wait_until_drawn

PLACEHOLDER = "This is not the Jaeger UI you are looking for"
ANOTHER_TRACE = "< span in another trace >"
HOW = ("open `/trace/<trace id>`, click the linking span's name, open its References: each link is a row (the "
       "target's service and operation when it is in this trace); click it to go to the target, in this trace or "
       "another")

# A row's icons, in the UI's own order: "Contains multiple references" (a git-network glyph; only
# on a span with more than one reference), then "This span is referenced by another span / multiple
# other spans" (a cloud-upload glyph). Either is a link to one span, or a dropdown when there are several.
EXTRACT_JS = """
(ids) => {
const NETWORK_GLYPH = 'M448 96a64 64';
const referencedBy = (row) => {
  const icons = [...row.querySelectorAll('.ReferencesButton-MultiParent')];
  const isNetwork = (icon) => [...icon.querySelectorAll('path')]
    .some(path => (path.getAttribute('d') || '').startsWith(NETWORK_GLYPH));
  return icons.length === 2 || (icons.length === 1 && !isNetwork(icons[0]));
};
return ids.map(id => {
  const row = document.querySelector(`[data-item-key="${id}--bar"]`);
  if (!row) return {span_id: id, found: false};
  const guides = row.querySelectorAll('.SpanTreeOffset--indentGuide');
  const last = guides.length ? guides[guides.length - 1].getAttribute('data-ancestor-id') : null;
  const detail = document.querySelector(`[data-item-key="${id}--detail"]`);
  const items = detail ? [...detail.querySelectorAll('.ReferencesList--Item')] : [];
  const labelled = (item, name) => {
    const element = item.querySelector(`[data-label="${name}"]`);
    return element ? element.textContent.trim() : '';
  };
  const text = (item, selector) => {
    const element = item.querySelector(selector);
    return element ? element.textContent.trim() : '';
  };
  return {
    span_id: id, found: true, parent: last === 'root' ? '' : last,
    marked: referencedBy(row),
    detail_open: !!detail,
    references: items.map(item => {
      const anchor = item.querySelector('a');
      return {type: labelled(item, 'Reference Type:'), span_id: labelled(item, 'SpanID:'),
              service: text(item, '.span-svc-name'), operation: text(item, '.endpoint-name'),
              text: item.textContent.trim(), href: anchor ? (anchor.getAttribute('href') || '') : '',
              clickable: !!(anchor && anchor.getAttribute('role') === 'button'),
              attributes: Object.fromEntries([...item.querySelectorAll('tr')]
                .map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent.trim()))
                .filter(cells => cells.length === 2))};
    }),
  };
});
}
"""


LINK_TYPE = "FOLLOWS_FROM"  # how the UI labels a link; any other label is another relation


def shown_span(facts: dict[str, Any]) -> ShownSpan:
    """Page facts → a ShownSpan. The parent's CHILD_OF reference (the one to the span it is drawn
    under) is not a link; every other item of References is, whatever its label (a link Jaeger's
    model turned into a second CHILD_OF reference is listed there too, as another relation)."""
    if not facts.get("found"):
        return ShownSpan(str(facts["span_id"]))
    links = []
    parent = facts.get("parent")
    parent_seen = False
    for reference in facts.get("references") or []:
        is_parent = reference["type"] == "CHILD_OF" and not parent_seen and bool(parent) \
            and reference["span_id"] == parent
        if is_parent:
            parent_seen = True
            continue
        other_trace = reference["service"] == ANOTHER_TRACE
        names = "" if other_trace else " ".join(filter(None, [reference["service"], reference["operation"]]))
        links.append(ShownLink(text=reference["text"], span_id=reference["span_id"], names=names,
                               href=reference["href"], clickable=reference["clickable"],
                               attributes=reference.get("attributes") or {},
                               relation="" if reference["type"] == LINK_TYPE else reference["type"]))
    return ShownSpan(str(facts["span_id"]), found=True, parent=facts.get("parent"), links=links,
                     marked_as_target=bool(facts.get("marked")))


async def extract(page: Page, span_ids: Sequence[str]) -> dict[str, ShownSpan]:
    facts = await page.evaluate(EXTRACT_JS, list(span_ids))
    return {item["span_id"]: shown_span(item) for item in facts}


async def _open_references(page: Page, span_id: str) -> None:
    """Open the span's detail, then its References section (it starts collapsed)."""
    detail = page.locator(f'[data-item-key="{span_id}--detail"]')
    if not await detail.count():
        await page.locator(f'[data-item-key="{span_id}--bar"] .span-name').click()
        await detail.wait_for()
    header = detail.locator(".AccordianReferences--header")
    if await header.count() and "is-open" not in (await header.get_attribute("class") or ""):
        await header.click()
        await detail.locator(".ReferencesList--Item").first.wait_for()


# After following a link: the target's row marked as the one sought (uiFind), or the page's error.
ARRIVED_JS = """
(spanId) => {
  const row = document.querySelector(`[data-item-key="${spanId}--bar"]`);
  if (row && row.querySelector('.is-matching-filter')) {
    return {arrived: true, words: 'the target span is shown, marked'};
  }
  const error = document.querySelector('[class^="ErrorMessage"]');
  const text = error ? error.textContent : (document.body.innerText.match(/HTTP Error[^\\n]*/) || [''])[0];
  if (text) return {arrived: false, words: text.replace(/\\s+/g, ' ').trim().slice(0, 200)};
  return null;
}
"""
FOLLOW_TIMEOUT_MS = 10_000  # a followed link that shows neither its target nor an error by then did not arrive
MAX_FOLLOWED = 5  # links of each kind (click, href) followed per page


async def _arrival(page: Page, span_id: str) -> tuple[bool, str]:
    """Wait until the page shows the target marked, or an error; say which, in the page's words."""
    try:
        handle = await page.wait_for_function(ARRIVED_JS, arg=span_id, timeout=FOLLOW_TIMEOUT_MS)
        facts = await handle.json_value()
        return bool(facts["arrived"]), str(facts["words"])
    except Exception:
        found = await page.locator(f'[data-item-key="{span_id}--bar"]').count() if not page.is_closed() else 0
        return False, ("the target span is shown, but not marked as the one sought" if found else
                       f"neither the target span nor an error after {FOLLOW_TIMEOUT_MS // 1000} s")


async def _click(page: Page, span_id: str, link: ShownLink) -> None:
    """A same-trace reference: click it on the page, and see which row it marks. The click before
    opened the target's detail and closed the linking span's: it is opened again first."""
    await _open_references(page, span_id)
    item = page.locator(f'[data-item-key="{span_id}--detail"] .ReferencesList--Item',
                        has_text=link.span_id).first.locator("a").first
    await item.click(timeout=FOLLOW_TIMEOUT_MS)
    link.arrived, link.after_following = await _arrival(page, link.span_id)


async def _open_href(page: Page, base_url: str, link: ShownLink) -> None:
    """A cross-trace reference opens a new tab: its href loaded afresh (in this tab: the trace's own
    page is read and pictured already), and what that page shows."""
    await page.goto(base_url + link.href, wait_until="domcontentloaded", timeout=FOLLOW_TIMEOUT_MS)
    link.arrived, link.after_following = await _arrival(page, link.span_id)


class TabStoppedAnsweringError(Exception):
    """Following a link left the tab's main thread busy for good: nothing more can be read from it."""


async def _answers(page: Page) -> bool:
    try:
        return bool(await asyncio.wait_for(page.evaluate("1 + 1"), ANSWER_WITHIN_S) == 2)
    except Exception:
        return False


async def _guarded(page: Page, link: ShownLink, step: Awaitable[None]) -> None:
    """Follow one link; when it fails, tell a click that missed from a tab that stopped answering."""
    try:
        await step
    except Exception as error:  # a link that cannot be followed did not arrive: say why
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        if not await _answers(page):
            link.arrived = False
            link.after_following = (f"the tab stopped answering after following it (its script did not run "
                                    f"within {ANSWER_WITHIN_S:.0f} s; {first[:120]})")
            raise TabStoppedAnsweringError(link.after_following) from None
        link.arrived, link.after_following = False, f"following it failed: {first[:200]}"


async def follow_links(page: Page, base_url: str, shown: dict[str, ShownSpan]) -> None:
    """Every shown link of the linking spans followed as a person would: the clicks on this page
    first, then each link to another trace in a page load of its own."""
    links = [(span.span_id, link) for span in shown.values() for link in span.links if link.span_id]
    # A few of each kind per page, as a person would try them (a span with a thousand links to
    # other traces would otherwise load a thousand pages); the rest are judged by what they offer.
    clicks = [item for item in links if item[1].clickable][:MAX_FOLLOWED]
    hrefs = [item for item in links if not item[1].clickable and item[1].href.startswith("/")][:MAX_FOLLOWED]
    links = clicks + hrefs
    try:
        for span_id, link in links:
            if link.clickable:
                await _guarded(page, link, _click(page, span_id, link))
        for _, link in links:
            if not link.clickable and link.href.startswith("/"):
                await _guarded(page, link, _open_href(page, base_url, link))
    except TabStoppedAnsweringError as hung:  # the rest cannot be followed in this tab: said on each
        for _, link in links:
            if link.arrived is None:
                link.after_following = f"not followed: {hung}"


# Whether the trace page is drawn, shows an error in its place, or is blank (the UI's root has
# nothing in it: its script threw while drawing): the states `wait_until_drawn` knows.
PAGE_STATE_JS = """
(traceId) => {
  const header = [...document.querySelectorAll('.TracePageHeader small')]
    .some(e => e.textContent.trim().length >= 7 && traceId.startsWith(e.textContent.trim()));
  if (header && document.querySelector('.span-row')) return {state: 'drawn'};
  const error = document.querySelector('[class^="ErrorMessage"]');
  if (error) return {state: 'error', words: error.textContent.replace(/\\s+/g, ' ').trim().slice(0, 200)};
  const root = document.getElementById('jaeger-ui-root');
  const blank = !document.body.innerText.trim() || (root && !root.innerText.trim());
  return {state: blank ? 'blank' : 'loading'};
}
"""


async def render(page: Page, base_url: str, trace_id: str, spans: Sequence[SpanToShow],
                 screenshot: Path) -> dict[str, ShownSpan]:
    await page.goto(f"{base_url}/trace/{trace_id}", wait_until="domcontentloaded")
    await wait_until_drawn(page, PAGE_STATE_JS, trace_id)
    for span in spans:
        if span.open_links and await page.locator(f'[data-item-key="{span.span_id}--bar"]').count():
            await _open_references(page, span.span_id)
    shown = await extract(page, [span.span_id for span in spans])
    await page.screenshot(path=str(screenshot), full_page=True, quality=80)
    linking = {span.span_id for span in spans if span.open_links}
    await follow_links(page, base_url, {span_id: item for span_id, item in shown.items() if span_id in linking})
    return shown
