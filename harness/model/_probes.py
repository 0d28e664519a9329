"""What a search feature asks a backend: one probe per (search feature, linking span), with the
control queries that prove a miss final. Plain data and a plan — the observer runs them, the judge
judges their answers."""

from __future__ import annotations

from collections import Counter

from ._columns import SearchQuery
from ._features import FEATURES, selected_features
from ._handoff import Emission, Probe
from ._spans import INVALID_TRACE_ID, value_type
from ._vocabulary import CONTROL, LINK_ATTRIBUTE, LINK_CONTROL, LINK_SPAN_ID, LINK_TRACE_ID, RUN_ID_ATTRIBUTE

SEARCHABLE_TYPES = ("string", "int", "bool")  # what a tag or TraceQL equality can express


# Linking spans probed per scenario: a search that finds ten of them finds the rest the same way,
# and 150 identical probes would only make the run slower.
MAX_PROBED_SPANS = 10


def probes_for(emission: Emission, features: list[str]) -> list[Probe]:
    """One probe per (search feature, linking span): the first valid link's target, and each
    searchable attribute of that link; plus, per linking span, one control probe that any working
    search answers (by the span's run id and name), and one by that link's span id (where link
    fields are indexed apart, it proves them indexed)."""
    probes: list[Probe] = []
    start, end = int(emission.started) - 60, int(emission.ended) + 3600
    # Every span of the scenario could match a query: ask for more results than that.
    limit = max(100, 2 * len(emission.sdk) + 10)
    linking = [(span, link) for span in emission.linking_spans_as_finished
               if (link := next((link for link in span.links if link.trace_id != INVALID_TRACE_ID), None))]
    for span, link in linking[:MAX_PROBED_SPANS]:
        label = emission.labels.get(span.key, span.name)
        service = emission.service_of(span.key)
        if any(not FEATURES[feature].every_match for feature in features):
            probes.append(Probe(CONTROL, SearchQuery(CONTROL, emission.run_id, service, start, end,
                                                     key=RUN_ID_ATTRIBUTE, span_name=span.name, limit=limit),
                                label, span.key))
            probes.append(Probe(LINK_CONTROL, SearchQuery(LINK_SPAN_ID, link.span_id, service, start, end,
                                                          limit=limit), label, span.key))
        for feature in features:
            kind = FEATURES[feature].search
            if FEATURES[feature].every_match:
                continue  # asked once for the whole scenario (every_match_probe), not per span
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
    for feature in features:
        if FEATURES[feature].every_match and (probe := every_match_probe(emission, feature, start, end)):
            probes.append(probe)
    return probes


# A value "shared" is one that more spans carry than a search returns without its limit raised.
MIN_SHARED_SPANS = 2


def every_match_probe(emission: Emission, feature: str, start: int, end: int) -> Probe | None:
    """One probe for the searchable link attribute value the most linking spans of one service carry:
    it asks for all of them at once. Its proofs find the same spans by other means (the run id with
    their name; the span id their links share), each with a limit above their number, so that a
    search by the value that returns fewer is a finding, not a slow index."""
    carriers: dict[tuple[str, str, str, str], set[tuple[str, str]]] = {}  # (service, key, type, value) → spans
    values: dict[tuple[str, str, str, str], object] = {}
    for span in emission.linking_spans_as_finished:
        for link in span.links:
            if link.trace_id == INVALID_TRACE_ID:
                continue
            for key, value in link.attributes.items():
                if value_type(value) in SEARCHABLE_TYPES:
                    shared = (emission.service_of(span.key), key, value_type(value), repr(value))
                    carriers.setdefault(shared, set()).add(span.key)
                    values[shared] = value
    if not carriers:
        return None
    shared = max(sorted(carriers), key=lambda item: len(carriers[item]))
    every = sorted(carriers[shared])
    if len(every) < MIN_SHARED_SPANS:
        return None
    service, key = shared[0], shared[1]
    raised = 2 * len(every) + 10
    spans = {span.key: span for span in emission.linking_spans_as_finished}
    proofs: dict[str, SearchQuery] = {}
    names = Counter(spans[key_].name for key_ in every)
    if len(names) == 1:  # the run-id control narrowed to their one name finds exactly them
        proofs["span"] = SearchQuery(CONTROL, emission.run_id, service, start, end, key=RUN_ID_ATTRIBUTE,
                                     span_name=next(iter(names)), limit=raised)
    targets = {link.span_id for key_ in every for link in spans[key_].links if link.trace_id != INVALID_TRACE_ID}
    if len(targets) == 1:  # one span they all link to: a query on it proves the link index holds them
        proofs["link"] = SearchQuery(LINK_SPAN_ID, next(iter(targets)), service, start, end, limit=raised)
    query = SearchQuery(LINK_ATTRIBUTE, values[shared], service, start, end, key=key, limit=raised)
    label = f"{len(every)} spans with {key}={values[shared]!r}"
    return Probe(feature, query, label, every[0], every=tuple(every), proofs=proofs)


def search_probes(emission: Emission, checks: tuple[str, ...] | None) -> list[Probe]:
    """The probes of the search features a scenario asks for and its sent data exercises (a search
    feature without a query to ask, e.g. no searchable attribute, is not exercised: no control
    is asked for it either)."""
    asked = [feature for feature in selected_features(checks) if FEATURES[feature].is_search] if checks else []
    exercised = [feature for feature in asked
                 if any(probe.feature == feature for probe in probes_for(emission, [feature]))]
    return probes_for(emission, exercised)
