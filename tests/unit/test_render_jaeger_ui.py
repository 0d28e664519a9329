"""Jaeger UI's render checks against what the real UI (jaeger-ui v1.76.0, the UI of Jaeger 2.13.0)
showed, recorded in tests/fixtures/jaeger-ui-1.76.0 (its README lists the facts; each is asserted
here). The recorded pages are loaded into the same headless Chromium and read by the same script
as a live page."""

from __future__ import annotations

import json

import pytest

from harness.model._shown import ShownSpan

from ..browser import requires_browser
from ..jaeger_ui_recorded import CASES, CASES_MORE, FIXTURES, MORE, linking, read_recorded, spans_of, verdict

pytestmark = requires_browser


@pytest.fixture(scope="module")
def shown() -> dict[str, dict[str, ShownSpan]]:
    return read_recorded()


def test_a_cross_trace_target_is_another_trace_with_a_link_to_it(shown: dict[str, dict[str, ShownSpan]]) -> None:
    b = linking("a_cross_trace", shown)
    assert b.parent == "f815f5e375905c89"  # nested under its parent, not under its link target
    (link,) = b.links  # References (2): the parent's CHILD_OF, then the link
    assert (link.span_id, link.names, link.clickable) == ("74e82aa1ca969031", "", False)
    assert link.href == "/trace/a321cc84ab7766818874a37523e8f0c4?uiFind=74e82aa1ca969031"
    assert "< span in another trace >" in link.text and "a321cc84" not in link.text  # no trace id as text
    assert verdict("a_cross_trace", "render.link_shown", shown) == "preserved"
    assert verdict("a_cross_trace", "render.target_identified", shown) == "degraded"
    assert verdict("a_cross_trace", "render.target_navigable", shown) == "preserved"
    assert verdict("a_cross_trace", "render.attributes_shown", shown) == "lost"
    assert verdict("a_cross_trace", "render.parent_kept", shown) == "preserved"


def test_b_same_trace_target_is_named_clickable_and_marked(shown: dict[str, dict[str, ShownSpan]]) -> None:
    (link,) = linking("b_same_trace", shown).links
    assert (link.names, link.clickable, link.href) == ("lm-b-sametrace b-child-A", True, "")
    a = shown["b_same_trace"]["039bd8b07a76d8d6"]
    assert a.marked_as_target and not a.links  # "referenced by another span"; no section of its own
    assert linking("b_same_trace", shown).parent == a.parent == "6694611946604fe9"  # B stays under R
    for feature in ("render.link_shown", "render.target_identified", "render.target_navigable",
                    "render.parent_kept", "render.target_marked"):
        assert verdict("b_same_trace", feature, shown) == "preserved", feature


def test_c_a_link_to_the_own_parent_merges_with_the_parent_reference(shown: dict[str, dict[str, ShownSpan]]) -> None:
    c = linking("c_own_parent", shown)
    (link,) = c.links  # References (1): FOLLOWS_FROM to R, no CHILD_OF
    assert (link.span_id, link.names) == ("34ff5962de36f67b", "lm-c-ownparent c-root-R")
    assert c.parent == "34ff5962de36f67b"  # still drawn under R
    assert not any(span.marked_as_target for span in shown["c_own_parent"].values())  # no row icons


def test_d_a_root_linking_another_trace_stays_the_root(shown: dict[str, dict[str, ShownSpan]]) -> None:
    d = linking("d_root_link", shown)
    assert d.parent == ""  # not nested under its link target, which is not in the trace
    (link,) = d.links
    assert link.href == "/trace/88e444c6947776f1ee28f111cde75ca5?uiFind=feccfb2580e8a107"
    assert verdict("d_root_link", "render.parent_kept", shown) == "preserved"


def test_d2_a_root_linking_its_own_trace_is_drawn_under_its_link_target(
        shown: dict[str, dict[str, ShownSpan]]) -> None:
    d = linking("d2_root_link_same_trace", shown)
    x = next(s for s in CASES["d2_root_link_same_trace"]["spans"] if s["name"] == "d2-upstream-X")
    assert d.parent == x["span_id"]  # the parentless D IS nested under X
    assert not shown["d2_root_link_same_trace"][x["span_id"]].marked_as_target  # only reference index > 0 counts
    assert verdict("d2_root_link_same_trace", "render.parent_kept", shown) == "degraded"
    assert verdict("d2_root_link_same_trace", "render.target_marked", shown) == "lost"


def test_e_fan_in_lists_every_target_in_link_order(shown: dict[str, dict[str, ShownSpan]]) -> None:
    consumer = linking("e_fan_in", shown)
    assert [link.span_id for link in consumer.links] == ["e78bbaecacb47d14", "077bd34e57f2a4af", "fdebd95f838a32f3"]
    assert all(link.href.endswith(f"?uiFind={link.span_id}") for link in consumer.links)
    assert len({link.href.split("?")[0] for link in consumer.links}) == 3  # three traces
    assert consumer.parent == ""  # the consumer is not nested under any target


def test_f_a_dangling_link_looks_like_any_cross_trace_link(shown: dict[str, dict[str, ShownSpan]]) -> None:
    (link,) = linking("f_dangling", shown).links
    assert link.href == "/trace/f15ec8b7204121e1ec5cc94b768ce03e?uiFind=2116b0eb4a45d09d"
    # a link… to "trace not found": its target was never exported, there is nowhere to arrive
    assert verdict("f_dangling", "render.target_navigable", shown) == "n/a"
    assert verdict("f_dangling", "render.target_marked", shown) == "not judged"  # no target was ever sent


def test_g_five_links_keep_their_order_and_same_trace_targets_are_marked(
        shown: dict[str, dict[str, ShownSpan]]) -> None:
    linker = linking("g_five_links", shown)
    sent = next(s for s in spans_of("g_five_links") if s.links)
    assert [link.span_id for link in linker.links] == [link.span_id for link in sent.links]
    assert [bool(link.names) for link in linker.links] == [True, False, True, False, False]  # siblings named
    siblings = [s for s in CASES["g_five_links"]["spans"] if s["name"].startswith("g-sibling")]
    assert all(shown["g_five_links"][s["span_id"]].marked_as_target for s in siblings)


def test_no_link_attribute_appears_anywhere(shown: dict[str, dict[str, ShownSpan]]) -> None:
    for case in CASES:
        page = (FIXTURES / f"{case}.dom.html").read_text()
        checked = json.loads((FIXTURES / f"{case}.facts.json").read_text())["link_attribute_strings_on_page"]
        assert checked["checked"] and not any(text in page for text in checked["checked"]), case
        if any(link.attributes for span in spans_of(case) for link in span.links):
            assert verdict(case, "render.attributes_shown", shown) == "lost", case


def test_a_target_linked_twice_is_marked_by_its_dropdown_icon() -> None:
    """Recorded here (tests/fixtures/jaeger-ui-1.76.0-more): referenced twice, the target's icon is
    a dropdown, the same element as the linking span's "multiple references" one but for its glyph."""
    more = read_recorded(MORE)
    case = CASES_MORE["h_target_linked_twice"]
    linker_id, target_id = case["linking_span"]["span_id"], case["spans"][1]["span_id"]
    linker, target = more["h_target_linked_twice"][linker_id], more["h_target_linked_twice"][target_id]
    assert target.marked_as_target and not linker.marked_as_target
    assert [(link.span_id, link.names, link.clickable) for link in linker.links] == \
        [(target_id, "lm-h-twice h-target", True)] * 2
    assert verdict("h_target_linked_twice", "render.target_marked", more, MORE) == "preserved"
    assert verdict("h_target_linked_twice", "render.attributes_shown", more, MORE) == "lost"


def test_linking_spans_with_a_multiple_references_icon_are_not_marked_as_targets(
        shown: dict[str, dict[str, ShownSpan]]) -> None:
    for case in ("a_cross_trace", "g_five_links"):
        assert not linking(case, shown).marked_as_target, case
