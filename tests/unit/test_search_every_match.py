"""Completeness: when more spans carry a link attribute value than a search returns by default,
the verdict says whether every one can be found (limits raised) or how many come back — judged
only after a proof found all of them, so that a short answer is the backend's and not a slow index."""

from __future__ import annotations

import threading
from collections.abc import Callable

from harness.judge._hops import search_cell, upstream_outcomes
from harness.model._columns import SearchAnswer, SearchQuery, SearchReadPath
from harness.model._handoff import Cell, Emission
from harness.model._probes import probes_for
from harness.model._spans import Link, Span
from harness.model._vocabulary import DEGRADED, ERROR, LOST, PRESERVED
from harness.observe._every_match import ask_for_every
from harness.stack._http import Http

FEATURE = "search.link_attribute_all"
TARGET = Link("1" * 32, "a" * 16, attributes={"batch.id": "b-1"})
SPANS = [Span(f"{i + 2:032x}", "9" * 16, "consume",
              links=(Link(TARGET.trace_id, TARGET.span_id, attributes={"batch.id": "b-1", "n": i}),))
         for i in range(30)]
EMISSION = Emission("demo", "run", "collector", SPANS, SPANS, {s.key: f"c[{i}].consume" for i, s in enumerate(SPANS)})
EVERY = {span.key for span in SPANS}


def path(answer: Callable[[SearchQuery], SearchAnswer], proof: str = "span") -> SearchReadPath:
    def search(http: Http, base_url: str, query: SearchQuery) -> SearchAnswer:
        return answer(query)
    return SearchReadPath("b", "search", "B search", search, timeout=1.0, misses_proven_by=proof,  # type: ignore[arg-type]
                          kinds=frozenset({"link_attribute", "link_span_id"}))


def capped(default: int, most: int) -> Callable[[SearchQuery], SearchAnswer]:
    """A search that returns `default` spans without a limit, and at most `most` with one; the proof
    queries find them all."""
    def answer(query: SearchQuery) -> SearchAnswer:
        if query.kind != "link_attribute":
            return SearchAnswer(set(EVERY), 200, [], query.kind, f"limit={query.limit}")
        count = default if query.limit is None else min(query.limit, most)
        return SearchAnswer(set(sorted(EVERY)[:count]), 200, [], "{ link.batch.id = \"b-1\" }",
                            "" if query.limit is None else f"limit={query.limit}")
    return answer


def cell_after(read_path: SearchReadPath) -> Cell:
    probes = probes_for(EMISSION, [FEATURE])
    for probe in probes:
        ask_for_every(Http(), read_path, "http://127.0.0.1:1", probe, threading.Event(), lambda: None, 0.0)
    upstream = upstream_outcomes(EMISSION, FEATURE, {"sdk": SPANS})
    return search_cell(EMISSION, FEATURE, read_path, upstream, probes)


def test_one_probe_asks_for_every_span_the_shared_value_matches() -> None:
    (probe,) = probes_for(EMISSION, [FEATURE])
    assert set(probe.every) == EVERY and probe.query.key == "batch.id"
    assert probe.proofs["span"].span_name == "consume" and probe.proofs["link"].value == TARGET.span_id


def test_all_found_once_the_limit_is_raised_is_preserved_with_the_limit_that_did_it() -> None:
    cell = cell_after(path(capped(default=20, most=1000)))
    assert cell.verdict == PRESERVED
    received = cell.evidence["received"]
    assert received['{ link.batch.id = "b-1" } with the API\'s defaults'] == "20 of 30"
    assert received['{ link.batch.id = "b-1" } with limit=70'] == "found"


def test_some_at_every_limit_is_degraded_and_says_how_many() -> None:
    cell = cell_after(path(capped(default=20, most=25), proof="link"))
    assert cell.verdict == DEGRADED
    (difference,) = cell.evidence["difference"]
    assert difference["kind"] == "not_all_found" and "25 of the 30" in difference["note"]


def test_none_at_any_limit_is_lost() -> None:
    assert cell_after(path(capped(default=0, most=0))).verdict == LOST


def test_a_proof_that_never_finds_them_all_is_could_not_measure() -> None:
    def half_indexed(query: SearchQuery) -> SearchAnswer:
        return SearchAnswer(set(sorted(EVERY)[:15]), 200, [], query.kind)
    cell = cell_after(path(half_indexed))
    assert cell.verdict == ERROR and "found 15 of them" in cell.reason
