"""Link shapes that break Jaeger UI 1.76.0's trace page, as a real run recorded them
(tests/fixtures/jaeger-ui-1.76.0-shapes): the recorded page facts give the recorded verdicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.judge._features import page_check_of
from harness.judge._page_checks import RenderSubject
from harness.model import RENDER_LINK_SHOWN, RENDER_TARGET_NAVIGABLE, RENDER_TRACE_SHOWN
from harness.model._shown import ShownLink, ShownSpan, TracePage
from harness.model._spans import Link, Span

FOLDER = Path(__file__).resolve().parents[1] / "fixtures" / "jaeger-ui-1.76.0-shapes"
CASES: dict[str, dict[str, Any]] = json.loads((FOLDER / "cases.json").read_text())["cases"]


def plain(typed: dict[str, Any]) -> dict[str, Any]:
    """Attributes as the run wrote them ({"k": {"string": "v"}}) → their values."""
    return {key: next(iter(value.values())) if isinstance(value, dict) else value for key, value in typed.items()}


def subject(case: dict[str, Any]) -> RenderSubject:
    spans = [Span(s["trace_id"], s["span_id"], s["name"], s["parent_span_id"] or "",
                  tuple(Link(link["trace_id"], link["span_id"], attributes=plain(link["attributes"])) for link in s["links"]))
             for s in case["spans"]]
    labels = {span.key: span.name for span in spans}
    by_name = {span.name: span for span in spans}
    shown = {by_name[name.rsplit(".", 1)[-1]].span_id: ShownSpan(facts["span_id"], facts["found"], facts["parent"],
                                              [ShownLink(**link) for link in facts["links"]], facts["marked_as_target"])
             for name, facts in case["shown"].items()}
    pages = {trace_id: TracePage(**page) for trace_id, page in case["pages"].items()}
    return RenderSubject([span for span in spans if span.links], {span.key: span for span in spans}, shown, labels,
                         pages)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("feature", [RENDER_TRACE_SHOWN, RENDER_LINK_SHOWN, RENDER_TARGET_NAVIGABLE])
def test_recorded_facts_give_the_recorded_verdicts(name: str, feature: str) -> None:
    outcome = page_check_of(feature)(subject(CASES[name]))
    assert outcome is not None and outcome.verdict == CASES[name]["verdicts"][feature]


def test_a_blank_page_is_told_in_the_words_of_its_script_error() -> None:
    for name in ("root_links_child", "two_roots_cycle"):
        (page,) = CASES[name]["pages"].values()
        assert not page["drawn"] and "Cannot read properties of undefined (reading 'spanID')" in page["words"]


def test_following_a_self_link_hangs_the_tab_and_the_next_trace_gets_a_fresh_page() -> None:
    (page,) = CASES["self_link"]["pages"].values()
    assert page["drawn"] and "stopped answering" in page["after"]
    (linking,) = CASES["self_link"]["shown"].values()
    assert "the tab stopped answering after following it" in linking["links"][-1]["after_following"]


def test_a_child_of_link_is_shown_as_another_relation() -> None:
    outcome = page_check_of(RENDER_LINK_SHOWN)(subject(CASES["child_of_ref"]))
    assert outcome is not None and {d.kind for d in outcome.differences} == {"relation_changed"}
