"""The feature catalog: the rows of the matrix, each defined once, here.

A feature is one record: its stable id (reports compare runs by it), what it asks, which link field
a read path must carry for it to apply, what it is judged against (what the code requested, or the
SDK's finished span), whether it is a search or a page feature, and whether it runs only where a
scenario asks for it. How each is judged is the judge's (`harness.judge`: one check per feature,
keyed by these ids); every stage reads this catalog to know what a scenario exercises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._vocabulary import (
    ATTRIBUTES,
    DROPPED_ATTRIBUTES_COUNT,
    DROPPED_LINKS_COUNT,
    FLAGS,
    LINK_ATTRIBUTE,
    LINK_SPAN_ID,
    LINK_TRACE_ID,
    TRACE_STATE,
    LinkField,
    SearchKind,
)

Baseline = Literal["requested", "sdk"]


@dataclass(frozen=True)
class Feature:
    id: str
    title: str
    question: str
    needs: LinkField | None = None  # a read path that cannot carry this field is n/a for it
    # "requested": what the code asked for; "sdk": the SDK's finished span (a dropped count only
    # exists once the SDK has dropped something).
    baseline: Baseline = "requested"
    search: SearchKind | None = None
    opt_in: bool = False  # measured only where a scenario lists it under `checks`
    # A render feature: judged from what a page showed (and, with the API check of the same data,
    # whether the page's own API or a hop before it had already lost it).
    page: bool = False
    # A search feature asked once for every span its value matches (more than a search returns by
    # default): whether all of them can be found, at the API's defaults or with its limits raised.
    every_match: bool = False

    @property
    def is_search(self) -> bool:
        return self.search is not None

    @property
    def is_render(self) -> bool:
        return self.page


LINK_PRESENT = "link.present"
LINK_TARGET_IDS = "link.target_ids"
LINK_TARGET_ARRIVED = "link.target_arrived"
LINK_ATTRIBUTE_PREFIX = "link.attribute."  # + the OpenTelemetry type: string, int, double, ...
LINK_ATTRIBUTES_GROUP = "link.attribute"
SEARCH_PREFIX = "search."  # every search feature
RENDER_PREFIX = "render."  # every feature judged from a page  # in a scenario's `checks`: every attribute type
LINK_TRACE_STATE = "link.trace_state"
LINK_FLAGS = "link.flags"
LINK_ORDER = "link.order"
LINK_DROPPED_ATTRIBUTES_COUNT = "link.dropped_attributes_count"
SPAN_DROPPED_LINKS_COUNT = "span.dropped_links_count"
SPAN_PARENT_WITH_LINK_TO_PARENT = "span.parent_kept"
SEARCH_LINK_TRACE_ID = "search.link_trace_id"
SEARCH_LINK_SPAN_ID = "search.link_span_id"
SEARCH_LINK_ATTRIBUTE = "search.link_attribute"
SEARCH_LINK_ATTRIBUTE_ALL = "search.link_attribute_all"
RENDER_TRACE_SHOWN = "render.trace_shown"
RENDER_LINK_SHOWN = "render.link_shown"
RENDER_TARGET_IDENTIFIED = "render.target_identified"
RENDER_TARGET_NAVIGABLE = "render.target_navigable"
RENDER_ATTRIBUTES_SHOWN = "render.attributes_shown"
RENDER_PARENT_KEPT = "render.parent_kept"
RENDER_TARGET_MARKED = "render.target_marked"

# Every type `model.value_type` can give a sent value: an empty array and a mixed one are values too.
ATTRIBUTE_TYPES = ("string", "int", "double", "bool", "string_array", "int_array", "double_array",
                   "bool_array", "mixed_array", "empty_array")


def attribute_feature(kind: str) -> str:
    return f"{LINK_ATTRIBUTE_PREFIX}{kind}"


def _attribute(kind: str) -> Feature:
    words = kind.replace("_", " ")
    return Feature(attribute_feature(kind), f"{words} link attribute",
                   f"Does each {words} link attribute come back with its value and its type?",
                   needs=ATTRIBUTES)


FEATURES: dict[str, Feature] = {
    feature.id: feature
    for feature in [
        Feature(LINK_PRESENT, "link present", "Does the span come back with as many links as were sent?"),
        Feature(LINK_TARGET_IDS, "exact target ids", "Does every link point at the same trace id and span id?"),
        Feature(LINK_TARGET_ARRIVED, "link target there too",
                "Are each link and the span it points at both there (a dropped or sampled-out target leaves the "
                "link dangling)?"),
        *[_attribute(kind) for kind in ATTRIBUTE_TYPES],
        Feature(LINK_TRACE_STATE, "trace_state", "Does each link keep its W3C trace_state?", needs=TRACE_STATE),
        Feature(LINK_FLAGS, "flags", "Does each link keep its flags (sampled, is-remote bits)?", needs=FLAGS),
        Feature(LINK_ORDER, "order of links", "Do the links come back in the order they were added?"),
        Feature(LINK_DROPPED_ATTRIBUTES_COUNT, "dropped attributes count",
                "When the SDK drops link attributes over its limit, does the link still say how many?",
                needs=DROPPED_ATTRIBUTES_COUNT, baseline="sdk"),
        Feature(SPAN_DROPPED_LINKS_COUNT, "dropped links count",
                "When the SDK drops links over its limit, does the span still say how many?",
                needs=DROPPED_LINKS_COUNT, baseline="sdk"),
        Feature(SPAN_PARENT_WITH_LINK_TO_PARENT, "parent kept beside a link to it",
                "When a span links its own parent, does it still have its parent (not only a link)?"),
        Feature(SEARCH_LINK_TRACE_ID, "find spans linking a trace",
                "Can you search for the spans that link to a given trace?", search=LINK_TRACE_ID, opt_in=True),
        Feature(SEARCH_LINK_SPAN_ID, "find spans linking a span",
                "Can you search for the spans that link to a given span?", search=LINK_SPAN_ID, opt_in=True),
        Feature(SEARCH_LINK_ATTRIBUTE, "find spans by link attribute",
                "Can you search for spans by an attribute of their link?", search=LINK_ATTRIBUTE, opt_in=True),
        Feature(SEARCH_LINK_ATTRIBUTE_ALL, "find every span by a shared link attribute",
                "When more spans carry a link attribute value than a search returns by default, can every one "
                "of them be found (its limits raised), or how many come back?",
                search=LINK_ATTRIBUTE, opt_in=True, every_match=True),
        Feature(RENDER_TRACE_SHOWN, "trace drawn in the UI",
                "Does the UI draw the trace at all: every span asked about on the page, no error instead?",
                page=True),
        Feature(RENDER_LINK_SHOWN, "link shown in the UI", "Does the UI show each link on the linking span?",
                page=True),
        Feature(RENDER_TARGET_IDENTIFIED, "link target named in the UI",
                "Does the UI say which span each link points at (its ids, or its service and operation)?",
                page=True),
        Feature(RENDER_TARGET_NAVIGABLE, "link target one click away",
                "Can a person go from the link to its target (on the page, or to the other trace)?", page=True),
        Feature(RENDER_ATTRIBUTES_SHOWN, "link attributes shown in the UI",
                "Does the UI show each link's attributes with the values sent, as a person reads them "
                "(2.0 written 2 reads the same)?",
                page=True),
        Feature(RENDER_PARENT_KEPT, "span drawn under its own parent",
                "Does the UI draw the linking span under its own parent, not under a link target?", page=True),
        Feature(RENDER_TARGET_MARKED, "target shows it is linked",
                "Does the link's target show in the UI that something links to it?", page=True),
    ]
}

FEATURE_ORDER = {feature_id: position for position, feature_id in enumerate(FEATURES)}


def selected_features(wanted: tuple[str, ...] | None) -> list[str]:
    """Feature ids a scenario asks for (None: every feature that is not opt-in), in catalog order."""
    if wanted is None:
        return [feature for feature, spec in FEATURES.items() if not spec.opt_in]
    expanded: set[str] = set()
    for item in wanted:
        expanded |= ({f for f in FEATURES if f.startswith(LINK_ATTRIBUTE_PREFIX)}
                     if item == LINK_ATTRIBUTES_GROUP else {item})
    return [feature for feature in FEATURES if feature in expanded]


def is_known(name: str) -> bool:
    """A name a scenario may list under `checks`: a feature id, or the group of attribute features."""
    return name in FEATURES or name == LINK_ATTRIBUTES_GROUP


# The decide page's scorecard: per question, the scenarios that stand for what people deploy
# (ordinary valid links). A question's mark comes from these alone; what the other scenarios (edge
# cases: all-zero contexts, non-finite doubles, limits) showed is a caveat line under the mark.
# An empty tuple: every scenario counts (a measure such as the most links kept).
ORDINARY_LINKS = ("add-link-after-start", "cross-trace-attributes", "same-trace-link", "fan-in-via-headers",
                  "fan-out", "messaging-batch", "root-and-child-links", "link-flags",
                  "link-count-limit-raised-by-env", "thousand-links")
# Link shapes the API allows that trace views may not draw: a person meets them in the wild, so
# whether a UI draws them is part of its mark.
LINK_SHAPES = ("root-links-own-child", "span-links-itself", "two-roots-linked", "link-as-child-of")
REPRESENTATIVE_SCENARIOS: dict[str, tuple[str, ...]] = {
    "ui_drawn": (*ORDINARY_LINKS, *LINK_SHAPES),
    "ui_targets": ORDINARY_LINKS,
    "ui_click": ORDINARY_LINKS,
    "search_attribute": ("search-by-link",),
    "search_all": ("search-every-match",),
    # a trace id that starts with 0 is ordinary: 1 random id in 16 does
    "search_target": ("search-by-link", "search-by-link-leading-zero"),
    # a dropped count exists only where the SDK dropped something: the limit scenarios are the cases
    "drop_counted": ("link-count-over-default-limit", "link-attributes-over-default-limit",
                     "link-attributes-over-env-limit"),
    "most_links": (),
    "attribute_types": ORDINARY_LINKS,
}
