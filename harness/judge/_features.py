"""How each feature of the catalog (`harness.model`'s FEATURES) is judged: the check of the spans a
read path returned, and for a page feature the check of what the page showed. Search features are
judged from search answers (see the judge's search module) and have no check here."""

from __future__ import annotations

from collections.abc import Callable

from ..model import (
    ATTRIBUTE_TYPES,
    FEATURES,
    LINK_DROPPED_ATTRIBUTES_COUNT,
    LINK_FLAGS,
    LINK_ORDER,
    LINK_PRESENT,
    LINK_TARGET_ARRIVED,
    LINK_TARGET_IDS,
    LINK_TRACE_STATE,
    RENDER_ATTRIBUTES_SHOWN,
    RENDER_LINK_SHOWN,
    RENDER_PARENT_KEPT,
    RENDER_TARGET_IDENTIFIED,
    RENDER_TARGET_MARKED,
    RENDER_TARGET_NAVIGABLE,
    RENDER_TRACE_SHOWN,
    SPAN_DROPPED_LINKS_COUNT,
    SPAN_PARENT_WITH_LINK_TO_PARENT,
    attribute_feature,
)
from . import _checks as checks
from . import _page_checks as render_checks
from ._checks import Check, Outcome
from ._page_checks import RenderSubject

RenderCheck = Callable[[RenderSubject], "Outcome | None"]

# The check of the spans: for a page feature, the API check of the same data (did the page's own
# API, or a hop before it, already lose it?).
CHECKS: dict[str, Check] = {
    LINK_PRESENT: checks.check_present,
    LINK_TARGET_IDS: checks.check_target_ids,
    LINK_TARGET_ARRIVED: checks.check_target_arrived,
    **{attribute_feature(kind): checks.attribute_check(kind) for kind in ATTRIBUTE_TYPES},
    LINK_TRACE_STATE: checks.check_trace_state,
    LINK_FLAGS: checks.check_flags,
    LINK_ORDER: checks.check_order,
    LINK_DROPPED_ATTRIBUTES_COUNT: checks.check_dropped_attributes_count,
    SPAN_DROPPED_LINKS_COUNT: checks.check_dropped_links_count,
    SPAN_PARENT_WITH_LINK_TO_PARENT: checks.check_parent_kept,
    RENDER_LINK_SHOWN: checks.check_present,
    RENDER_TARGET_IDENTIFIED: checks.check_target_ids,
    RENDER_TARGET_NAVIGABLE: checks.check_target_ids,
    RENDER_ATTRIBUTES_SHOWN: checks.check_all_attributes,
    RENDER_PARENT_KEPT: checks.check_linking_parents,
    RENDER_TARGET_MARKED: checks.check_present,
    RENDER_TRACE_SHOWN: checks.check_present,
}

# The check of what a page showed.
PAGE_CHECKS: dict[str, RenderCheck] = {
    RENDER_LINK_SHOWN: render_checks.check_link_shown,
    RENDER_TARGET_IDENTIFIED: render_checks.check_target_identified,
    RENDER_TARGET_NAVIGABLE: render_checks.check_target_navigable,
    RENDER_ATTRIBUTES_SHOWN: render_checks.check_attributes_shown,
    RENDER_PARENT_KEPT: render_checks.check_parent_kept,
    RENDER_TARGET_MARKED: render_checks.check_target_marked,
    RENDER_TRACE_SHOWN: render_checks.check_trace_shown,
}

# Every feature of the catalog is judged: by a check, or (search features) from search answers.
assert set(CHECKS) == {f for f, spec in FEATURES.items() if not spec.is_search}, "a feature without a check"
assert set(PAGE_CHECKS) == {f for f, spec in FEATURES.items() if spec.is_render}, "a page feature without a page check"


def check_of(feature: str) -> Check | None:
    """The check of the spans for `feature` (None for a search feature)."""
    return CHECKS.get(feature)


def page_check_of(feature: str) -> RenderCheck:
    return PAGE_CHECKS[feature]
