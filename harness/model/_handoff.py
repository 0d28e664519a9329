"""What one stage hands to the next: what was sent (`Emission`, `Sent`), what the backends answered
(`Observations`, with the search `Probe`s), what the pages showed (`Rendered`), and the judged
`Cell`s. Plain data: every stage may read them, none of them imports a stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ._columns import SearchAnswer, SearchQuery
from ._records import HopRecord, Key
from ._shown import ShownSpan, TracePage
from ._spans import Span
from ._vocabulary import CONTROL, LINK_CONTROL, Hop, Pipeline, Verdict, route_id


@dataclass
class Emission:
    """What one scenario sent: every span at the hops this stage can see, and how to name them."""

    scenario: str
    run_id: str
    pipeline: Pipeline
    requested: list[Span]
    sdk: list[Span]
    labels: dict[tuple[str, str], str]  # (trace_id, span_id) → "producer[1].produce"
    messages: list[dict[str, str]] = field(default_factory=list)  # headers that carried contexts
    started: float = 0.0  # epoch seconds: the search window
    ended: float = 0.0
    export_failures: int = 0  # exports the SDK's exporter saw fail (the wire tap says why)
    # The first hop `sdk` holds: the SDK's finished spans, or, for a replayed capture, what the file held.
    first_hop: Hop = "sdk"
    services: dict[tuple[str, str], str] = field(default_factory=dict)  # span → its service.name, when not ours
    # A replayed capture's links whose target is not in the capture: kept as they were (trace id, span id).
    outside_targets: frozenset[tuple[str, str]] = frozenset()

    def service_of(self, key: tuple[str, str]) -> str:
        """The service.name a span was sent with (the SDK path names every span after its scenario)."""
        return self.services.get(key, f"linkmatrix-{self.scenario}")

    @property
    def route(self) -> str:
        """Its way through its pipeline (vocabulary.route_id): what its hop records are kept by."""
        return route_id(self.scenario, self.pipeline)

    @property
    def linking_spans(self) -> list[Span]:
        """The spans the code gave links to, as the code asked for them."""
        return [span for span in self.requested if span.links]

    @property
    def linking_spans_as_finished(self) -> list[Span]:
        """The same spans as the SDK finished them (after its limits)."""
        wanted = {span.key for span in self.linking_spans}
        return [span for span in self.sdk if span.key in wanted]


@dataclass
class Delivery:
    """What the next hop after the wire did with one scenario's requests."""

    refused: dict[Key, str] = field(default_factory=dict)  # span → the next hop's own answer
    undelivered: dict[Key, str] = field(default_factory=dict)  # span → why it could not be reached


@dataclass
class Sent:
    emissions: list[Emission] = field(default_factory=list)
    wire: dict[tuple[str, Pipeline], list[Span]] = field(default_factory=dict)  # (scenario, pipeline) → wire
    # (scenario, pipeline, next hop "host:port") → what that hop did with the requests
    delivery: dict[tuple[str, Pipeline, str], Delivery] = field(default_factory=dict)
    ended: float = 0.0  # monotonic time the last export finished
    sdk_versions: dict[Pipeline, str] = field(default_factory=dict)  # pipeline → the earlier SDK release it ran
    failed: dict[tuple[str, Pipeline], str] = field(default_factory=dict)  # (scenario, pipeline) → why not emitted
    # (scenario, pipeline) not emitted → the spans it would have sent (made, sent nowhere): its cells
    planned: dict[tuple[str, Pipeline], Emission] = field(default_factory=dict)


class ObservationKey(NamedTuple):
    scenario: str
    pipeline: Pipeline
    backend: str
    read_path: str


@dataclass
class Observations:
    reads: dict[ObservationKey, list[Span] | Exception] = field(default_factory=dict)
    searches: dict[ObservationKey, list[Probe] | Exception] = field(default_factory=dict)
    # (backend, scenario) → what the collector hop recorded toward that backend
    hop_records: dict[tuple[str, str], HopRecord] = field(default_factory=dict)
    # (backend, scenario) → what the wire tap recorded of the direct pipeline's requests to that backend
    direct_records: dict[tuple[str, str], HopRecord] = field(default_factory=dict)


@dataclass
class Rendered:
    shown: dict[ObservationKey, dict[str, ShownSpan] | Exception] = field(default_factory=dict)
    # The trace pages opened for each scenario (trace id → whether it was drawn, and if not why)
    pages: dict[ObservationKey, dict[str, TracePage]] = field(default_factory=dict)
    screenshots: dict[ObservationKey, list[str]] = field(default_factory=dict)  # relative to the run folder
    skipped: dict[str, str] = field(default_factory=dict)  # render path id → why it was not rendered
    # Linking spans the API showed that no page was opened for (beyond the stage's bounds): their
    # render cells judge the others, and say how many were looked at.
    left_out: dict[ObservationKey, set[str]] = field(default_factory=dict)
    # UI (render path id) → its slowest single trace page, opened to every link read (the floor's part)
    slowest_page: dict[str, float] = field(default_factory=dict)


def _evidence() -> dict[str, Any]:
    return {"sent": None, "received": None, "difference": []}


@dataclass
class Cell:
    scenario: str
    feature: str
    backend: str
    read_path: str
    pipeline: str
    verdict: Verdict
    hop: Hop | None = None
    summary: str = ""
    reason: str = ""
    evidence: dict[str, Any] = field(default_factory=_evidence)
    hops: dict[str, str] = field(default_factory=dict)  # hop → verdict at that hop
    changed_at: list[Hop] = field(default_factory=list)  # every hop that changed it, in flow order

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "scenario": self.scenario, "feature": self.feature, "backend": self.backend,
            "read_path": self.read_path, "pipeline": self.pipeline, "verdict": self.verdict,
        }
        if self.hop:
            record["hop"] = self.hop
            record["changed_at"] = self.changed_at
        if self.summary:
            record["summary"] = self.summary
        if self.reason:
            record["reason"] = self.reason
        record["hops"] = self.hops
        record["evidence"] = self.evidence
        return record


@dataclass(frozen=True)
class SearchAttempt:
    """One way a completeness probe asked for every matching span, and how many of them came back."""

    query_text: str  # the query as the backend's API received it
    parameters: str  # the result limits sent ("the API's defaults" when none was)
    found: int  # how many of the matching spans the answer held
    status: int


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
    # A completeness probe: every span the queried value matches (more than a search returns by
    # default), the queries that prove they are all in the index — one per kind of proof a path
    # takes (`SearchReadPath.misses_proven_by`) — and what each limit tried brought back.
    every: tuple[tuple[str, str], ...] = ()
    proofs: dict[str, SearchQuery] = field(default_factory=dict)
    proven_by: str = ""  # the proof query that found every one of them, before the attempts were asked
    attempts: list[SearchAttempt] = field(default_factory=list)

    @property
    def is_control(self) -> bool:
        return self.feature in (CONTROL, LINK_CONTROL)
