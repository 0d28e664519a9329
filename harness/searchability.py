"""Searchability: can a backend find the linking span by what its link carries?

For each search feature the scenario lists, queries are built from what was sent (a link's
target trace id, span id, or each of its attributes). A search read path runs them until each one
finds the linking span or the path's own deadline passes; its index lags, so it never holds up
the trace reads.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from . import features as F
from .backends.base import ReadPath, SearchAnswer, SearchQuery
from .checks import MISSING, OK, Difference, Outcome, _outcome
from .emit import Emission
from .model import INVALID_TRACE_ID, value_type
from .otlp import RUN_ID_ATTRIBUTE

SEARCHABLE_TYPES = ("string", "int", "bool")  # what a tag or TraceQL equality can express


@dataclass
class Probe:
    feature: str
    query: SearchQuery
    label: str  # the linking span's label
    expect: tuple[str, str]  # the linking span
    answer: SearchAnswer | None = None  # the last answer
    found: bool = False
    error: str = ""  # why its last attempt measured nothing (no answer, or not a 200)
    unreachable: str = ""  # why it was not run: a hop's record proves the span never got there
    died: bool = False  # the backend died while it ran


CONTROL = "control"  # a query on the run id (a plain resource attribute): proves the search works at all


def probes_for(emission: Emission, features: list[str]) -> list[Probe]:
    """One probe per (search feature, linking span): the first valid link's target, and each
    searchable attribute of that link; plus one control probe that any working search answers."""
    probes: list[Probe] = []
    service = f"linkmatrix-{emission.scenario}"
    window = (int(emission.started) - 60, int(emission.ended) + 3600)
    for span in emission.linking_spans_as_finished:
        link = next((link for link in span.links if link.trace_id != INVALID_TRACE_ID), None)
        if link is None:
            continue
        label = emission.labels.get(span.key, span.name)
        if features and not probes:
            probes.append(Probe(CONTROL, SearchQuery(CONTROL, emission.run_id, service, *window,
                                                     key=RUN_ID_ATTRIBUTE, span_name=span.name), label, span.key))
        for feature in features:
            kind = F.SEARCH_FEATURES.get(feature)
            if kind == "link_trace_id":
                probes.append(Probe(feature, SearchQuery(kind, link.trace_id, service, *window), label, span.key))
            elif kind == "link_span_id":
                probes.append(Probe(feature, SearchQuery(kind, link.span_id, service, *window), label, span.key))
            elif kind == "link_attribute":
                for key, value in sorted(link.attributes.items()):
                    if value_type(value) in SEARCHABLE_TYPES:
                        probes.append(Probe(feature, SearchQuery(kind, value, service, *window, key=key),
                                            label, span.key))
    return probes


def _no_death() -> str | None:
    return None


def run_probes(path: ReadPath, base_url: str, probes: list[Probe], notify: Callable[[str], None],
               cancel: threading.Event, death_notice: Callable[[], str | None] = _no_death) -> float:
    """Poll every probe this path can express until it finds its span, the deadline passes, the
    backend dies, or `cancel` is set; returns the seconds it took. Only an HTTP 200 answer counts
    as a miss: a refused connection or an error status is "could not measure" (probe.error)."""
    started = time.monotonic()
    pending = [probe for probe in probes
               if probe.query.kind in path.search_kinds | {CONTROL} and not probe.unreachable]
    delay = 0.5
    while pending and time.monotonic() - started < path.search_timeout and not cancel.is_set():
        death = death_notice()
        if death:
            for probe in pending:
                probe.error, probe.died = death, True
            return time.monotonic() - started
        for probe in list(pending):
            try:
                probe.answer = path.search(base_url, probe.query)
            except Exception as error:  # a failing query is that probe's error, not the run's
                probe.error = f"{type(error).__name__}: {error}"
                continue
            status = probe.answer.status
            probe.error = "" if status == 200 else f"HTTP {status}: {str(probe.answer.raw)[:300]}"
            if probe.expect in probe.answer.found:
                probe.found = True
                pending.remove(probe)
        if pending:
            cancel.wait(delay)
            delay = min(delay * 2, 5.0)
    if pending:
        notify(f"  {path.label}: {len(pending)} quer{'y' if len(pending) == 1 else 'ies'} found nothing "
               f"in {path.search_timeout:.0f}s")
    return time.monotonic() - started


def control_failure(probes: list[Probe]) -> str | None:
    """Why the search cannot be trusted in this run, if even the control query found nothing."""
    for probe in probes:
        if probe.feature == CONTROL and not probe.found and not probe.unreachable:
            query = probe.answer.query_text if probe.answer else probe.query.kind
            return (f"the search did not find the span even by its run id ({query}): "
                    f"{probe.error or 'no result in time'}; link searches on this path are not judged")
    return None


def unmeasured(probes: list[Probe]) -> str | None:
    """Why a search feature could not be measured: a query that never got a usable answer."""
    for probe in probes:
        if probe.error and not probe.found:
            query = probe.answer.query_text if probe.answer else probe.query.kind
            return f"could not measure {query}: {probe.error}"
    return None


def judge(probes: list[Probe]) -> Outcome:
    statuses, differences, sent, received = [], [], {}, {}
    for probe in probes:
        text = probe.answer.query_text if probe.answer else probe.query.kind
        sent[text] = f"expects {probe.label}"
        if probe.unreachable:
            statuses.append(MISSING)
            received[text] = probe.unreachable
            differences.append(Difference(f"search[{text}]", probe.label, None, probe.unreachable))
        elif probe.found:
            statuses.append(OK)
            received[text] = "found"
        else:
            statuses.append(MISSING)
            seen = len(probe.answer.found) if probe.answer else 0
            received[text] = probe.error or f"not found ({seen} other spans/traces matched)"
            differences.append(Difference(f"search[{text}]", probe.label, None,
                                          probe.error or f"the linking span is not among {seen} results"))
    return _outcome(statuses, sent, received, differences,
                    f"{statuses.count(OK)} of {len(statuses)} queries found the linking span")


__all__ = ["Probe", "probes_for", "run_probes", "judge", "control_failure", "unmeasured", "CONTROL"]
