"""Verdicts per (scenario, feature, read path), with the first hop where each feature changed.

The baseline is what the scenario's code asked for ("requested"), or the SDK's finished span for
features that only exist once the SDK acted (a dropped count). Each hop is compared with it in
flow order; a loss that happens before the backend is reported as that hop's loss in every
column, not as a backend failure. Everything here is pure: spans and answers in, cells out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ..model import (
    BACKEND,
    ERROR,
    FEATURES,
    LINK_PRESENT,
    NOT_APPLICABLE,
    PRESERVED,
    RENDER_TRACE_SHOWN,
    SDK_ZIPKIN,
    UPSTREAM_HOPS,
    Cell,
    Emission,
    Hop,
    HopRecord,
    Probe,
    ReadPath,
    RenderReadPath,
    SearchReadPath,
    ShownSpan,
    Span,
    TracePage,
    TraceReadPath,
    index_spans,
    probes_for,
    selected_features,
)
from ._checks import Outcome, Subject, bounded, bounded_pair
from ._features import check_of, page_check_of
from ._page_checks import RenderSubject
from ._search import control_failure, every_unmeasured, judge_every_match, judge_probes, unmeasured


def _check(feature: str) -> Callable[[Subject], Outcome | None]:
    check = check_of(feature)
    assert check is not None, f"{feature} is judged from search answers, not spans"
    return check


def _subject(emission: Emission, feature: str, spans: list[Span]) -> Subject:
    sdk_baseline = FEATURES[feature].baseline == "sdk"
    baseline = emission.linking_spans_as_finished if sdk_baseline else emission.linking_spans
    return Subject(baseline, index_spans(spans), emission.labels, frozenset(span.key for span in emission.sdk))


def _evidence_of(outcome: Outcome) -> dict[str, Any]:
    # Bounded: the whole views are the outcomes' own, compared hop by hop, and then let go.
    sent, received = bounded_pair(outcome.sent, outcome.received)
    return {"sent": sent, "received": received,
            "difference": [difference.to_json() for difference in outcome.differences]}


def exercised_features(emission: Emission, wanted: tuple[str, ...] | None) -> list[str]:
    """Features the scenario's own sent data exercises (a check of the baseline against itself)."""
    exercised = []
    for feature in selected_features(wanted):
        spec = FEATURES[feature]
        if spec.is_search:
            if any(probe.feature == feature for probe in probes_for(emission, [feature])):
                exercised.append(feature)
        elif _check(feature)(_subject(emission, feature, emission.sdk if spec.baseline == "sdk"
                                      else emission.requested)) is not None:
            exercised.append(feature)
    return exercised


def upstream_outcomes(emission: Emission, feature: str, hop_spans: dict[str, list[Span]]) -> dict[Hop, Outcome]:
    # A search can only find what reached the backend: upstream, a search feature is the link itself.
    feature = LINK_PRESENT if FEATURES[feature].is_search else feature
    outcomes: dict[Hop, Outcome] = {}
    for hop in UPSTREAM_HOPS:
        if hop in hop_spans:
            outcome = _check(feature)(_subject(emission, feature, hop_spans[hop]))
            assert outcome is not None  # the baseline exercised it, so every hop does
            outcomes[hop] = outcome
    return outcomes


def not_in_pipeline(emission: Emission, feature: str, read_path: ReadPath) -> Cell:
    return Cell(emission.scenario, feature, read_path.backend, read_path.name, emission.pipeline, NOT_APPLICABLE,
                reason=f"the {emission.pipeline} pipeline does not reach {read_path.backend} "
                       + ("(the SDK's Zipkin exporter sends to one backend only)" if emission.pipeline == SDK_ZIPKIN
                          else "(it has no OTLP receiver of its own)"))


def _new_cell(emission: Emission, feature: str, read_path: ReadPath, upstream: dict[Hop, Outcome]) -> Cell:
    return Cell(emission.scenario, feature, read_path.backend, read_path.name, emission.pipeline, ERROR,
                hops={hop: outcome.verdict for hop, outcome in upstream.items()})


def _settled(cell: Cell, read_path: ReadPath, gap: tuple[str, str] | None, received: object) -> bool:
    """Settle a cell that needs no judging: n/a for a declared gap (its text, and the key of its
    note in the read path), error for a read that failed. False: it is still to be judged."""
    if gap:
        text, note_key = gap
        note = read_path.notes.get(note_key, "")
        cell.verdict, cell.reason = NOT_APPLICABLE, text + (f": {note}" if note else "")
        return True
    if isinstance(received, Exception):
        cell.reason = str(received) or type(received).__name__
        return True
    return False


def cell_for(emission: Emission, feature: str, read_path: TraceReadPath,
             upstream: dict[Hop, Outcome], received: list[Span] | Exception) -> Cell:
    needs = FEATURES[feature].needs
    gap = (f"{read_path.label} cannot carry link {needs}", needs) if needs and needs in read_path.cannot_carry else None
    cell = _new_cell(emission, feature, read_path, upstream)
    if _settled(cell, read_path, gap, received) or isinstance(received, Exception):
        return cell
    outcome = _check(feature)(_subject(emission, feature, received))
    assert outcome is not None
    _record(cell, outcome, lambda: changed_at({**upstream, BACKEND: outcome}))
    warnings = _backend_warnings(emission, received)
    if warnings and outcome.changed:
        cell.evidence["backend_warnings"] = warnings
    return cell


def _record(cell: Cell, outcome: Outcome, hops_that_changed: Callable[[], list[Hop]]) -> None:
    """Put a judged outcome on its cell; a change no hop shows is the backend's."""
    cell.verdict, cell.summary, cell.evidence = outcome.verdict, outcome.summary, _evidence_of(outcome)
    cell.hops[BACKEND] = outcome.verdict
    if outcome.changed:
        cell.changed_at = hops_that_changed() or [BACKEND]
        cell.hop = cell.changed_at[0]


def search_cell(emission: Emission, feature: str, read_path: SearchReadPath, upstream: dict[Hop, Outcome],
                probes: list[Probe] | Exception) -> Cell:
    kind = FEATURES[feature].search
    gap = (f"{read_path.label} has no such query", kind) if kind and kind not in read_path.kinds else None
    cell = _new_cell(emission, feature, read_path, upstream)
    if _settled(cell, read_path, gap, probes) or isinstance(probes, Exception):
        return cell
    mine = [probe for probe in probes if probe.feature == feature]
    if FEATURES[feature].every_match:
        broken = every_unmeasured(mine)
    else:
        broken = control_failure(probes) or unmeasured(mine, read_path.timeout)
    if broken:
        cell.reason = broken
        return cell
    outcome = judge_every_match(mine) if FEATURES[feature].every_match else judge_probes(mine)
    # Upstream a search feature is the link itself (link.present): the first hop that lost it.
    _record(cell, outcome, lambda: [hop for hop, earlier in upstream.items() if earlier.changed][:1])
    return cell


RENDER: Hop = "render"


def render_cell(emission: Emission, feature: str, read_path: RenderReadPath, upstream: dict[Hop, Outcome],
                api: list[Span] | Exception, shown: dict[str, ShownSpan] | Exception,
                screenshots: list[str], left_out: set[str] | frozenset[str] = frozenset(),
                pages: dict[str, TracePage] | None = None) -> Cell | None:
    """What the page showed, judged against what was sent. The hop is "render" when the UI's own API
    had the data and the page did not show it; when the API (or a hop before it) had already lost
    it, that hop is named. Linking spans `left_out` (no page was opened for them) are judged
    neither on the page nor in the API they are compared with."""
    cell = _new_cell(emission, feature, read_path, upstream)
    if read_path.render is None:
        cell.verdict, cell.reason = NOT_APPLICABLE, f"{read_path.label} is not rendered: {read_path.gap}"
        return cell
    every = len(emission.linking_spans)
    whole = emission
    if left_out:
        emission = replace(emission, requested=[span for span in emission.requested
                                                 if not (span.links and span.span_id in left_out)])
    if not page_would_judge(emission, feature):
        return None  # nothing of it on any page (a dangling link has no target to mark)
    if isinstance(shown, Exception):
        cell.reason = str(shown) or type(shown).__name__
        return cell
    subject = RenderSubject(emission.linking_spans, index_spans(emission.sdk), shown, emission.labels, pages or {})
    outcome = page_check_of(feature)(subject)
    not_drawn = {trace_id: page.words for trace_id, page in subject.not_drawn().items()}
    if outcome is None:  # what it looks at was asked for and is not on the page: where it was lost is upstream
        return _nothing_on_page(cell, not_drawn)
    api_outcome = api_whole = None
    # A page is opened only for a trace its API showed: a trace not drawn is the page's own doing.
    if not isinstance(api, Exception) and feature != RENDER_TRACE_SHOWN:
        api_outcome = _check(feature)(_subject(emission, feature, api))
        # The hops before the page are compared on every linking span, as the upstream views are.
        api_whole = _check(feature)(_subject(whole, feature, api)) if left_out else api_outcome
    cell.verdict, cell.summary, cell.evidence = outcome.verdict, outcome.summary, _evidence_of(outcome)
    if outcome.verdict == NOT_APPLICABLE:
        cell.reason, cell.summary = outcome.summary, ""
        return cell
    _render_hops(cell, outcome, upstream, api_outcome, api_whole)
    cell.evidence["shown"] = {emission.labels.get(span.key, span.name): bounded(shown[span.span_id].to_json())
                              for span in emission.linking_spans if span.span_id in shown}
    if not_drawn:  # every render cell of a trace that was not drawn says why, not only render.trace_shown
        cell.evidence["trace_not_drawn"] = not_drawn
        if feature != RENDER_TRACE_SHOWN and outcome.changed:
            cell.summary = f"{cell.summary} — {_not_drawn_words(not_drawn)}"
    if feature == RENDER_TRACE_SHOWN:
        cell.hops[BACKEND] = PRESERVED
        cell.evidence["pages"] = {trace_id: page.to_json() for trace_id, page in sorted(subject.pages.items())}
        if not_drawn:
            cell.evidence["link_shapes"] = link_shapes(whole, set(not_drawn))
    if screenshots:
        cell.evidence["screenshots"] = sorted(screenshots)
    if left_out:
        cell.evidence["looked_at"] = (f"{len(emission.linking_spans)} of {every} linking spans (pages are opened for "
                                      "a few traces and a few linking spans in each, as a person would look)")
    return cell


def _nothing_on_page(cell: Cell, not_drawn: dict[str, str]) -> Cell:
    """n/a: what the feature looks at is not on the page, and the API columns say where it was lost."""
    cell.verdict = NOT_APPLICABLE
    cell.reason = ("nothing it looks at is on the page (the target is not shown on its trace's page; the API "
                   "columns say where it was lost)")
    if not_drawn:
        cell.reason = f"nothing it looks at is on the page: {_not_drawn_words(not_drawn)}"
        cell.evidence["trace_not_drawn"] = not_drawn
    return cell


def _render_hops(cell: Cell, outcome: Outcome, upstream: dict[Hop, Outcome], api_outcome: Outcome | None,
                 api_whole: Outcome | None) -> None:
    """The page's verdict at `render`, the API's at `backend`; the hop that changed it is the first
    that did: the API (or a hop before it) when it had lost it already, else the page."""
    if api_whole is not None:
        cell.hops[BACKEND] = api_whole.verdict
    cell.hops[RENDER] = outcome.verdict
    if outcome.changed:
        before = changed_at({**upstream, BACKEND: api_whole}) \
            if api_outcome and api_outcome.changed and api_whole else []
        page_differs = api_outcome is None or api_outcome.verdict != outcome.verdict
        cell.changed_at = before + ([RENDER] if page_differs or not before else [])
        cell.hop = cell.changed_at[0]


def page_would_judge(emission: Emission, feature: str) -> bool:
    """Whether a page that showed every span the render stage asks about (the linking spans, and
    their targets in the same trace) would give `feature` a verdict. It decides, from what was sent
    alone, whether a render cell exists: a page that could not be read, a backend that died and a
    scenario that was never sent have the same cells as a healthy run."""
    known = index_spans(emission.sdk)
    linking = emission.linking_spans
    asked = {span.span_id for span in linking} | {
        link.span_id for span in linking for link in span.links
        if link.trace_id == span.trace_id and link.target in known}
    shown = {span_id: ShownSpan(span_id, found=True) for span_id in asked}
    pages = {span.trace_id: TracePage(span.trace_id) for span in linking}
    return page_check_of(feature)(RenderSubject(linking, known, shown, emission.labels, pages)) is not None


def _not_drawn_words(not_drawn: dict[str, str]) -> str:
    trace_id, words = next(iter(sorted(not_drawn.items())))
    more = f" (and {len(not_drawn) - 1} more trace(s))" if len(not_drawn) > 1 else ""
    return f"the page did not draw trace {trace_id}: {words}{more}"


def link_shapes(emission: Emission, trace_ids: set[str]) -> list[str]:
    """The link shapes of the given traces in plain words (a span that links itself, a root that
    links its own child, roots that link each other, several roots): what a finding about a page
    that did not draw them names."""
    spans = [span for span in emission.sdk if span.trace_id in trace_ids]
    by_id = {span.span_id: span for span in spans}
    roots = {span.span_id for span in spans if not span.parent_span_id}
    shapes: list[str] = []

    def add(shape: str) -> None:
        if shape not in shapes:
            shapes.append(shape)

    for span in spans:
        for link in span.links:
            target = by_id.get(link.span_id)
            if target is None or link.trace_id != span.trace_id:
                continue
            if target is span:
                add("a span that links itself")
            elif span.span_id in roots and _descends_from(target, span.span_id, by_id):
                add("a root span that links its own child" if target.parent_span_id == span.span_id
                    else "a root span that links a span under it")
            elif span.span_id in roots and target.span_id in roots:
                add("two root spans that link each other" if any(
                    back.span_id == span.span_id for back in target.links) else "a root span that links another root")
            elif _descends_from(span, target.span_id, by_id) and target.span_id != span.parent_span_id:
                add("a span that links one of its ancestors")
    if len(roots) > 1:
        add(f"a trace with {len(roots)} root spans")
    return shapes


def _descends_from(span: Span, ancestor: str, by_id: dict[str, Span]) -> bool:
    seen: set[str] = set()
    while span.parent_span_id and span.parent_span_id not in seen:
        if span.parent_span_id == ancestor:
            return True
        seen.add(span.parent_span_id)
        parent = by_id.get(span.parent_span_id)
        if parent is None:
            return False
        span = parent
    return False


def attach_hop_messages(cell: Cell, record: HopRecord) -> None:
    """The components' own words behind a change: the collector's log about what its exporter
    dropped, and what the backend answered when it refused a request."""
    messages = {}
    if "collector" in cell.changed_at and record.messages:
        messages["collector"] = record.messages
    if BACKEND in cell.changed_at and record.refused:
        messages[BACKEND] = sorted(set(record.refused.values()))
    if messages:
        cell.evidence["hop_messages"] = messages


def compare_with_fresh_reads(cells: list[Cell], columns: Sequence[ReadPath]) -> None:
    """On each settled read's cell, say what the fresh read of the same data showed, when it
    differed: a backend that changes data as it ages shows it here, not only in two columns."""
    fresh_of = {(path.backend, path.name): path.twin for path in columns
                if isinstance(path, TraceReadPath) and path.age == "settled"}
    by_key = {(c.scenario, c.pipeline, c.feature, c.backend, c.read_path): c for c in cells}
    for cell in cells:
        twin = fresh_of.get((cell.backend, cell.read_path))
        fresh = by_key.get((cell.scenario, cell.pipeline, cell.feature, cell.backend, twin or ""))
        if fresh is not None and (fresh.verdict, fresh.changed_at) != (cell.verdict, cell.changed_at):
            cell.evidence["fresh_read"] = {"read_path": fresh.read_path, "verdict": fresh.verdict,
                                           "changed_at": fresh.changed_at, "summary": fresh.summary}


def _backend_warnings(emission: Emission, received: list[Span]) -> dict[str, list[str]]:
    linking = {span.key for span in emission.linking_spans}
    return {emission.labels.get(span.key, span.name): sorted(set(span.warnings))
            for span in received if span.key in linking and span.warnings}


def changed_at(outcomes: dict[Hop, Outcome]) -> list[Hop]:
    """Every hop whose view of the feature differs from the hop before it (the first compares
    with what was sent): "sdk" alone, or "sdk" then "backend" when both took something away.
    Views are compared without positions, so re-pairing identical links is not a change."""
    hops: list[Hop] = []
    first = next(iter(outcomes.values()))
    previous = _fingerprint(first.sent, PRESERVED, "")
    for hop, outcome in outcomes.items():
        current = _fingerprint(outcome.received, outcome.verdict, outcome.summary)
        if current != previous:
            hops.append(hop)
        previous = current
    return hops


def _fingerprint(view: Any, verdict: str, summary: str) -> tuple[str, str, tuple[str, ...]]:
    values = view.values() if isinstance(view, dict) else view if isinstance(view, list) else [view]
    return verdict, summary, tuple(sorted(json.dumps(value, sort_keys=True, default=str) for value in values))
