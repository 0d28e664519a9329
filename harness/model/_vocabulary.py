"""The words every stage shares: verdicts, hops, pipelines, the link fields a read path may be
unable to carry, search kinds, and the kinds of difference a check reports. Typed, so that a
misspelt word is a type error rather than a new word."""

from __future__ import annotations

from typing import Final, Literal

Verdict = Literal["preserved", "degraded", "lost", "n/a", "error"]
PRESERVED: Final = "preserved"
DEGRADED: Final = "degraded"
LOST: Final = "lost"
NOT_APPLICABLE: Final = "n/a"
ERROR: Final = "error"
VERDICTS: Final[tuple[Verdict, ...]] = (PRESERVED, DEGRADED, LOST, NOT_APPLICABLE, ERROR)

# Where a feature can change, in flow order; "render" is what a UI shows of what the backend returned.
# A replayed capture has no SDK hop: its first hop is "capture", what the capture file holds.
Hop = Literal["capture", "sdk", "wire", "collector", "backend", "render"]
CAPTURE: Final = "capture"
SDK: Final = "sdk"
WIRE: Final = "wire"
COLLECTOR_HOP: Final = "collector"
BACKEND: Final = "backend"
UPSTREAM_HOPS: Final[tuple[Hop, ...]] = (CAPTURE, SDK, WIRE, COLLECTOR_HOP)

# How spans travel: through the collector (every backend), or from the SDK straight to each
# backend's own OTLP receiver. The collector's pipeline comes in variants (pipelines.yaml): each
# variant is a pipeline of its own, named by the variant; "collector" is the plain one.
# Two pipelines leave the collector out: the SDK sends straight to each backend's own OTLP
# receiver (direct), or the SDK's own Zipkin JSON exporter sends to Zipkin (sdk-zipkin).
Pipeline = str
COLLECTOR: Final = "collector"
DIRECT: Final = "direct"
SDK_ZIPKIN: Final = "sdk-zipkin"
SDK_PIPELINES: Final = (DIRECT, SDK_ZIPKIN)


def through_collector(pipeline: Pipeline) -> bool:
    return pipeline not in SDK_PIPELINES


def route_id(scenario: str, pipeline: Pipeline) -> str:
    """One scenario's way through one pipeline: its receiver, exporters and hop records are named by it."""
    return scenario if pipeline in (COLLECTOR, DIRECT) else f"{scenario}.{pipeline}"


# Link fields a read path may be unable to carry at all: a feature that needs one is n/a there.
LinkField = Literal["attributes", "trace_state", "flags", "dropped_attributes_count", "dropped_links_count"]
ATTRIBUTES: Final = "attributes"
TRACE_STATE: Final = "trace_state"
FLAGS: Final = "flags"
DROPPED_ATTRIBUTES_COUNT: Final = "dropped_attributes_count"
DROPPED_LINKS_COUNT: Final = "dropped_links_count"

# What a search is asked to find the linking span by.
SearchKind = Literal["link_trace_id", "link_span_id", "link_attribute", "control"]
LINK_TRACE_ID: Final = "link_trace_id"
LINK_SPAN_ID: Final = "link_span_id"
LINK_ATTRIBUTE: Final = "link_attribute"
CONTROL: Final = "control"  # a query on the run id: proves the search works at all
LINK_CONTROL: Final = "control.link"  # a probe's feature: a query on the link's span id, to prove link fields indexed

# What proves a search miss final before the deadline: "span" — the run-id control had found the
# very span (one index holds all of a span's fields at once); "link" — a query on another field of
# the same link had found it (link fields are indexed apart from, and later than, the span's own).
MissProof = Literal["span", "link"]

# Data age of a read path: "" one read is final; fresh and settled are the two reads of a backend
# whose store changes the data as it ages.
Age = Literal["", "fresh", "settled"]

# What a difference is, so that the reading of it ("what this means for you") never depends on
# the wording of a note or the name of a scenario.
DifferenceKind = Literal[
    "missing",  # sent, and not there
    "link_missing",  # a field of a link that is not there at all (the link's loss: see link.present)
    "missing_invalid_target",  # a link to the all-zero context, not there
    "extra",  # more came back than was sent
    "points_elsewhere",  # a link's target ids changed
    "type_changed",  # an attribute came back as another type
    "truncated",  # a string came back cut
    "sign_changed",  # -0.0 came back as 0.0 or the other way round
    "value_changed",  # any other change of a value
    "bits_lost",  # flags came back without some bits
    "bits_changed",  # flags came back with other bits
    "reordered",  # links came back in another order
    "parent_lost",  # a span that links its parent lost its parent reference
    "parent_changed",  # a span came back under another parent
    "relation_changed",  # a link came back (or is shown) as another relation: a second parent (CHILD_OF)
    "not_drawn",  # a UI page did not draw the trace at all (blank, an error in its place, never settled)
    "not_found",  # a search answered, without the linking span
    "not_found_leading_zero",  # the same, for a trace id that starts with 0
    "not_all_found",  # a search answered with some of the spans that match, not all, at every limit tried
    "not_reached",  # a hop's record proves the data never reached the backend
    "more",  # the rest of a long list of differences, cut for readability
]

# The resource attribute every span of a run carries (its run id): runs never mix, and searches ask by it.
RUN_ID_ATTRIBUTE = "linkmatrix.run_id"
