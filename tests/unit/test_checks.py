"""Verdict logic: each check on hand-made spans, and hop attribution across hops."""

from __future__ import annotations

from harness.judge._checks import Subject, pair_links
from harness.judge._features import check_of
from harness.judge._hops import cell_for, exercised_features, upstream_outcomes
from harness.model import _features as F
from harness.model._columns import Answer, TraceReadPath
from harness.model._handoff import Emission
from harness.model._spans import Link, Span, index_spans
from harness.model._vocabulary import DEGRADED, ERROR, LOST, NOT_APPLICABLE, PRESERVED, LinkField


def check(feature: str):
    judged = check_of(feature)
    assert judged is not None
    return judged

T1, T2, T3 = "1" * 32, "2" * 32, "3" * 32
S1, S2, S3, S9 = "a" * 16, "b" * 16, "c" * 16, "9" * 16


def link(trace: str = T1, span: str = S1, **fields) -> Link:
    return Link(trace, span, **fields)


def linking(*links: Link, span_id: str = S9) -> Span:
    return Span(T3, span_id, "consume", links=tuple(links))


def run(feature: str, sent: Span, received: Span | None):
    observed = index_spans([received]) if received else {}
    return check(feature)(Subject([sent], observed, {sent.key: "consumer.consume"}))


def test_present_counts_links() -> None:
    sent = linking(link(T1, S1), link(T2, S2))
    assert run(F.LINK_PRESENT, sent, sent).verdict == PRESERVED
    assert run(F.LINK_PRESENT, sent, linking()).verdict == LOST
    outcome = run(F.LINK_PRESENT, sent, linking(link(T1, S1)))
    assert outcome.verdict == DEGRADED
    assert outcome.summary == "1 of 2 links kept, 1 missing"
    assert outcome.differences[0].path == "spans[consumer.consume].links"


def test_a_link_read_back_as_a_second_parent_is_degraded_with_the_relation_named() -> None:
    """Jaeger's /api/traces: a link carrying opentracing.ref_type=child_of comes back as a CHILD_OF
    reference; it is there, as another relation."""
    from harness.backends.jaeger._adapter import normalize_api_traces
    body = {"data": [{"spans": [{"traceID": T3, "spanID": S9, "operationName": "consume", "references": [
        {"refType": "CHILD_OF", "traceID": T1, "spanID": S1}, {"refType": "FOLLOWS_FROM", "traceID": T2, "spanID": S2}]}]}]}
    (received,) = normalize_api_traces(body)
    assert [link.relation for link in received.links] == ["CHILD_OF", ""]
    outcome = run(F.LINK_PRESENT, linking(link(T1, S1), link(T2, S2)), received)
    assert outcome.verdict == DEGRADED
    assert [(d.kind, d.actual) for d in outcome.differences] == [("relation_changed", "CHILD_OF")]


def test_present_flags_extra_links() -> None:
    sent = linking(link(T1, S1))
    assert run(F.LINK_PRESENT, sent, linking(link(T1, S1), link(T2, S2))).verdict == DEGRADED


def test_target_ids_by_target_not_position() -> None:
    sent = linking(link(T1, S1), link(T2, S2))
    swapped = linking(link(T2, S2), link(T1, S1))
    assert run(F.LINK_TARGET_IDS, sent, swapped).verdict == PRESERVED
    assert run(F.LINK_ORDER, sent, swapped).verdict == DEGRADED
    moved = linking(link(T1, S1), link(T2, S3))
    outcome = run(F.LINK_TARGET_IDS, sent, moved)
    assert outcome.verdict == DEGRADED
    assert outcome.differences[0].path == "spans[consumer.consume].links[1]"
    assert outcome.differences[0].note == "points elsewhere"


def test_pairing_reuses_no_received_link_twice() -> None:
    sent = linking(link(T1, S1), link(T1, S1))
    pairs = pair_links(sent, linking(link(T1, S1)), "x")
    assert [pair.received_index for pair in pairs] == [0, None]


def test_attribute_types_are_compared_with_their_type() -> None:
    sent = linking(link(attributes={"n": 42, "f": 1.5, "b": True, "s": "x", "a": ("a", "b")}))
    same = linking(link(attributes={"n": 42, "f": 1.5, "b": True, "s": "x", "a": ("a", "b")}))
    for kind in ("int", "double", "bool", "string", "string_array"):
        assert run(F.attribute_feature(kind), sent, same).verdict == PRESERVED, kind
    stringified = linking(link(attributes={"n": "42", "f": 1.5, "b": 1, "s": "x", "a": '["a","b"]'}))
    int_outcome = run(F.attribute_feature("int"), sent, stringified)
    assert int_outcome.verdict == DEGRADED and int_outcome.differences[0].note == "type int → string"
    assert run(F.attribute_feature("bool"), sent, stringified).differences[0].note == "type bool → int"
    assert run(F.attribute_feature("double"), sent, stringified).verdict == PRESERVED
    assert run(F.attribute_feature("int"), sent, linking(link())).verdict == LOST
    # A feature the scenario does not send is not checked at all.
    assert run(F.attribute_feature("int_array"), sent, same) is None


def test_attributes_of_a_missing_link_are_lost() -> None:
    sent = linking(link(attributes={"k": "v"}))
    assert run(F.attribute_feature("string"), sent, linking()).verdict == LOST


def test_trace_state_and_flags() -> None:
    sent = linking(link(trace_state="vendor=abc", flags=0x301))
    assert run(F.LINK_TRACE_STATE, sent, sent).verdict == PRESERVED
    assert run(F.LINK_TRACE_STATE, sent, linking(link(flags=0x301))).verdict == LOST
    outcome = run(F.LINK_FLAGS, sent, linking(link(trace_state="vendor=abc", flags=0x300)))
    assert outcome.verdict == DEGRADED
    assert outcome.differences[0].note == "lost sampled"
    assert "bits lost: sampled" in outcome.summary
    assert run(F.LINK_TRACE_STATE, linking(link()), linking(link())) is None


def test_missing_span_is_lost_everywhere() -> None:
    sent = linking(link(attributes={"k": "v"}))
    assert run(F.LINK_PRESENT, sent, None).verdict == LOST
    assert run(F.LINK_TARGET_IDS, sent, None).verdict == LOST


def _emission(requested: Span, sdk: Span) -> Emission:
    return Emission("demo", "run", "collector", [requested], [sdk], {requested.key: "consumer.consume"})


def _read_path(cannot_carry: frozenset[LinkField] = frozenset()) -> TraceReadPath:
    return TraceReadPath("b", "p", "B /p", read=lambda http, base, trace: Answer([], 404, None), cannot_carry=cannot_carry)


def test_a_loss_before_the_backend_is_that_hops_loss() -> None:
    requested = linking(link(trace_state="vendor=abc", flags=0x101))
    on_wire = linking(link(flags=0x100))
    emission = _emission(requested, requested)
    upstream = upstream_outcomes(emission, F.LINK_TRACE_STATE,
                                 {"sdk": [requested], "wire": [on_wire], "collector": [on_wire]})
    cell = cell_for(emission, F.LINK_TRACE_STATE, _read_path(), upstream, [on_wire])
    assert (cell.verdict, cell.hop) == (LOST, "wire")
    assert cell.hops == {"sdk": PRESERVED, "wire": LOST, "collector": LOST, "backend": LOST}


def test_a_loss_at_the_backend_is_the_backends() -> None:
    requested = linking(link(attributes={"k": "v"}))
    emission = _emission(requested, requested)
    upstream = upstream_outcomes(emission, F.attribute_feature("string"),
                                 {"sdk": [requested], "wire": [requested], "collector": [requested]})
    cell = cell_for(emission, F.attribute_feature("string"), _read_path(), upstream, [linking(link())])
    assert (cell.verdict, cell.hop) == (LOST, "backend")
    assert cell.evidence["difference"][0]["path"] == "spans[consumer.consume].links[0].attributes[k]"


def test_declared_gap_is_not_applicable_and_errors_keep_their_reason() -> None:
    requested = linking(link(attributes={"k": "v"}))
    emission = _emission(requested, requested)
    feature = F.attribute_feature("string")
    upstream = upstream_outcomes(emission, feature, {"sdk": [requested]})
    gap = cell_for(emission, feature, _read_path(frozenset({"attributes"})), upstream, [])
    assert gap.verdict == NOT_APPLICABLE and "cannot carry link attributes" in gap.reason
    failed = cell_for(emission, feature, _read_path(), upstream, RuntimeError("backend down"))
    assert (failed.verdict, failed.reason) == (ERROR, "backend down")


def test_exercised_features_follow_the_sent_data() -> None:
    requested = linking(link(T1, S1, attributes={"k": "v"}, flags=0x100), link(T2, S2, flags=0x100))
    features = exercised_features(_emission(requested, requested), None)
    assert features == [F.LINK_PRESENT, F.LINK_TARGET_IDS, F.attribute_feature("string"), F.LINK_FLAGS, F.LINK_ORDER,
                        F.RENDER_TRACE_SHOWN, F.RENDER_LINK_SHOWN, F.RENDER_TARGET_IDENTIFIED, F.RENDER_TARGET_NAVIGABLE,
                        F.RENDER_ATTRIBUTES_SHOWN, F.RENDER_PARENT_KEPT, F.RENDER_TARGET_MARKED]
    assert exercised_features(_emission(requested, requested), ("link.attribute",)) == [F.attribute_feature("string")]


def test_parent_kept_only_checked_for_links_to_the_parent() -> None:
    child = Span(T1, S2, "retry", parent_span_id=S1, links=(link(T1, S1),))
    folded = Span(T1, S2, "retry", parent_span_id="", links=(link(T1, S1),))
    assert run(F.SPAN_PARENT_WITH_LINK_TO_PARENT, child, child).verdict == PRESERVED
    outcome = run(F.SPAN_PARENT_WITH_LINK_TO_PARENT, child, folded)
    assert outcome.verdict == LOST and "lost its parent" in outcome.differences[0].note
    assert run(F.SPAN_PARENT_WITH_LINK_TO_PARENT, linking(link()), linking(link())) is None


def test_changed_at_names_every_hop_that_took_something() -> None:
    from harness.judge._hops import changed_at
    requested = linking(link(T1, S1), link(T2, S2), link(T3, S3))
    after_sdk = linking(link(T2, S2), link(T3, S3))
    emission = _emission(requested, after_sdk)
    upstream = upstream_outcomes(emission, F.LINK_PRESENT, {"sdk": [after_sdk], "wire": [after_sdk]})
    backend = check(F.LINK_PRESENT)(Subject([requested], index_spans([linking()]), {}))
    assert changed_at({**upstream, "backend": backend}) == ["sdk", "backend"]


def test_a_read_that_failed_without_a_message_is_still_an_error_with_a_reason() -> None:
    requested = linking(link(attributes={"k": "v"}))
    emission = _emission(requested, requested)
    upstream = upstream_outcomes(emission, F.LINK_PRESENT, {"sdk": [requested]})
    failed = cell_for(emission, F.LINK_PRESENT, _read_path(), upstream, TimeoutError())
    assert (failed.verdict, failed.reason) == (ERROR, "TimeoutError")


def test_search_by_attribute_needs_a_searchable_attribute() -> None:
    requested = linking(link(attributes={"payload": ("a", "b")}))  # an array: no tag query expresses it
    emission = _emission(requested, requested)
    wanted = ("search.link_trace_id", "search.link_attribute")
    assert exercised_features(emission, wanted) == ["search.link_trace_id"]


def test_an_order_lost_after_the_sdk_is_not_pinned_on_the_sdk() -> None:
    """The sent view and an unchanged hop's view must read alike, or every hop looks changed."""
    from harness.judge._hops import changed_at
    requested = linking(link(T1, S1), link(T2, S2))
    emission = _emission(requested, requested)
    upstream = upstream_outcomes(emission, F.LINK_ORDER, {"sdk": [requested], "wire": [requested]})
    swapped = check(F.LINK_ORDER)(Subject([requested], index_spans([linking(link(T2, S2), link(T1, S1))]), {}))
    assert changed_at({**upstream, "backend": swapped}) == ["backend"]


def test_a_link_whose_exported_target_is_missing_dangles_and_unexported_targets_are_not_asked() -> None:
    sent = linking(link(T1, S1), link(T2, S2), link("0" * 32, "0" * 16, attributes={"k": "v"}))
    target_one, target_two = Span(T1, S1, "a"), Span(T2, S2, "b")
    exported = frozenset({sent.key, target_one.key, target_two.key})
    judged = check(F.LINK_TARGET_ARRIVED)

    def outcome(*there: Span):
        return judged(Subject([sent], index_spans([sent, *there]), {target_two.key: "producer.b"}, exported))

    assert outcome(target_one, target_two).verdict == PRESERVED
    dangling = outcome(target_one)
    assert dangling.verdict == DEGRADED and dangling.summary == "1 of 2 link targets kept, 1 missing"
    assert "producer.b is not there" in dangling.differences[0].note
    assert outcome().verdict == LOST
    nothing_exported = Subject([sent], index_spans([sent]), {}, frozenset({sent.key}))
    assert judged(nothing_exported) is None  # an unsampled or invalid target: not this feature's question


def test_links_sharing_a_target_are_told_apart_by_an_attribute_value_that_survived() -> None:
    # A link limit of 5 kept the last five of eight links to one target (the SDK drops the oldest),
    # and an attribute limit of 2 took `a` from each: `i` still says which link each one is.
    sent = linking(*(link(attributes={"a": f"a-{i}", "b": True, "i": i}) for i in range(8)))
    kept = linking(*(link(attributes={"b": True, "i": i}) for i in range(3, 8)))
    pairs = pair_links(sent, kept, "consumer.consume")
    assert [pair.received_index for pair in pairs] == [None, None, None, 0, 1, 2, 3, 4]
    assert all(pair.certain for pair in pairs)
    present = run(F.LINK_PRESENT, sent, kept)
    assert present.differences[0].note == "missing: links[0..2]"
    ints = run(F.LINK_ATTRIBUTE_PREFIX + "int", sent, kept)
    assert ints.summary == "5 of 8 int attributes kept, 3 missing"  # none "changed": no value was


def test_which_of_links_nothing_tells_apart_were_lost_is_not_claimed() -> None:
    sent = linking(*(link(attributes={"n": i}) for i in range(4)))
    kept = linking(*(link() for _ in range(3)))  # the values are gone: any three of the four
    present = run(F.LINK_PRESENT, sent, kept)
    assert "which ones cannot be told here" in present.differences[0].note
    target_ids = run(F.LINK_TARGET_IDS, sent, kept)
    assert target_ids.differences[0].note.startswith("link missing (this link or another with its target")
    distinct = linking(link(T1, S1), link(T2, S2))
    assert run(F.LINK_PRESENT, distinct, linking(link(T2, S2))).differences[0].note == "missing: links[0]"


def test_a_link_that_did_not_arrive_has_no_target_to_follow() -> None:
    sent = linking(link(T1, S1), link(T2, S2))
    target_one, target_two = Span(T1, S1, "a"), Span(T2, S2, "b")
    exported = frozenset({sent.key, target_one.key, target_two.key})
    linkless = Span(sent.trace_id, sent.span_id, sent.name)  # Zipkin's model: the span, not its links
    outcome = check(F.LINK_TARGET_ARRIVED)(
        Subject([sent], index_spans([linkless, target_one, target_two]), {}, exported))
    assert outcome.verdict == LOST
    assert outcome.received == {"spans[consume].links[0]": None, "spans[consume].links[1]": None}
    assert outcome.differences[0].note == "the link itself is missing"


def test_nothing_at_the_baseline_is_not_measured_and_order_says_what_it_saw() -> None:
    nobody = Subject([], {}, {})
    assert check(F.LINK_PRESENT)(nobody) is None and check(F.LINK_TARGET_IDS)(nobody) is None
    sent = linking(link(T1, S1), link(T2, S2))
    none_back = run(F.LINK_ORDER, sent, linking())
    assert none_back.verdict == LOST and none_back.summary == "no link came back on 1 of 1 spans"
    swapped = run(F.LINK_ORDER, sent, linking(link(T2, S2), link(T1, S1)))
    assert swapped.summary == "links come back in another order on 1 of 1 spans"


def test_a_received_link_that_says_it_lost_attributes_is_not_taken_for_a_sent_link_without_them() -> None:
    # max_links 1 and max_attributes_per_link 1: the SDK kept the second link, and its last attribute.
    sent = linking(link(attributes={"attempt": 1}), link(attributes={"reason": "retry", "attempt": 1}))
    kept = linking(link(attributes={"attempt": 1}, dropped_attributes_count=1))
    pairs = pair_links(sent, kept, "x")
    assert not any(pair.certain for pair in pairs)  # not "links[1] missing", as if it were known
    assert "which ones cannot be told here" in run(F.LINK_PRESENT, sent, kept).differences[0].note
    alike = linking(link(), link())  # two identical links, one kept: which one cannot be told either
    assert [pair.certain for pair in pair_links(alike, linking(link()), "x")] == [False, False]


def test_an_int_written_for_a_double_still_tells_links_apart() -> None:
    sent = linking(*(link(attributes={"d": float(d)}) for d in (1, 2, 3)))
    kept = linking(link(attributes={"d": 2}), link(attributes={"d": 3}))  # the SDK kept two; JSON made ints
    pairs = pair_links(sent, kept, "x")
    assert [pair.received_index for pair in pairs] == [None, 0, 1] and all(pair.certain for pair in pairs)
    doubles = run(F.LINK_ATTRIBUTE_PREFIX + "double", sent, kept)
    assert [d.path[-22:] for d in doubles.differences] == ["links[0].attributes[d]", "links[1].attributes[d]",
                                                            "links[2].attributes[d]"]
    assert [d.kind for d in doubles.differences] == ["link_missing", "type_changed", "type_changed"]


def test_a_guess_among_links_to_one_target_leaves_a_link_to_another_target_certain() -> None:
    sent = linking(link(T2, S2), link(attributes={"n": 1}), link(attributes={"n": 2}))
    kept = linking(link(), link())  # the link to T2 dropped; the other two lost what told them apart
    present = run(F.LINK_PRESENT, sent, kept)
    assert present.differences[0].note == "missing: links[0]"
    changed = linking(link(T2, S2), link(attributes={"n": 1}), link(attributes={"n": 2}))
    renamed = linking(link(T2, S2), link(attributes={"n": 7}), link(attributes={"n": 8}))
    ints = run(F.LINK_ATTRIBUTE_PREFIX + "int", changed, renamed)
    assert all(d.note.endswith("(paired by position: it may be another link's)") for d in ints.differences)
