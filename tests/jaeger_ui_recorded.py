"""What the real Jaeger UI (jaeger-ui v1.76.0, the UI of Jaeger 2.13.0) showed for link cases,
recorded in tests/fixtures/jaeger-ui-1.76.0 (eight cases; its README lists the facts) and
tests/fixtures/jaeger-ui-1.76.0-more (cases recorded here since): the recorded pages read by the
same script as a live page, and the verdicts they give. tests/fixtures/jaeger-ui-1.76.0-shapes
holds link shapes that break the trace page, recorded by a run of jaeger_ui_shapes/ (e2e)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from harness.backends.jaeger import _ui as jaeger_ui
from harness.judge._features import page_check_of
from harness.judge._page_checks import RenderSubject
from harness.model._shown import ShownSpan, TracePage
from harness.model._spans import Link, Span
from harness.render._browser import browser

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "jaeger-ui-1.76.0"
MORE = FIXTURES.with_name("jaeger-ui-1.76.0-more")
SHAPES = FIXTURES.with_name("jaeger-ui-1.76.0-shapes")


def cases_in(folder: Path) -> dict[str, dict[str, Any]]:
    cases: dict[str, dict[str, Any]] = json.loads((folder / "cases.json").read_text())["cases"]
    return cases


CASES = cases_in(FIXTURES)
CASES_MORE = cases_in(MORE)
CASES_SHAPES = cases_in(SHAPES)
FOLLOWING = ("arrived", "after_following")  # what following a link found, not what the page showed of it


def shape_scenario(case: str) -> str:
    """The scenario (tests/e2e/jaeger_ui_shapes) a shape was recorded from: self_link → shapes-self-link."""
    return "shapes-" + case.replace("_", "-")


def as_seen(shown: dict[str, Any]) -> dict[str, Any]:
    """A shown span's facts (ShownSpan.to_json) as the page showed them, before any link was followed."""
    return {**shown, "links": [{key: value for key, value in link.items() if key not in FOLLOWING}
                               for link in shown["links"]]}


def spans_of(case: str, folder: Path = FIXTURES) -> list[Span]:
    return [Span(span["trace_id"], span["span_id"], span["name"], span["parent_span_id"] or "",
                 tuple(Link(link["trace_id"], link["span_id"], attributes=link.get("attributes") or {})
                       for link in span["links"]))
            for span in cases_in(folder)[case]["spans"]]


async def _read_all(folder: Path) -> dict[str, dict[str, ShownSpan]]:
    shown = {}
    async with browser() as opened:
        page = await opened.new_page()
        for case in cases_in(folder):
            await page.set_content((folder / f"{case}.dom.html").read_text())
            shown[case] = await jaeger_ui.extract(page, [span.span_id for span in spans_of(case, folder)])
    return shown


def read_recorded(folder: Path = FIXTURES) -> dict[str, dict[str, ShownSpan]]:
    """Case → span id → what the recorded page shows of it."""
    return asyncio.run(_read_all(folder))


def verdict(case: str, feature: str, shown: dict[str, dict[str, ShownSpan]], folder: Path = FIXTURES) -> str:
    spans = spans_of(case, folder)
    linking = [span for span in spans if span.links]
    # The recorded pages drew their trace (each DOM is the drawn timeline): the pages the render stage opens.
    pages = {span.trace_id: TracePage(span.trace_id) for span in linking}
    subject = RenderSubject(linking, {span.key: span for span in spans}, shown[case],
                            {span.key: span.name for span in spans}, pages)
    judge = page_check_of(feature)
    assert judge is not None
    outcome = judge(subject)
    return "not judged" if outcome is None else outcome.verdict


def linking(case: str, shown: dict[str, dict[str, ShownSpan]]) -> ShownSpan:
    return shown[case][CASES[case]["linking_span"]["span_id"]]
