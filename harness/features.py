"""Stable feature ids: the rows of the matrix. Reports compare across runs by these names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    id: str
    title: str
    question: str
    opt_in: bool = False  # measured only where a scenario lists it under `checks`


LINK_PRESENT = "link.present"
LINK_TARGET_IDS = "link.target_ids"
LINK_ATTRIBUTE_PREFIX = "link.attribute."  # + the OpenTelemetry type: string, int, double, ...
LINK_TRACE_STATE = "link.trace_state"
LINK_FLAGS = "link.flags"
LINK_ORDER = "link.order"
LINK_DROPPED_ATTRIBUTES_COUNT = "link.dropped_attributes_count"
SPAN_DROPPED_LINKS_COUNT = "span.dropped_links_count"
SPAN_PARENT_WITH_LINK_TO_PARENT = "span.parent_kept"
SEARCH_LINK_TRACE_ID = "search.link_trace_id"
SEARCH_LINK_SPAN_ID = "search.link_span_id"
SEARCH_LINK_ATTRIBUTE = "search.link_attribute"
SEARCH_FEATURES = {SEARCH_LINK_TRACE_ID: "link_trace_id", SEARCH_LINK_SPAN_ID: "link_span_id",
                   SEARCH_LINK_ATTRIBUTE: "link_attribute"}  # feature → query kind

# Every type `model.value_type` can give a sent value: an empty array and a mixed one are values too.
ATTRIBUTE_TYPES = ("string", "int", "double", "bool", "string_array", "int_array", "double_array",
                   "bool_array", "mixed_array", "empty_array")

FEATURES: dict[str, Feature] = {
    feature.id: feature
    for feature in [
        Feature(LINK_PRESENT, "link present", "Does the span come back with as many links as were sent?"),
        Feature(LINK_TARGET_IDS, "exact target ids", "Does every link point at the same trace id and span id?"),
        *[
            Feature(f"{LINK_ATTRIBUTE_PREFIX}{kind}", f"{kind.replace('_', ' ')} link attribute",
                    f"Does each {kind.replace('_', ' ')} link attribute come back with its value and its type?")
            for kind in ATTRIBUTE_TYPES
        ],
        Feature(LINK_TRACE_STATE, "trace_state", "Does each link keep its W3C trace_state?"),
        Feature(LINK_FLAGS, "flags", "Does each link keep its flags (sampled, is-remote bits)?"),
        Feature(LINK_ORDER, "order of links", "Do the links come back in the order they were added?"),
        Feature(LINK_DROPPED_ATTRIBUTES_COUNT, "dropped attributes count",
                "When the SDK drops link attributes over its limit, does the link still say how many?"),
        Feature(SPAN_DROPPED_LINKS_COUNT, "dropped links count",
                "When the SDK drops links over its limit, does the span still say how many?"),
        Feature(SPAN_PARENT_WITH_LINK_TO_PARENT, "parent kept beside a link to it",
                "When a span links its own parent, does it still have its parent (not only a link)?"),
        Feature(SEARCH_LINK_TRACE_ID, "find spans linking a trace",
                "Can you search for the spans that link to a given trace?", opt_in=True),
        Feature(SEARCH_LINK_SPAN_ID, "find spans linking a span",
                "Can you search for the spans that link to a given span?", opt_in=True),
        Feature(SEARCH_LINK_ATTRIBUTE, "find spans by link attribute",
                "Can you search for spans by an attribute of their link?", opt_in=True),
    ]
}

FEATURE_ORDER = {feature_id: position for position, feature_id in enumerate(FEATURES)}


def attribute_feature(kind: str) -> str:
    return f"{LINK_ATTRIBUTE_PREFIX}{kind}"
