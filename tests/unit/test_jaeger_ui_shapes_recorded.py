"""Link shapes that break Jaeger UI 1.76.0's trace page, as a real run recorded them
(tests/fixtures/jaeger-ui-1.76.0-shapes; its README says how): the recorded page facts give the
recorded verdicts; the recorded pages, loaded into one headless Chromium, are read by the same
scripts as a live page (the page-state check, `extract`) and give those facts; the recorded API
answers say what the README says."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import pytest

from harness.backends.jaeger import _ui as jaeger_ui
from harness.judge._features import page_check_of
from harness.judge._page_checks import RenderSubject
from harness.model import RENDER_LINK_SHOWN, RENDER_TARGET_NAVIGABLE, RENDER_TRACE_SHOWN
from harness.model._shown import ShownLink, ShownSpan, TracePage
from harness.model._spans import Link, Span
from harness.render._browser import browser

from ..browser import requires_browser
from ..jaeger_ui_recorded import CASES_SHAPES as CASES
from ..jaeger_ui_recorded import SHAPES as FOLDER
from ..jaeger_ui_recorded import as_seen

DRAWN = sorted(name for name, case in CASES.items() if all(page["drawn"] for page in case["pages"].values()))
BLANK = sorted(set(CASES) - set(DRAWN))
NO_SUCH_TRACE = "0123456789abcdef0123456789abcdef"


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


def ids(name: str) -> dict[str, tuple[str, str]]:
    """Span name → (trace id, span id), as the run sent it."""
    return {span["name"]: (span["trace_id"], span["span_id"]) for span in CASES[name]["spans"]}


def trace_of(name: str) -> str:
    (trace_id,) = CASES[name]["pages"]
    return str(trace_id)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("feature", [RENDER_TRACE_SHOWN, RENDER_LINK_SHOWN, RENDER_TARGET_NAVIGABLE])
def test_recorded_facts_give_the_recorded_verdicts(name: str, feature: str) -> None:
    outcome = page_check_of(feature)(subject(CASES[name]))
    assert outcome is not None and outcome.verdict == CASES[name]["verdicts"][feature]


def test_a_blank_page_is_told_in_the_words_of_its_script_error() -> None:
    assert BLANK == ["root_links_child", "two_roots_cycle"]
    for name in BLANK:
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


# --- the recorded pages, read by the live page's scripts ---------------------------------------

@dataclass
class ReadPage:
    state: str  # PAGE_STATE_JS on <case>.root.dom.html, asked about the case's trace
    state_for_another_trace: str  # the same page, asked about a trace it is not
    references: dict[str, list[tuple[str, str]]]  # span id → its References items (type, span id)
    shown: dict[str, ShownSpan]  # span id → what `extract` reads


async def _read(page: Any, name: str) -> ReadPage:
    span_ids = [span["span_id"] for span in CASES[name]["spans"]]
    await page.set_content((FOLDER / f"{name}.root.dom.html").read_text())
    state = (await page.evaluate(jaeger_ui.PAGE_STATE_JS, trace_of(name)))["state"]
    elsewhere = (await page.evaluate(jaeger_ui.PAGE_STATE_JS, NO_SUCH_TRACE))["state"]
    timeline = FOLDER / f"{name}.dom.html"  # a blank page has none: its facts are read off the blank root
    if timeline.exists():
        await page.set_content(timeline.read_text())
    facts = await page.evaluate(jaeger_ui.EXTRACT_JS, span_ids)
    references = {item["span_id"]: [(ref["type"], ref["span_id"]) for ref in item.get("references") or []]
                  for item in facts}
    return ReadPage(state, elsewhere, references, {item["span_id"]: jaeger_ui.shown_span(item) for item in facts})


async def _read_all() -> dict[str, ReadPage]:
    async with browser() as opened:  # one browser, one page, every case
        page = await opened.new_page()
        return {name: await _read(page, name) for name in sorted(CASES)}


@pytest.fixture(scope="module")
def read() -> dict[str, ReadPage]:
    return asyncio.run(_read_all())


@requires_browser
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_page_state_check_tells_the_recorded_page_as_the_run_did(name: str, read: dict[str, ReadPage]) -> None:
    assert read[name].state == ("drawn" if name in DRAWN else "blank")


@requires_browser
@pytest.mark.parametrize("name", DRAWN)
def test_a_drawn_page_is_drawn_only_for_its_own_trace(name: str, read: dict[str, ReadPage]) -> None:
    assert read[name].state_for_another_trace != "drawn"


@requires_browser
@pytest.mark.parametrize("name", BLANK)
def test_a_blank_page_has_an_empty_root_and_none_of_its_spans(name: str, read: dict[str, ReadPage]) -> None:
    assert (FOLDER / f"{name}.root.dom.html").read_text().strip() == '<div id="jaeger-ui-root"></div>'
    assert not any(span.found for span in read[name].shown.values())


@requires_browser
@pytest.mark.parametrize("name", DRAWN)
def test_extract_on_the_recorded_dom_gives_the_recorded_shown_facts(name: str, read: dict[str, ReadPage]) -> None:
    assert CASES[name]["shown"]
    for facts in CASES[name]["shown"].values():
        assert read[name].shown[facts["span_id"]].to_json() == as_seen(facts)


@requires_browser
def test_a_self_link_is_listed_after_the_parent_as_follows_from_to_the_span_itself(read: dict[str, ReadPage]) -> None:
    span = ids("self_link")
    self_id, parent_id = span["l-self"][1], span["l-root"][1]
    assert read["self_link"].references[self_id] == [("CHILD_OF", parent_id), ("FOLLOWS_FROM", self_id)]
    (link,) = read["self_link"].shown[self_id].links
    assert (link.names, link.clickable, link.relation) == ("linkmatrix-shapes-self-link l-self", True, "")
    assert read["self_link"].shown[self_id].marked_as_target  # its row says something references it: itself


@requires_browser
def test_child_of_links_are_listed_as_child_of_beside_the_parent(read: dict[str, ReadPage]) -> None:
    span = ids("child_of_ref")
    child = span["k-child"][1]
    assert read["child_of_ref"].references[child] == [
        ("CHILD_OF", span["k-root"][1]), ("CHILD_OF", span["k-sibling"][1]), ("CHILD_OF", span["o-root"][1])]
    sibling, other = read["child_of_ref"].shown[child].links
    assert (sibling.relation, sibling.names, sibling.clickable) == \
        ("CHILD_OF", "linkmatrix-shapes-child-of-ref k-sibling", True)
    assert (other.relation, other.names, jaeger_ui.ANOTHER_TRACE in other.text) == ("CHILD_OF", "", True)
    assert other.href == f"/trace/{span['o-root'][0]}?uiFind={span['o-root'][1]}"


# --- the recorded API answers -------------------------------------------------------------------

def api_traces(name: str) -> dict[str, list[tuple[str, str, str]]]:
    """Operation → its references in GET /api/traces/<id>: (type, trace id, span id)."""
    (trace,) = json.loads((FOLDER / f"{name}.api_traces.json").read_text())["data"]
    return {span["operationName"]: [(ref["refType"], ref["traceID"], ref["spanID"]) for ref in span["references"]]
            for span in trace["spans"]}


def api_v3(name: str) -> dict[str, dict[str, Any]]:
    """Span name → the span in GET /api/v3/traces/<id> (OTLP JSON)."""
    answer = json.loads((FOLDER / f"{name}.api_v3.json").read_text())["result"]
    return {span["name"]: span for resource in answer["resourceSpans"] for scope in resource["scopeSpans"]
            for span in scope["spans"]}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_api_answers_hold_the_spans_the_run_sent(name: str) -> None:
    """The answers, the facts and the verdicts come from one run: the same ids in each."""
    sent = {span_name: span_id for span_name, (trace_id, span_id) in ids(name).items() if trace_id == trace_of(name)}
    assert set(api_traces(name)) == set(sent)
    assert {span_name: span["spanId"] for span_name, span in api_v3(name).items()} == sent


def test_api_traces_turns_child_of_links_into_child_of_references() -> None:
    span = ids("child_of_ref")
    assert api_traces("child_of_ref")["k-child"] == [
        ("CHILD_OF", *span["k-root"]), ("CHILD_OF", *span["k-sibling"]), ("CHILD_OF", *span["o-root"])]
    links = api_v3("child_of_ref")["k-child"]["links"]  # /api/v3 keeps them as links, attribute and all
    assert [(link["spanId"], link["attributes"]) for link in links] == [
        (span[name][1], [{"key": "opentracing.ref_type", "value": {"stringValue": "child_of"}}])
        for name in ("k-sibling", "o-root")]


def test_api_traces_has_the_self_link_as_a_follows_from_reference_to_itself() -> None:
    span = ids("self_link")
    assert api_traces("self_link")["l-self"] == [("CHILD_OF", *span["l-root"]), ("FOLLOWS_FROM", *span["l-self"])]


def test_api_traces_has_the_blank_traces_whole_each_span_with_a_reference() -> None:
    """The API gave the UI every span and link; in both blank traces no span is without a reference
    (in the drawn ones the root has none)."""
    span = ids("root_links_child")
    assert api_traces("root_links_child") == {"s-root": [("FOLLOWS_FROM", *span["s-child"])],
                                              "s-child": [("CHILD_OF", *span["s-root"])]}
    span = ids("two_roots_cycle")
    assert api_traces("two_roots_cycle") == {"c-root-a": [("FOLLOWS_FROM", *span["c-root-b"])],
                                             "c-root-b": [("FOLLOWS_FROM", *span["c-root-a"])]}
    assert api_traces("self_link")["l-root"] == api_traces("child_of_ref")["k-root"] == []
