"""render.trace_shown: a trace page that is not drawn is one lost cell in the page's own words, the
other render cells of that trace say why, and the finding names the link shape in plain words."""

from __future__ import annotations

from harness.judge._features import page_check_of
from harness.judge._hops import link_shapes
from harness.judge._meaning import meaning
from harness.judge._page_checks import RenderSubject
from harness.model import RENDER_LINK_SHOWN, RENDER_TRACE_SHOWN, Emission
from harness.model._shown import ShownSpan, TracePage
from harness.model._spans import Link, Span

T = "1" * 32
ROOT, CHILD, OTHER_ROOT = "a" * 16, "b" * 16, "c" * 16
BLANK = "the page is blank: its script threw TypeError: Cannot read properties of undefined (reading 'spanID')"


def root_linking_its_child() -> list[Span]:
    return [Span(T, ROOT, "root", "", (Link(T, CHILD),)), Span(T, CHILD, "child", ROOT)]


def subject(spans: list[Span], shown: dict[str, ShownSpan], pages: dict[str, TracePage]) -> RenderSubject:
    return RenderSubject([span for span in spans if span.links], {span.key: span for span in spans}, shown,
                         {span.key: span.name for span in spans}, pages)


def test_a_blank_page_is_lost_in_its_own_words_and_the_links_say_the_page_was_not_drawn() -> None:
    spans = root_linking_its_child()
    blank = subject(spans, {}, {T: TracePage(T, drawn=False, words=BLANK)})
    outcome = page_check_of(RENDER_TRACE_SHOWN)(blank)
    assert outcome is not None and outcome.verdict == "lost"
    assert outcome.differences[0].kind == "not_drawn" and BLANK in outcome.differences[0].note
    assert blank.not_drawn() == {T: TracePage(T, drawn=False, words=BLANK)}
    link_shown = page_check_of(RENDER_LINK_SHOWN)(blank)
    assert link_shown is not None and link_shown.verdict == "lost"


def test_a_drawn_page_is_preserved_and_one_without_an_asked_span_is_degraded() -> None:
    spans = root_linking_its_child()
    shown = {ROOT: ShownSpan(ROOT, found=True, parent="")}
    drawn = page_check_of(RENDER_TRACE_SHOWN)(subject(spans, shown, {T: TracePage(T)}))
    assert drawn is not None and drawn.verdict == "preserved"
    partial = page_check_of(RENDER_TRACE_SHOWN)(subject(spans, shown, {T: TracePage(T, missing=[CHILD])}))
    assert partial is not None and partial.verdict == "degraded"
    assert page_check_of(RENDER_TRACE_SHOWN)(subject(spans, shown, {})) is None  # no page opened: nothing to judge


def emission(spans: list[Span]) -> Emission:
    return Emission(scenario="s", run_id="r", pipeline="collector", requested=spans, sdk=spans, labels={span.key: span.name for span in spans})


def test_link_shapes_in_plain_words() -> None:
    assert link_shapes(emission(root_linking_its_child()), {T}) == ["a root span that links its own child"]
    cycle = [Span(T, ROOT, "a", "", (Link(T, OTHER_ROOT),)), Span(T, OTHER_ROOT, "b", "", (Link(T, ROOT),))]
    assert link_shapes(emission(cycle), {T}) == ["two root spans that link each other", "a trace with 2 root spans"]
    itself = [Span(T, ROOT, "a", ""), Span(T, CHILD, "b", ROOT, (Link(T, CHILD),))]
    assert link_shapes(emission(itself), {T}) == ["a span that links itself"]


def test_the_finding_says_which_shape_blanks_the_page() -> None:
    cell = {"scenario": "s", "feature": RENDER_TRACE_SHOWN, "hop": "render", "verdict": "lost",
            "changed_at": ["render"],
            "evidence": {"link_shapes": ["a root span that links its own child"],
                         "difference": [{"path": "traces[x]", "note": f"not drawn: {BLANK}", "kind": "not_drawn"}]}}
    said = meaning(cell, "Jaeger UI", {})
    assert said.startswith("A root span that links its own child makes the trace page blank in Jaeger UI")
    other = {**cell, "feature": RENDER_LINK_SHOWN, "evidence": {"trace_not_drawn": {"x": BLANK}, "difference": []}}
    assert "did not draw the trace page" in meaning(other, "Jaeger UI", {})
