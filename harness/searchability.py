"""Searchability: can a backend find the linking span by what its link carries?

For each search feature the scenario lists, queries are built from what was sent (a link's
target trace id, span id, or each of its attributes). A search read path runs them until each one
finds the linking span or the path's own deadline passes; its index lags, so it never holds up
the trace reads. A control query on the run id, narrowed to the very span, proves the search
works at all; only an answer (HTTP 200) without the span is a miss, and a miss is judged only once
something proves it final (`SearchReadPath.misses_proven_by`): the run-id control, or where link
fields are indexed later, a query on another field of the same link (its span id, by a control
probe of its own), having found the span before the miss was asked. A miss nothing proves final by
the deadline is "could not measure", never a loss: it cannot be told from a slow index.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .backends.base import Http, SearchAnswer, SearchQuery, SearchReadPath
from .checks import MISSING, OK, Difference, Outcome, Status, outcome_of
from .emit import Emission
from .errors import NotVisibleError, ServiceDiedError
from .features import FEATURES
from .model import INVALID_TRACE_ID, value_type
from .otlp import RUN_ID_ATTRIBUTE
from .vocabulary import CONTROL, LINK_ATTRIBUTE, LINK_CONTROL, LINK_SPAN_ID, LINK_TRACE_ID
from .wait import wait_until

SEARCHABLE_TYPES = ("string", "int", "bool")  # what a tag or TraceQL equality can express
# Linking spans probed per scenario: a search that finds ten of them finds the rest the same way,
# and 150 identical probes would only make the run slower.
MAX_PROBED_SPANS = 10
# Statuses that refuse the query itself (not a moment of the backend's): the probe is not asked again.
REFUSED = frozenset({400, 401, 403, 405, 413, 414, 422})


@dataclass
class Probe:
    feature: str  # the search feature it measures, or CONTROL / LINK_CONTROL
    query: SearchQuery
    label: str  # the linking span's label
    expect: tuple[str, str]  # the linking span
    answer: SearchAnswer | None = None  # the last answer
    found: bool = False
    error: str = ""  # why its last attempt measured nothing (no answer, or not a 200)
    unreachable: str = ""  # why it was not run: a hop's record proves the span never got there
    died: bool = False  # the backend died while it ran
    found_after: float | None = None  # seconds from the start of the searches until it found its span
    # Why a miss is final before the deadline: the control query had already found this very span,
    # so the index held it when this query was asked and still did not return it.
    concluded_by: str = ""

    @property
    def is_control(self) -> bool:
        return self.feature in (CONTROL, LINK_CONTROL)


def probes_for(emission: Emission, features: list[str]) -> list[Probe]:
    """One probe per (search feature, linking span): the first valid link's target, and each
    searchable attribute of that link; plus, per linking span, one control probe that any working
    search answers (by the span's run id and name), and one by that link's span id (where link
    fields are indexed apart, it proves them indexed)."""
    probes: list[Probe] = []
    service = f"linkmatrix-{emission.scenario}"
    start, end = int(emission.started) - 60, int(emission.ended) + 3600
    # Every span of the scenario could match a query: ask for more results than that.
    limit = max(100, 2 * len(emission.sdk) + 10)
    linking = [(span, link) for span in emission.linking_spans_as_finished
               if (link := next((link for link in span.links if link.trace_id != INVALID_TRACE_ID), None))]
    for span, link in linking[:MAX_PROBED_SPANS]:
        label = emission.labels.get(span.key, span.name)
        if features:
            probes.append(Probe(CONTROL, SearchQuery(CONTROL, emission.run_id, service, start, end,
                                                     key=RUN_ID_ATTRIBUTE, span_name=span.name, limit=limit),
                                label, span.key))
            probes.append(Probe(LINK_CONTROL, SearchQuery(LINK_SPAN_ID, link.span_id, service, start, end,
                                                          limit=limit), label, span.key))
        for feature in features:
            kind = FEATURES[feature].search
            if kind == LINK_TRACE_ID:
                probes.append(Probe(feature, SearchQuery(kind, link.trace_id, service, start, end, limit=limit),
                                    label, span.key))
            elif kind == LINK_SPAN_ID:
                probes.append(Probe(feature, SearchQuery(kind, link.span_id, service, start, end, limit=limit),
                                    label, span.key))
            elif kind == LINK_ATTRIBUTE:
                for key, value in sorted(link.attributes.items()):
                    if value_type(value) in SEARCHABLE_TYPES:
                        probes.append(Probe(feature, SearchQuery(kind, value, service, start, end, key=key,
                                                                 limit=limit), label, span.key))
    return probes


def _no_death() -> str | None:
    return None


def run_probes(http: Http, path: SearchReadPath, base_url: str, probes: list[Probe], cancel: threading.Event,
               death_notice: Callable[[], str | None] = _no_death) -> float:
    """Poll every probe this path can express until it finds its span, the deadline passes, the
    backend dies, or `cancel` is set; returns the seconds it took. Only an HTTP 200 answer counts
    as a miss: a refused connection or an error status is "could not measure" (probe.error)."""
    started = time.monotonic()
    pending = [probe for probe in probes if probe.query.kind in path.kinds | {CONTROL} and not probe.unreachable
               and (probe.feature != LINK_CONTROL or path.misses_proven_by == "link")]
    proofs: dict[tuple[str, str], str] = {}  # span → the query whose finding it proves its misses final

    def proves(probe: Probe) -> bool:
        if path.misses_proven_by == "span":
            return probe.feature == CONTROL
        return probe.feature != CONTROL  # any query on a field of the link (they all ask the same link)

    def one_round() -> list[Probe]:
        death = death_notice()
        if death:
            for probe in pending:
                probe.error, probe.died = death, True
            raise ServiceDiedError(death)
        for probe in list(pending):
            try:
                probe.answer = path.search(http, base_url, probe.query)
            except Exception as error:  # a failing query is that probe's error, not the run's
                probe.error = f"{type(error).__name__}: {error}"
                continue
            status = probe.answer.status
            probe.error = "" if status == 200 else f"HTTP {status}: {str(probe.answer.raw)[:300]}"
            if status in REFUSED:  # the query itself was refused: asking again cannot change that
                pending.remove(probe)
                continue
            if probe.expect in probe.answer.found:
                probe.found, probe.found_after = True, time.monotonic() - started
                pending.remove(probe)
                if proves(probe):
                    proofs.setdefault(probe.expect, probe.answer.query_text)
            elif status == 200 and not probe.is_control and probe.expect in proofs:
                # Asked after the proof had found the span (controls go first): a conclusive miss.
                probe.concluded_by = proofs[probe.expect]
                pending.remove(probe)
        if all(p.is_control for p in pending):  # controls only prove misses: none is left to prove
            pending.clear()
        return pending

    # What each query found, or why it could not, is on its probe: the wait's own outcome is not needed.
    with contextlib.suppress(NotVisibleError, ServiceDiedError):
        if pending:
            wait_until(one_round, lambda left: not left, timeout=path.timeout, cancel=cancel, what=path.label,
                       describe=lambda left: f"{len(left)} queries without the linking span",
                       first_delay=0.5, max_delay=5.0)
    return time.monotonic() - started


def unanswered(path: SearchReadPath, probes: list[Probe]) -> int:
    """How many of the queries this path can express found nothing (for a line on the terminal)."""
    return sum(1 for probe in probes if probe.query.kind in path.kinds and not probe.is_control
               and not probe.found and not probe.unreachable and not probe.error)


def control_failure(probes: list[Probe]) -> str | None:
    """Why the search cannot be trusted in this run: the control query found nothing for a span
    that some query missed (where every query found its span, the search plainly works)."""
    missed = {probe.expect for probe in probes if not probe.is_control and not probe.found and not probe.unreachable}
    for probe in probes:
        if probe.feature == CONTROL and probe.expect in missed and not probe.found:
            query = probe.answer.query_text if probe.answer else probe.query.kind
            if probe.error:
                return (f"the control query ({query}) got no answer: {probe.error}; link searches on this path "
                        "are not judged")
            return (f"the search did not find the span even by its run id ({query}) in time; link searches on "
                    "this path are not judged")
    return None


def unmeasured(probes: list[Probe], timeout: float) -> str | None:
    """Why a search feature could not be measured: a query that never got a usable answer, or a
    miss nothing proved final before the deadline (it cannot be told from a slow index)."""
    for probe in probes:
        query = probe.answer.query_text if probe.answer else probe.query.kind
        if probe.error and not probe.found:
            return f"could not measure {query}: {probe.error}"
        if not probe.found and not probe.unreachable and not probe.concluded_by:
            return (f"could not tell a miss from a slow index: {query} found nothing, and nothing proved the "
                    f"index held the span (no query on another field of its link found it) within {timeout:.0f} s")
    return None


def judge(probes: list[Probe]) -> Outcome:
    statuses: list[Status] = []
    differences: list[Difference] = []
    sent: dict[str, str] = {}
    received: dict[str, str] = {}
    for probe in probes:
        text = probe.answer.query_text if probe.answer else probe.query.kind
        sent[text] = f"expects {probe.label}"
        if probe.unreachable:
            statuses.append(MISSING)
            received[text] = probe.unreachable
            differences.append(Difference(f"search[{text}]", probe.label, None, probe.unreachable, "not_reached",
                                          value=probe.query.value))
        elif probe.found:
            statuses.append(OK)
            received[text] = "found"
        else:
            statuses.append(MISSING)
            seen = len(probe.answer.found) if probe.answer else 0
            received[text] = f"not found ({seen} other spans/traces matched)"
            leading_zero = probe.query.kind == LINK_TRACE_ID and str(probe.query.value).startswith("0")
            why = f"; conclusive: asked after the control query {probe.concluded_by} had found it"
            differences.append(Difference(f"search[{text}]", probe.label, None,
                                          f"the linking span is not among {seen} results{why}",
                                          "not_found_leading_zero" if leading_zero else "not_found",
                                          value=probe.query.value))
    return outcome_of(statuses, sent, received, differences,
                      f"{statuses.count(OK)} of {len(statuses)} queries found the linking span")
