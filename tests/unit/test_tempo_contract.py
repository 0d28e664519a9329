"""The Tempo adapter against real answers of Tempo 3.0.3 (tests/fixtures/tempo-3.0.3, its README
says what was sent): both read paths, both data ages (live store and after the block flush), the
not-found answers, and TraceQL search."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.backends.tempo._adapter import normalize_api_v1, normalize_api_v2, normalize_search, traceql
from harness.judge._checks import Subject
from harness.judge._features import check_of
from harness.model import _features as F
from harness.model._columns import SearchQuery
from harness.model._handoff import Cell
from harness.model._spans import Link, Span, index_spans
from harness.model._vocabulary import DEGRADED, LOST, PRESERVED

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tempo-3.0.3"
CASES: dict[str, dict[str, Any]] = json.loads((FIXTURES / "cases.json").read_text())
REMOTE = 0x300  # has-is-remote + is-remote: the exporter never writes the sampled bit


def answer(case: str, version: str, age: str = "live") -> dict[str, Any]:
    folder = FIXTURES / "after-block-flush" if age == "flushed" else FIXTURES
    return json.loads((folder / f"{case}.{version}.json").read_text())


def linked_span(case: str, version: str, age: str = "live") -> Span:
    normalize = normalize_api_v1 if version == "v1" else normalize_api_v2
    spans = index_spans(normalize(answer(case, version, age)))
    return spans[tuple(CASES[case]["linked"])]


READS = [("v1", "live"), ("v2", "live"), ("v2", "flushed")]


@pytest.mark.parametrize("version, age", READS)
def test_cross_trace_link_keeps_typed_attributes(version: str, age: str) -> None:
    (link,) = linked_span("cross_trace_attrs", version, age).links
    assert link.target == tuple(CASES["cross_trace_attrs"]["source"])
    assert link.attributes == {"link.reason": "batch_origin", "link.int": 42, "link.float": 1.5,
                               "link.bool": True, "link.arr": ("a", "b")}
    assert type(link.attributes["link.int"]) is int
    assert link.trace_state == ""  # sent, but the Python exporter never puts it on the wire


@pytest.mark.parametrize("version, age", READS)
def test_same_trace_after_start_and_dangling_links(version: str, age: str) -> None:
    for case, target, attributes in [("intra_trace", "target", {"k": "same-trace"}),
                                     ("add_link_after_start", "target", {"added": "later"}),
                                     ("dangling", "target", {"d": 1})]:
        (link,) = linked_span(case, version, age).links
        assert link.target == tuple(CASES[case][target]), case
        assert link.attributes == attributes, case


@pytest.mark.parametrize("version, age", READS)
def test_invalid_context_link_with_attributes_is_kept_with_zero_ids(version: str, age: str) -> None:
    links = linked_span("invalid_context", version, age).links
    # Two were sent; the SDK drops the bare one, Tempo keeps the one that carries an attribute.
    assert [(link.trace_id, link.span_id, link.attributes) for link in links] == [
        ("0" * 32, "0" * 16, {"why": "kept-by-spec"})]


@pytest.mark.parametrize("version, age", READS)
def test_limits_long_values_and_dropped_counts(version: str, age: str) -> None:
    (long_link,) = linked_span("long_link_attribute", version, age).links
    assert long_link.attributes["long"] == "x" * 2048  # 3,000 sent: Tempo cuts link attribute values
    default = linked_span("many_links_default_limit", version, age)
    assert sorted(link.attributes["i"] for link in default.links) == list(range(72, 200))  # the newest 128
    assert default.dropped_links_count == 72
    raised = linked_span("many_links_raised_limit", version, age)
    assert sorted(link.attributes["i"] for link in raised.links) == list(range(1000))
    (limited,) = linked_span("link_attr_limit", version, age).links
    assert limited.attributes == {"c": 3, "d": 4} and limited.dropped_attributes_count == 2


def test_link_flags_survive_the_live_store_but_not_the_block_flush() -> None:
    for case in ("cross_trace_attrs", "intra_trace", "dangling", "link_attr_limit"):
        live_v1 = {link.flags for link in linked_span(case, "v1").links}
        live_v2 = {link.flags for link in linked_span(case, "v2").links}
        flushed = {link.flags for link in linked_span(case, "v2", "flushed").links}
        assert live_v1 == live_v2 and live_v1 <= {0x100, REMOTE}, case
        assert flushed == {0}, case  # the parquet block has no link flags


def test_data_age_changes_the_flags_verdict() -> None:
    """The same check, on the same trace, read before and after Tempo wrote its block, against
    what went on the wire (from cases.json and the README, never from the answer judged): a remote
    context, whose sampled bit the exporter does not write."""
    trace_id, span_id = CASES["cross_trace_attrs"]["linked"]
    on_wire = Link(*CASES["cross_trace_attrs"]["source"], flags=REMOTE)
    requested = Span(trace_id, span_id, "linked", links=(on_wire,))
    for age, verdict in [("live", PRESERVED), ("flushed", LOST)]:
        seen = linked_span("cross_trace_attrs", "v2", age)
        outcome = check_of(F.LINK_FLAGS)(Subject([requested], index_spans([seen]), {}))
        assert outcome.verdict == verdict, age


def test_not_found_is_empty_for_both_read_paths() -> None:
    assert (FIXTURES / "not-found" / "v1.status").read_text().strip() == "404"
    assert normalize_api_v1((FIXTURES / "not-found" / "v1.body").read_text() or None) == []
    assert normalize_api_v2(json.loads((FIXTURES / "not-found" / "v2.json").read_text())) == []


SEARCHES: dict[str, Any] = json.loads((FIXTURES / "search_results.json").read_text())


def query(kind: str, value: Any, key: str = "") -> SearchQuery:
    return SearchQuery(kind, value, "probe", 0, 0, key=key)


def test_generated_traceql_is_what_tempo_answered() -> None:
    source_trace, source_span = CASES["cross_trace_attrs"]["source"]
    linked = tuple(CASES["cross_trace_attrs"]["linked"])
    for generated in (traceql(query("link_trace_id", source_trace)), traceql(query("link_span_id", source_span)),
                      traceql(query("link_attribute", "batch_origin", "link.reason")),
                      traceql(query("link_attribute", 42, "link.int")),
                      traceql(query("link_attribute", True, "link.bool"))):
        assert generated in SEARCHES, generated
        assert linked in normalize_search(SEARCHES[generated]), generated


def test_link_scope_needs_the_attributes_own_name() -> None:
    # `link.reason` is the attribute `reason` in the link scope: Tempo finds nothing.
    assert normalize_search(SEARCHES['{ link.reason = "batch_origin" }']) == set()
    after_start = tuple(CASES["add_link_after_start"]["linked"])
    assert after_start in normalize_search(SEARCHES[traceql(query("link_attribute", "later", "added"))])


def test_search_by_target_finds_every_span_linking_it() -> None:
    source_trace = CASES["cross_trace_attrs"]["source"][0]
    found = normalize_search(SEARCHES[traceql(query("link_trace_id", source_trace))])
    linking = {tuple(CASES[case]["linked"]) for case in ("cross_trace_attrs", "add_link_after_start",
                                                         "link_attr_limit", "long_link_attribute")}
    assert found == linking


def test_a_cut_value_is_reported_as_truncated() -> None:
    seen = linked_span("long_link_attribute", "v2")
    (link,) = seen.links
    requested = Span(seen.trace_id, seen.span_id, seen.name, links=(Link(*link.target, attributes={"long": "x" * 3000}),))
    outcome = check_of(F.attribute_feature("string"))(Subject([requested], index_spans([seen]), {}))
    assert outcome.verdict == DEGRADED
    assert outcome.differences[0].note == "truncated to 2048 of 3000 characters"


def test_link_order_survives_the_live_store_but_not_the_block_flush() -> None:
    for case, first in [("many_links_default_limit", 72), ("many_links_raised_limit", 0)]:
        live = [link.attributes["i"] for link in linked_span(case, "v2").links]
        flushed = [link.attributes["i"] for link in linked_span(case, "v2", "flushed").links]
        assert live == sorted(live) and live[0] == first, case
        assert flushed != sorted(flushed) and sorted(flushed) == live, case
    requested = linked_span("many_links_default_limit", "v2")
    outcome = check_of(F.LINK_ORDER)(Subject([requested], index_spans([linked_span("many_links_default_limit", "v2", "flushed")]), {}))
    assert outcome.verdict == DEGRADED


METRICS = FIXTURES / "metrics"


def test_the_settled_read_waits_for_the_live_store_to_write_its_block() -> None:
    """Recorded /metrics of a Tempo built from v3.0.3 (see metrics/README.md): before anything was
    sent, while the trace was live, and once its block was written."""
    from harness.backends.tempo._adapter import BLOCKS_COMPLETED, live_store_metrics, still_settling
    before, live, settled = (live_store_metrics((METRICS / f"{name}.txt").read_text())
                             for name in ("before-sending", "live", "settled"))
    mark = before[BLOCKS_COMPLETED]
    assert still_settling(before, mark) is not None  # nothing written yet: not settled, however quiet
    waiting = still_settling(live, mark)
    assert waiting is not None and "trace(s) in its live store" in waiting and not waiting.startswith("0 ")
    assert still_settling(settled, mark) is None
    assert still_settling(settled, settled[BLOCKS_COMPLETED]) is not None  # an older block is not ours


def test_settled_reads_are_judged_by_the_same_checks() -> None:
    """The flags a fresh read has are gone in the settled one: the same check says so."""
    from harness.backends.tempo._adapter import TEMPO_READ_PATHS
    from harness.judge._hops import compare_with_fresh_reads
    fresh = Cell("s", "link.flags", "tempo", "api_v2", "collector", "degraded", "wire", changed_at=["wire"])
    settled = Cell("s", "link.flags", "tempo", "api_v2_settled", "collector", "lost", "wire",
                   changed_at=["wire", "backend"])
    same = Cell("s", "link.order", "tempo", "api_v2_settled", "collector", "preserved")
    compare_with_fresh_reads([fresh, settled, same, Cell("s", "link.order", "tempo", "api_v2", "collector",
                                                         "preserved")], TEMPO_READ_PATHS)
    assert settled.evidence["fresh_read"]["verdict"] == "degraded"
    assert "fresh_read" not in same.evidence and "fresh_read" not in fresh.evidence
