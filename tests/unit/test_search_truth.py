"""A search verdict is a claim about the backend's search: only an answer (HTTP 200) without the
span is a miss. A refused connection, an error status or a dead backend is "could not measure"."""

from __future__ import annotations

import threading
from collections.abc import Callable

import requests

from harness.judge._hops import search_cell, upstream_outcomes
from harness.model._columns import SearchAnswer, SearchQuery, SearchReadPath
from harness.model._handoff import Cell, Emission
from harness.model._probes import probes_for
from harness.model._spans import Link, Span
from harness.model._vocabulary import ERROR, LOST, PRESERVED
from harness.observe._search import run_probes
from harness.stack._http import Http

LINKING = Span("3" * 32, "9" * 16, "consume", links=(Link("1" * 32, "a" * 16, attributes={"k": "v"}, flags=0x100),))
EMISSION = Emission("demo", "run", "collector", [LINKING], [LINKING], {LINKING.key: "c.consume"})
FEATURE = "search.link_attribute"


def path_answering(answer: Callable[[SearchQuery], SearchAnswer]) -> SearchReadPath:
    def search(http: Http, base_url: str, query: SearchQuery) -> SearchAnswer:
        return answer(query)
    return SearchReadPath("b", "search", "B search", search, kinds=frozenset({"link_attribute"}), timeout=1.0)


def cell_after(path: SearchReadPath, death: Callable[[], str | None] = lambda: None) -> Cell:
    probes = probes_for(EMISSION, [FEATURE])
    run_probes(Http(), path, "http://127.0.0.1:1", probes, threading.Event(), death)
    upstream = upstream_outcomes(EMISSION, FEATURE, {"sdk": [LINKING]})
    return search_cell(EMISSION, FEATURE, path, upstream, probes)


def found_by_control_only(query: SearchQuery) -> SearchAnswer:
    found = {LINKING.key} if query.kind == "control" else set()
    return SearchAnswer(found, 200, [], query.kind)


def test_a_miss_is_an_answer_without_the_span() -> None:
    assert cell_after(path_answering(found_by_control_only)).verdict == LOST
    everything = path_answering(lambda query: SearchAnswer({LINKING.key}, 200, [], query.kind))
    assert cell_after(everything).verdict == PRESERVED


def test_a_refused_connection_after_the_control_succeeded_is_an_error() -> None:
    def dies_after_control(query: SearchQuery) -> SearchAnswer:
        if query.kind == "control":
            return found_by_control_only(query)
        raise requests.ConnectionError("Connection refused")
    cell = cell_after(path_answering(dies_after_control))
    assert cell.verdict == ERROR and "Connection refused" in cell.reason


def test_an_error_status_is_not_a_miss() -> None:
    def server_error(query: SearchQuery) -> SearchAnswer:
        return found_by_control_only(query) if query.kind == "control" else SearchAnswer(set(), 500, "boom", "q")
    cell = cell_after(path_answering(server_error))
    assert cell.verdict == ERROR and "HTTP 500" in cell.reason


def test_a_refused_query_is_not_asked_again_and_its_refusal_is_the_reason() -> None:
    asked: list[str] = []

    def refused(query: SearchQuery) -> SearchAnswer:
        asked.append(query.kind)
        return SearchAnswer(set(), 400, "spans per span set exceeds 100. received 1012", query.kind)
    path = SearchReadPath("b", "search", "B search", path_answering(refused).search,
                          kinds=frozenset({"link_attribute"}), timeout=30.0)
    probes = probes_for(EMISSION, [FEATURE])
    seconds = run_probes(Http(), path, "http://127.0.0.1:1", probes, threading.Event())
    assert seconds < 1.0 and asked == ["control", "link_attribute"]  # once each, not 30 s of polling
    cell = search_cell(EMISSION, FEATURE, path, upstream_outcomes(EMISSION, FEATURE, {"sdk": [LINKING]}), probes)
    assert cell.verdict == ERROR and "got no answer: HTTP 400: spans per span set exceeds 100" in cell.reason


def test_a_dead_backend_stops_the_search_at_once() -> None:
    calls = []

    def answer(query: SearchQuery) -> SearchAnswer:
        calls.append(query)
        return found_by_control_only(query)
    cell = cell_after(path_answering(answer), death=lambda: "zipkin was killed by signal 9 during the run")
    assert calls == [] and cell.verdict == ERROR and "killed by signal 9" in cell.reason


def test_a_miss_after_the_control_found_the_span_is_final_at_once_and_says_so() -> None:
    asked: list[str] = []

    def answer(query: SearchQuery) -> SearchAnswer:
        asked.append(query.kind)
        return found_by_control_only(query)
    path = SearchReadPath("b", "search", "B search", path_answering(answer).search,
                          kinds=frozenset({"link_attribute"}), timeout=30.0)
    probes = probes_for(EMISSION, [FEATURE])
    seconds = run_probes(Http(), path, "http://127.0.0.1:1", probes, threading.Event())
    assert seconds < 1.0 and asked == ["control", "link_attribute"]  # one round, not 30 s of polling
    (probe,) = [p for p in probes if p.feature == FEATURE]
    assert not probe.found and probe.concluded_by == "control"
    cell = search_cell(EMISSION, FEATURE, path, upstream_outcomes(EMISSION, FEATURE, {"sdk": [LINKING]}), probes)
    assert cell.verdict == LOST and "conclusive" in cell.evidence["difference"][0]["note"]


def test_without_a_control_that_finds_the_span_a_miss_waits_for_the_deadline_and_is_not_judged() -> None:
    nothing = path_answering(lambda query: SearchAnswer(set(), 200, [], query.kind))
    probes = probes_for(EMISSION, [FEATURE])
    seconds = run_probes(Http(), nothing, "http://127.0.0.1:1", probes, threading.Event())
    assert seconds >= 1.0 and all(not p.concluded_by for p in probes)
    cell = search_cell(EMISSION, FEATURE, nothing, upstream_outcomes(EMISSION, FEATURE, {"sdk": [LINKING]}), probes)
    assert cell.verdict == ERROR and "even by its run id" in cell.reason


def link_indexed_path(answer: Callable[[SearchQuery], SearchAnswer], timeout: float = 30.0) -> SearchReadPath:
    """Like Tempo: link fields are indexed apart from (and later than) the span's own attributes."""
    def search(http: Http, base_url: str, query: SearchQuery) -> SearchAnswer:
        return answer(query)
    return SearchReadPath("t", "search", "T search", search, timeout=timeout, misses_proven_by="link",
                          kinds=frozenset({"link_trace_id", "link_span_id", "link_attribute"}))


def test_where_link_fields_index_later_the_run_id_control_does_not_make_a_miss_final() -> None:
    probes = probes_for(EMISSION, [FEATURE])
    path = link_indexed_path(found_by_control_only, timeout=1.0)
    seconds = run_probes(Http(), path, "http://127.0.0.1:1", probes, threading.Event())
    assert seconds >= 1.0 and all(not p.concluded_by for p in probes)
    cell = search_cell(EMISSION, FEATURE, path, upstream_outcomes(EMISSION, FEATURE, {"sdk": [LINKING]}), probes)
    # nothing proved the link fields indexed: a miss here cannot be told from a slow index
    assert cell.verdict == ERROR and "could not tell a miss from a slow index" in cell.reason


def test_where_link_fields_index_later_another_field_of_the_link_makes_a_miss_final() -> None:
    rounds: list[int] = []

    def answer(query: SearchQuery) -> SearchAnswer:
        if query.kind == "link_trace_id":
            rounds.append(1)
        indexed = len(rounds) >= 2  # the link fields show from the second round on
        found = {LINKING.key} if query.kind == "control" or (indexed and query.kind == "link_span_id") else set()
        return SearchAnswer(found, 200, [], f"{query.kind}={query.value}")
    probes = probes_for(EMISSION, ["search.link_trace_id"])
    path = link_indexed_path(answer)
    seconds = run_probes(Http(), path, "http://127.0.0.1:1", probes, threading.Event())
    (miss,) = [p for p in probes if p.feature == "search.link_trace_id"]
    assert seconds < 5.0 and not miss.found and miss.concluded_by == f"link_span_id={'a' * 16}"
    cell = search_cell(EMISSION, "search.link_trace_id", path,
                       upstream_outcomes(EMISSION, "search.link_trace_id", {"sdk": [LINKING]}), probes)
    assert cell.verdict == LOST and "link_span_id=" in cell.evidence["difference"][0]["note"]
