"""Render checks on facts as a page shows them (no browser): which shown link is which sent link,
and what each render feature concludes from it."""

from __future__ import annotations

from harness.backends.zipkin._lens import shown_links
from harness.judge._features import page_check_of
from harness.judge._page_checks import RenderSubject
from harness.model._shown import ShownLink, ShownSpan
from harness.model._spans import Link, Span

T1, T2 = "1" * 32, "2" * 32
INVALID_TRACE, INVALID_SPAN = "0" * 32, "0" * 16
LINKING, PARENT, TARGET = "a" * 16, "b" * 16, "c" * 16


def verdict(feature: str, sent: Span, shown: ShownSpan, exported: Span | None = None,
            others: tuple[Span, ...] = (), extra: dict[str, ShownSpan] | None = None) -> str:
    known = {span.key: span for span in (exported or sent, *others)}
    subject = RenderSubject([sent], known, {sent.span_id: shown, **(extra or {})}, {})
    judge = page_check_of(feature)
    assert judge is not None
    outcome = judge(subject)
    return "not judged" if outcome is None else outcome.verdict


def lens(*values: str) -> ShownSpan:
    """A span as Zipkin Lens shows it: its links as otlp.link.<i> tag rows."""
    return ShownSpan(LINKING, found=True, parent=PARENT,
                     links=shown_links([[f"otlp.link.{i}", value] for i, value in enumerate(values)]))


def test_lens_tag_rows_are_links_in_numeric_order_with_ids_only_when_well_formed() -> None:
    rows = [["otlp.link.10", f"{T2}|{TARGET}||{{}}|0"], ["http.method", "GET"], ["otlp.link.2", "|||{}|0"]]
    first, second = shown_links(rows)
    assert (first.trace_id, first.span_id) == ("", "")  # link 2 before link 10; an empty id is no id
    assert (second.trace_id, second.span_id, second.clickable, second.href) == (T2, TARGET, False, "")


def test_an_sdk_dropped_link_without_ids_on_the_page_does_not_shift_the_others() -> None:
    """Invalid-context links: the SDK drops the bare one; the page shows the other two without ids.
    Each shown link is paired by its attributes, then in order among the links the SDK exported."""
    bare = Link(INVALID_TRACE, INVALID_SPAN)
    with_attributes = Link(INVALID_TRACE, INVALID_SPAN, attributes={"why": "kept-by-spec"})
    with_state = Link(INVALID_TRACE, INVALID_SPAN, trace_state="vendor=only-state")
    sent = Span(T1, LINKING, "run-job", PARENT, (bare, with_attributes, with_state))
    exported = Span(T1, LINKING, "run-job", PARENT, (with_attributes, with_state))
    shown = lens('|||{"why":"kept-by-spec"}|0', "|||{}|0")
    assert verdict("render.attributes_shown", sent, shown, exported) == "preserved"
    assert verdict("render.link_shown", sent, shown, exported) == "degraded"
    subject = RenderSubject([sent], {exported.key: exported}, {LINKING: shown}, {})
    paired = [shown_link for *_, shown_link in subject.pairs()]
    assert paired == [None, shown.links[0], shown.links[1]]


def test_lens_names_targets_by_ids_as_text_with_nothing_to_follow() -> None:
    sent = Span(T1, LINKING, "consume", PARENT, (Link(T2, TARGET, attributes={"n": 3, "ok": True}),))
    shown = lens(f'{T2}|{TARGET}||{{"n":3,"ok":true}}|0')
    assert verdict("render.link_shown", sent, shown) == "preserved"
    assert verdict("render.target_identified", sent, shown) == "preserved"
    assert verdict("render.target_navigable", sent, shown, others=(Span(T2, TARGET, "produce"),)) == "lost"
    assert verdict("render.target_navigable", sent, shown) == "n/a"  # its target never exported: nowhere to go
    assert verdict("render.attributes_shown", sent, shown) == "preserved"
    assert verdict("render.parent_kept", sent, shown) == "preserved"


def test_an_attribute_is_shown_only_as_its_own_key_and_value_not_as_letters_somewhere_in_the_text() -> None:
    """The ids' hex digits hold 'a', 'b', '1' and '2': that is not attributes a=1, b=2 shown."""
    target_ab = "ab12" * 4
    sent = Span(T1, LINKING, "consume", PARENT, (Link(T1, target_ab, attributes={"a": 1, "b": 2, "c": 3, "d": 4}),))
    shown = lens(f'{T1}|{target_ab}||{{"c":3,"d":4}}|2')
    assert verdict("render.attributes_shown", sent, shown) == "degraded"
    subject = RenderSubject([sent], {sent.key: sent}, {LINKING: shown}, {})
    judge = page_check_of("render.attributes_shown")
    assert judge is not None
    outcome = judge(subject)
    assert outcome is not None and outcome.summary == "2 of 4 attributes shown"
    changed = Span(T1, LINKING, "consume", PARENT, (Link(T2, TARGET, attributes={"k": "expected", "n": 2.0}),))
    assert verdict("render.attributes_shown", changed, lens(f'{T2}|{TARGET}||{{"k":"other","n":2}}|0')) == "degraded"
    assert verdict("render.attributes_shown", changed, lens(f"{T2}|{TARGET}||not json|0")) == "lost"


def test_lens_string_values_are_read_as_the_page_writes_them_escapes_and_all() -> None:
    """Lens prints the tag's JSON text: Go writes `<` as \\u003c and a quote as \\", so a person
    reads the escapes, not the value sent; plain strings, numbers and arrays read as sent."""
    html, plain = Link(T2, TARGET, attributes={"note": "<b>bold</b>"}), Link(T2, TARGET, attributes={"k": "v w"})
    shown = lens(f'{T2}|{TARGET}||{{"note":"\\u003cb\\u003ebold\\u003c/b\\u003e"}}|0')
    assert shown.links[0].attributes == {"note": "\\u003cb\\u003ebold\\u003c/b\\u003e"}
    assert verdict("render.attributes_shown", Span(T1, LINKING, "c", PARENT, (html,)), shown) == "degraded"
    mixed = Link(T2, TARGET, attributes={"k": "v w", "n": (1, 2), "ok": False, "x": 1.5})
    shown = lens(f'{T2}|{TARGET}||{{ "k" : "v w", "n":[1,2],"ok":false,"x":1.5}}|0')
    assert shown.links[0].attributes == {"k": "v w", "n": "[1,2]", "ok": "false", "x": "1.5"}
    assert verdict("render.attributes_shown", Span(T1, LINKING, "c", PARENT, (mixed,)), shown) == "preserved"
    assert verdict("render.attributes_shown", Span(T1, LINKING, "c", PARENT, (plain,)),
                   lens(f'{T2}|{TARGET}||{{"k":"v w"|0')) == "lost"  # text that is not a JSON object


def test_a_cross_trace_href_must_name_the_right_trace_and_span() -> None:
    sent = Span(T1, LINKING, "consume", PARENT, (Link(T2, TARGET),))

    def with_href(href: str) -> ShownSpan:
        return ShownSpan(LINKING, found=True, parent=PARENT,
                         links=[ShownLink(text="< span in another trace >", span_id=TARGET, href=href)])

    target = (Span(T2, TARGET, "produce"),)
    assert verdict("render.target_navigable", sent, with_href(f"/trace/{T2}?uiFind={TARGET}"), others=target) \
        == "preserved"
    assert verdict("render.target_navigable", sent, with_href(f"/trace/{T1}?uiFind={TARGET}"), others=target) == "lost"


def test_navigable_means_arrived_where_the_link_was_followed() -> None:
    """Following the href led to the UI's error page: lost, in the page's own words."""
    sent = Span(T1, LINKING, "consume", PARENT, (Link(T2, TARGET),))
    followed = ShownLink(text="< span in another trace >", span_id=TARGET, href=f"/trace/{T2}?uiFind={TARGET}",
                         arrived=False, after_following="HTTP Error: trace not found")
    shown = ShownSpan(LINKING, found=True, parent=PARENT, links=[followed])
    subject = RenderSubject([sent], {sent.key: sent, (T2, TARGET): Span(T2, TARGET, "produce")},
                            {LINKING: shown}, {})
    judge = page_check_of("render.target_navigable")
    assert judge is not None
    outcome = judge(subject)
    assert outcome is not None and outcome.verdict == "lost"
    assert "trace not found" in outcome.differences[0].note
    followed.arrived, followed.after_following = True, "the target span is shown, marked"
    outcome = judge(subject)
    assert outcome is not None and outcome.verdict == "preserved"


def test_a_span_drawn_under_its_link_target_has_lost_its_parent() -> None:
    sent = Span(T1, LINKING, "consume", "", (Link(T1, TARGET),))
    moved = ShownSpan(LINKING, found=True, parent=TARGET, links=[ShownLink("x", span_id=TARGET, clickable=True)])
    assert verdict("render.parent_kept", sent, moved) == "degraded"
    assert verdict("render.parent_kept", sent, ShownSpan(LINKING)) == "lost"  # not on the page at all


def test_a_same_trace_target_is_marked_only_when_the_page_says_so() -> None:
    target = Span(T1, TARGET, "produce", "")
    sent = Span(T1, LINKING, "consume", PARENT, (Link(T1, TARGET),))
    shown = ShownSpan(LINKING, found=True, parent=PARENT, links=[ShownLink("x", span_id=TARGET, clickable=True)])
    marked = {TARGET: ShownSpan(TARGET, found=True, parent="", marked_as_target=True)}
    plain = {TARGET: ShownSpan(TARGET, found=True, parent="")}
    assert verdict("render.target_marked", sent, shown, others=(target,), extra=marked) == "preserved"
    assert verdict("render.target_marked", sent, shown, others=(target,), extra=plain) == "lost"
    assert verdict("render.target_marked", sent, shown) == "not judged"  # the run did not send the target


def test_a_long_trace_is_sampled_with_its_busiest_linking_span_always_in() -> None:
    from harness.model._spans import Link, Span
    from harness.render._stage import MAX_SPANS_PER_TRACE, _sample
    link = Link("1" * 32, "a" * 16)
    spans = [Span("2" * 32, f"{i:016x}", f"w{i}", links=(link,) * (5 if i == 30 else 1)) for i in range(40)]
    chosen = _sample(spans)
    assert len(chosen) == MAX_SPANS_PER_TRACE and spans[30] in chosen and chosen[0] is spans[0]
    assert _sample(spans[:3]) == spans[:3]


def test_the_trace_with_the_most_links_is_always_among_the_traces_opened() -> None:
    from harness.render._stage import MAX_TRACES, _first_traces
    link = Link("1" * 32, "a" * 16)
    by_trace = {f"{i:032x}": [Span(f"{i:032x}", "b" * 16, "w", links=(link,) * (6 if i == 7 else 1))]
                for i in range(9)}
    chosen = _first_traces(by_trace)
    assert len(chosen) == MAX_TRACES and f"{7:032x}" in chosen and f"{0:032x}" in chosen
    assert _first_traces(dict(list(by_trace.items())[:2])) == set(list(by_trace)[:2])


def test_links_to_one_target_are_matched_on_the_page_among_the_links_the_sdk_kept() -> None:
    # Eight links to one span; a link limit of 5 kept the last five, an attribute limit took `a`.
    sent = Span(T2, LINKING, "consume", PARENT,
                tuple(Link(T1, TARGET, attributes={"a": f"a-{i}", "b": True, "i": i}) for i in range(8)))
    exported = Span(T2, LINKING, "consume", PARENT,
                    tuple(Link(T1, TARGET, attributes={"b": True, "i": i}) for i in range(3, 8)))
    shown = lens(*(f'{T1}|{TARGET}||{{"b":true,"i":{i}}}|1' for i in range(3, 8)))
    subject = RenderSubject([sent], {sent.key: exported}, {LINKING: shown}, {})
    judge = page_check_of("render.attributes_shown")
    assert judge is not None
    outcome = judge(subject)
    assert outcome is not None and outcome.summary == "10 of 24 attributes shown"
    assert not [d for d in outcome.differences if d.kind == "value_changed"]  # i=3 is link 3's, not link 0's


def test_a_link_listed_as_a_second_parent_is_shown_as_another_relation() -> None:
    """Jaeger's model turns a link carrying opentracing.ref_type=child_of into a second CHILD_OF
    reference: the page lists it (named, clickable) among References, but as a parent."""
    from harness.backends.jaeger._ui import shown_span
    facts = {"span_id": LINKING, "found": True, "parent": "", "marked": False, "references": [
        {"type": "CHILD_OF", "span_id": TARGET, "service": "< span in another trace >", "operation": "",
         "text": "< span in another trace > CHILD_OF" + TARGET, "href": f"/trace/{T2}?uiFind={TARGET}",
         "clickable": False, "attributes": {}}]}
    shown = shown_span(facts)
    assert [link.relation for link in shown.links] == ["CHILD_OF"]
    sent = Span(T1, LINKING, "read", "", (Link(T2, TARGET, attributes={"opentracing.ref_type": "child_of"}),))
    subject = RenderSubject([sent], {sent.key: sent}, {LINKING: shown}, {})
    judge = page_check_of("render.link_shown")
    assert judge is not None
    outcome = judge(subject)
    assert outcome is not None and outcome.verdict == "degraded"
    assert [(d.kind, d.actual) for d in outcome.differences] == [("relation_changed", "listed as CHILD_OF")]


def test_the_parents_own_child_of_reference_is_not_a_link() -> None:
    from harness.backends.jaeger._ui import shown_span
    child_of = {"type": "CHILD_OF", "span_id": PARENT, "service": "svc", "operation": "root", "text": "",
                "href": "", "clickable": True, "attributes": {}}
    follows = {**child_of, "type": "FOLLOWS_FROM", "span_id": TARGET, "operation": "target"}
    shown = shown_span({"span_id": LINKING, "found": True, "parent": PARENT, "references": [child_of, follows]})
    assert [(link.span_id, link.relation) for link in shown.links] == [(TARGET, "")]
