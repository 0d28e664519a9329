"""Stable feature ids: the rows of the matrix. Reports compare across runs by these names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    id: str
    title: str
    question: str


LINK_PRESENT = "link.present"
LINK_TARGET_IDS = "link.target_ids"
LINK_ATTRIBUTE_PREFIX = "link.attribute."  # + the OpenTelemetry type: string, int, double, ...
LINK_TRACE_STATE = "link.trace_state"
LINK_FLAGS = "link.flags"
LINK_ORDER = "link.order"
LINK_DROPPED_ATTRIBUTES_COUNT = "link.dropped_attributes_count"
SPAN_DROPPED_LINKS_COUNT = "span.dropped_links_count"
SPAN_PARENT_WITH_LINK_TO_PARENT = "span.parent_kept"

ATTRIBUTE_TYPES = ("string", "int", "double", "bool", "string_array", "int_array", "double_array",
                   "bool_array")

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
    ]
}

FEATURE_ORDER = {feature_id: position for position, feature_id in enumerate(FEATURES)}


def attribute_feature(kind: str) -> str:
    return f"{LINK_ATTRIBUTE_PREFIX}{kind}"
