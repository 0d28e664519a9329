"""The judge stage: what was sent and what was observed → every cell of the matrix. Pure: no
service, no clock, no file — the same inputs always give the same cells, so it is tested alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..model import (
    COLLECTOR_HOP,
    ERROR,
    FEATURES,
    LINK_PRESENT,
    NOT_APPLICABLE,
    UPSTREAM_HOPS,
    Cell,
    Emission,
    Hop,
    LinkmatrixError,
    ObservationKey,
    Observations,
    Pipeline,
    ReadPath,
    Rendered,
    RenderReadPath,
    Scenario,
    SearchReadPath,
    Span,
    through_collector,
)
from ._checks import Outcome, pairings_kept
from ._hops import (
    attach_hop_messages,
    cell_for,
    compare_with_fresh_reads,
    exercised_features,
    not_in_pipeline,
    render_cell,
    search_cell,
    upstream_outcomes,
)


@dataclass(frozen=True)
class Topology:
    """What the judge needs to know of the stack: which pipelines reach which backends, and which
    backends could not be read at all."""

    unreached: frozenset[tuple[Pipeline, str]] = frozenset()  # (pipeline, backend) never sent to
    failed: Mapping[str, str] = field(default_factory=dict)  # backend that did not start or died → why

    def never_sent(self, pipeline: Pipeline, backend: str) -> bool:
        """The pipeline does not reach the backend (a backend that died is never that: its cells are errors)."""
        return (pipeline, backend) in self.unreached and backend not in self.failed


def _fits(feature: str, path: ReadPath) -> bool:
    """Search features are read by search paths, render features by render paths, the rest by trace paths."""
    spec = FEATURES[feature]
    if isinstance(path, SearchReadPath):
        return spec.is_search
    if isinstance(path, RenderReadPath):
        return spec.is_render
    return not spec.is_search and not spec.is_render


def judge(scenarios: Sequence[Scenario], emissions: Sequence[Emission],
          wire: dict[tuple[str, Pipeline], list[Span]], observations: Observations,
          columns: Sequence[ReadPath], topology: Topology, rendered: Rendered | None = None) -> list[Cell]:
    by_name = {scenario.name: scenario for scenario in scenarios}
    rendered = rendered or Rendered()
    cells: list[Cell] = []
    with pairings_kept():
        _judge_all(emissions, by_name, wire, observations, columns, topology, rendered, cells, {})
    compare_with_fresh_reads(cells, columns)
    return cells


# (emission, feature, hop, backend for the collector hop) → that hop's outcome: the SDK's and the
# wire's are the same for every read path, the collector's for every read path of one backend.
UpstreamCache = dict[tuple[int, str, str, str], tuple[Emission, Outcome]]


def _upstream(cache: UpstreamCache, emission: Emission, feature: str, backend: str,
              hop_spans: dict[str, list[Span]]) -> dict[Hop, Outcome]:
    outcomes: dict[Hop, Outcome] = {}
    for hop in UPSTREAM_HOPS:
        if hop in hop_spans:
            key = (id(emission), feature, hop, backend if hop == COLLECTOR_HOP else "")
            if key not in cache:  # the emission is held with it: its id is not reused meanwhile
                cache[key] = (emission, upstream_outcomes(emission, feature, {hop: hop_spans[hop]})[hop])
            outcomes[hop] = cache[key][1]
    return outcomes


def _judge_all(emissions: Sequence[Emission], by_name: dict[str, Scenario],
               wire: dict[tuple[str, Pipeline], list[Span]], observations: Observations,
               columns: Sequence[ReadPath], topology: Topology, rendered: Rendered, cells: list[Cell],
               upstream: UpstreamCache) -> None:
    for emission in emissions:
        pipeline = emission.pipeline
        if not emission.linking_spans:  # nothing to measure: said in one row, not left out silently
            cells += [not_in_pipeline(emission, LINK_PRESENT, path)
                      if topology.never_sent(pipeline, path.backend)
                      else _nothing_sent(emission, by_name[emission.scenario], path)
                      for path in columns if _fits(LINK_PRESENT, path)]
            continue
        for feature in exercised_features(emission, by_name[emission.scenario].checks):
            for path in columns:
                if _fits(feature, path):
                    cell = _cell(emission, pipeline, feature, path, wire, observations, topology, rendered,
                                 upstream)
                    if cell is not None:
                        cells.append(cell)
            upstream.clear()  # the next feature judges other views: these (whole, big) are let go


def _nothing_sent(emission: Emission, scenario: Scenario, path: ReadPath) -> Cell:
    if scenario.is_capture:
        return Cell(emission.scenario, LINK_PRESENT, path.backend, path.name, emission.pipeline, NOT_APPLICABLE,
                    reason="no span of the capture has links; nothing to measure")
    unsampled = [trace.id for trace in scenario.traces if not trace.sampled and any(span.links for span in trace.spans)]
    many = len(unsampled) > 1
    why = (f"the trace{'s' * many} {', '.join(unsampled)}, which hold{'' if many else 's'} the links, "
           f"{'are' if many else 'is'} not sampled (sampled: false): the SDK exported none of "
           f"{'their' if many else 'its'} spans" if unsampled else "the scenario gives no span a link")
    return Cell(emission.scenario, LINK_PRESENT, path.backend, path.name, emission.pipeline, NOT_APPLICABLE,
                reason=f"no span with links was exported: {why}; nothing to measure")


def _cell(emission: Emission, pipeline: Pipeline, feature: str, path: ReadPath,
          wire: dict[tuple[str, Pipeline], list[Span]], observations: Observations, topology: Topology,
          rendered: Rendered, upstream_cache: UpstreamCache) -> Cell | None:
    if topology.never_sent(pipeline, path.backend):
        return not_in_pipeline(emission, feature, path)
    # Every hop is this emission's own record: no verdict depends on other scenarios.
    # A replayed capture's first hop is the capture (no SDK): what the file held, as sent.
    hop_spans: dict[str, list[Span]] = {emission.first_hop: emission.sdk,
                                        "wire": wire.get((emission.scenario, pipeline), [])}
    keys = {span.key for span in emission.sdk}
    collected = through_collector(pipeline)
    records = observations.hop_records if collected else observations.direct_records
    record = records.get((path.backend, emission.route))
    if record is not None and collected:
        hop_spans["collector"] = record.view(keys)
    upstream = _upstream(upstream_cache, emission, feature, path.backend, hop_spans)
    key = ObservationKey(emission.scenario, pipeline, path.backend, path.name)
    unread = LinkmatrixError("not read")
    # A backend that died, or a hop that could not be measured, makes every measured cell an error
    # with that reason (declared gaps stay n/a).
    why = topology.failed.get(path.backend) or (record.unmeasurable(keys) if record else "")
    unmeasurable = LinkmatrixError(why) if why else None
    if isinstance(path, SearchReadPath):
        cell: Cell | None = search_cell(emission, feature, path, upstream,
                                        unmeasurable or observations.searches.get(key, unread))
    elif isinstance(path, RenderReadPath):
        api = observations.reads.get(ObservationKey(emission.scenario, pipeline, path.backend, path.api), unread)
        cell = render_cell(emission, feature, path, upstream, api,
                           unmeasurable or rendered.shown.get(key, unread), rendered.screenshots.get(key, []),
                           rendered.left_out.get(key, set()), rendered.pages.get(key, {}))
    else:
        cell = cell_for(emission, feature, path, upstream, unmeasurable or observations.reads.get(key, unread))
    if cell is not None and record is not None:
        attach_hop_messages(cell, record)
    return cell


def not_emitted(failed: Mapping[tuple[str, Pipeline], str], columns: Sequence[ReadPath], topology: Topology,
                planned: Mapping[tuple[str, Pipeline], Emission] | None = None,
                scenarios: Sequence[Scenario] = ()) -> list[Cell]:
    """A scenario that could not be sent on a pipeline: nothing of it can be measured. With the spans
    it would have sent (`planned`) it has every cell a sent one has, each `error` with why (declared
    gaps and pipelines that never reach a backend stay n/a, as in any run); without them, one
    `link.present` cell per read path the pipeline reaches."""
    by_name = {scenario.name: scenario for scenario in scenarios}
    cells: list[Cell] = []
    for (scenario, pipeline), why in failed.items():
        emission = (planned or {}).get((scenario, pipeline))
        if emission is not None and scenario in by_name:
            cells += _unmeasured(emission, by_name[scenario], columns, topology, f"not emitted: {why}")
        else:
            cells += [Cell(scenario, LINK_PRESENT, path.backend, path.name, pipeline, ERROR,
                           reason=f"not emitted: {why}")
                      for path in columns if (pipeline, path.backend) not in topology.unreached]
    return cells


def _unmeasured(emission: Emission, scenario: Scenario, columns: Sequence[ReadPath], topology: Topology,
                why: str) -> list[Cell]:
    """The cells `_judge_all` gives an emission, with nothing observed: each read an error saying why."""
    pipeline, failed = emission.pipeline, LinkmatrixError(why)
    if not emission.linking_spans:
        return [not_in_pipeline(emission, LINK_PRESENT, path) if topology.never_sent(pipeline, path.backend)
                else _nothing_sent(emission, scenario, path) for path in columns if _fits(LINK_PRESENT, path)]
    cells: list[Cell | None] = []
    for feature in exercised_features(emission, scenario.checks):
        for path in columns:
            if not _fits(feature, path):
                continue
            if topology.never_sent(pipeline, path.backend):
                cells.append(not_in_pipeline(emission, feature, path))
            elif isinstance(path, SearchReadPath):
                cells.append(search_cell(emission, feature, path, {}, failed))
            elif isinstance(path, RenderReadPath):
                cells.append(render_cell(emission, feature, path, {}, failed, failed, []))
            else:
                cells.append(cell_for(emission, feature, path, {}, failed))
    return [cell for cell in cells if cell is not None]


def nothing_measured(scenarios: Sequence[Scenario], columns: Sequence[ReadPath], reason: str) -> list[Cell]:
    """A run that emitted nothing at all: every scenario's cell on every read path is `error`, with why."""
    return [Cell(scenario.name, LINK_PRESENT, path.backend, path.name, scenario.pipelines[0], ERROR, reason=reason)
            for scenario in scenarios for path in columns]
