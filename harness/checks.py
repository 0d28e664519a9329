"""One function per feature: (what was sent, what a hop shows) → verdict + evidence.

Checks never stop at the first difference: every difference is collected and named by a field
path such as `spans[consumer.consume-batch].links[2].attributes[messaging.message.id]`.
Links are matched by target (trace id, span id), not by position, so a reordering is reported
as a reordering and not as changed ids.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from . import features as F
from .backends.base import ATTRIBUTES, DROPPED_ATTRIBUTES_COUNT, DROPPED_LINKS_COUNT, FLAGS, TRACE_STATE
from .model import (FLAG_CONTEXT_HAS_IS_REMOTE, FLAG_CONTEXT_IS_REMOTE, FLAG_SAMPLED, Link, Span,
                    comparable, to_json_value, value_type)

PRESERVED, DEGRADED, LOST, NOT_APPLICABLE, ERROR = "preserved", "degraded", "lost", "n/a", "error"
MAX_DIFFERENCES = 25  # evidence stays readable for a span with 1,000 links

OK, CHANGED, MISSING = "ok", "changed", "missing"


@dataclass(frozen=True)
class Difference:
    path: str
    expected: Any
    actual: Any
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "expected": self.expected, "actual": self.actual, "note": self.note}


@dataclass
class Outcome:
    verdict: str
    sent: Any = None
    received: Any = None
    differences: list[Difference] = field(default_factory=list)
    summary: str = ""  # one line: how it changed

    @property
    def changed(self) -> bool:
        return self.verdict in (DEGRADED, LOST)


@dataclass(frozen=True)
class LinkPair:
    span: str  # label of the linking span
    index: int  # position in the sent span
    sent: Link
    received: Link | None
    received_index: int | None
    exact: bool = False  # matched on target *and* attributes, not on the target alone

    @property
    def path(self) -> str:
        return f"spans[{self.span}].links[{self.index}]"


def _attribute_key(link: Link) -> tuple:
    """A link's attributes, typed and in a fixed order: comparable and hashable."""
    return tuple(sorted((key, comparable(value)) for key, value in link.attributes.items()))


def _identity(link: Link) -> tuple:
    return link.target, link.trace_state, _attribute_key(link)


def pair_links(sent: Span, received: Span | None, label: str) -> list[LinkPair]:
    """Match each sent link with a received one: same target and attributes first (so we can tell
    which of 200 links to one span survived), then same target, then what is left by position."""
    if received is None:
        return [LinkPair(label, i, link, None, None) for i, link in enumerate(sent.links)]
    unmatched_sent = list(range(len(sent.links)))
    unmatched_received = list(range(len(received.links)))
    matched: dict[int, int] = {}
    exact: set[int] = set()
    for key in (_identity, lambda link: link.target):
        free: dict[object, list[int]] = defaultdict(list)
        for j in unmatched_received:
            free[key(received.links[j])].append(j)
        for i in list(unmatched_sent):
            candidates = free.get(key(sent.links[i]))
            if candidates:
                matched[i] = candidates.pop(0)
                unmatched_sent.remove(i)
                unmatched_received.remove(matched[i])
                if key is _identity:
                    exact.add(i)
    for i in unmatched_sent:  # ids changed: still compare the rest of the link
        if unmatched_received:
            matched[i] = unmatched_received.pop(0)
    return [LinkPair(label, i, link, received.links[matched[i]] if i in matched else None, matched.get(i),
                     i in exact)
            for i, link in enumerate(sent.links)]


def index_ranges(indices: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] → "0..2, 5, 7..8": readable evidence for spans with hundreds of links."""
    parts: list[str] = []
    for index in sorted(indices):
        if parts and parts[-1][1] == index - 1:
            parts[-1][1] = index
        else:
            parts.append([index, index])
    return ", ".join(f"{a}..{b}" if a != b else f"{a}" for a, b in parts)


def _verdict(statuses: list[str]) -> str:
    if all(status == OK for status in statuses):
        return PRESERVED
    if all(status == MISSING for status in statuses):
        return LOST
    return DEGRADED


def _outcome(statuses: list[str], sent: Any, received: Any, differences: list[Difference], summary: str) -> Outcome:
    verdict = _verdict(statuses)
    shown = differences[:MAX_DIFFERENCES]
    if len(differences) > MAX_DIFFERENCES:
        shown.append(Difference("…", None, None, f"{len(differences) - MAX_DIFFERENCES} more differences"))
    return Outcome(verdict, sent, received, shown, summary if verdict != PRESERVED else "")


def _count_summary(statuses: list[str], noun: str) -> str:
    ok = statuses.count(OK)
    missing = statuses.count(MISSING)
    changed = statuses.count(CHANGED)
    parts = [f"{ok} of {len(statuses)} {noun} kept"]
    if changed:
        parts.append(f"{changed} changed")
    if missing:
        parts.append(f"{missing} missing")
    return ", ".join(parts)


@dataclass
class Subject:
    """The linking spans of one scenario at the baseline, and one hop's spans, indexed by id."""

    sent: list[Span]
    observed: dict[tuple[str, str], Span]
    labels: dict[tuple[str, str], str]

    def spans(self) -> Iterable[tuple[str, Span, Span | None]]:
        for span in self.sent:
            yield self.labels.get(span.key, span.name), span, self.observed.get(span.key)

    def pairs(self) -> list[LinkPair]:
        return [pair for label, sent, received in self.spans() for pair in pair_links(sent, received, label)]


Check = Callable[[Subject], "Outcome | None"]


def check_present(subject: Subject) -> Outcome | None:
    statuses, differences, sent, received = [], [], {}, {}
    for label, span, seen in subject.spans():
        pairs = pair_links(span, seen, label)
        got = len(seen.links) if seen else 0
        sent[label], received[label] = len(span.links), got
        missing = [pair.index for pair in pairs if pair.received is None]
        statuses += [MISSING if pair.received is None else OK for pair in pairs]
        ambiguous = (len({link.target for link in span.links}) < len(span.links)
                     and any(pair.received is not None and not pair.exact for pair in pairs))
        if missing:
            which = (f"{len(missing)} links missing; which ones cannot be told here (links share a target "
                     "and their attributes do not come back)" if ambiguous
                     else f"missing: links[{index_ranges(missing)}]")
            differences.append(Difference(f"spans[{label}].links", len(span.links), got, which))
        if got > len(span.links):
            statuses.append(CHANGED)
            differences.append(Difference(f"spans[{label}].links", len(span.links), got,
                                          f"{got - len(span.links)} extra links"))
    return _outcome(statuses, sent, received, differences, _count_summary(statuses, "links"))


def check_target_ids(subject: Subject) -> Outcome | None:
    statuses, differences, sent, received = [], [], {}, {}
    for pair in subject.pairs():
        sent[pair.path] = f"{pair.sent.trace_id}/{pair.sent.span_id}"
        if pair.received is None:
            statuses.append(MISSING)
            received[pair.path] = None
            differences.append(Difference(pair.path, sent[pair.path], None, "link missing"))
            continue
        received[pair.path] = f"{pair.received.trace_id}/{pair.received.span_id}"
        if pair.received.target == pair.sent.target:
            statuses.append(OK)
        else:
            statuses.append(CHANGED)
            differences.append(Difference(pair.path, sent[pair.path], received[pair.path], "points elsewhere"))
    return _outcome(statuses, sent, received, differences, _count_summary(statuses, "targets"))


def _attribute_check(kind: str) -> Check:
    def check(subject: Subject) -> Outcome | None:
        statuses, differences, sent, received = [], [], {}, {}
        for pair in subject.pairs():
            for key, value in pair.sent.attributes.items():
                if value_type(value) != kind:
                    continue
                path = f"{pair.path}.attributes[{key}]"
                sent[path] = to_json_value(value)
                got = None if pair.received is None else pair.received.attributes.get(key)
                received[path] = None if got is None else to_json_value(got)
                if got is None:
                    statuses.append(MISSING)
                    differences.append(Difference(path, sent[path], None, "missing"))
                elif comparable(got) != comparable(value):
                    statuses.append(CHANGED)
                    note = _change_note(value, got)
                    differences.append(Difference(path, sent[path], received[path], note))
                else:
                    statuses.append(OK)
        if not statuses:
            return None
        return _outcome(statuses, sent, received, differences, _count_summary(statuses, f"{kind} attributes"))
    check.__name__ = f"check_attribute_{kind}"
    return check


def _change_note(sent: object, got: object) -> str:
    if value_type(got) != value_type(sent):  # type: ignore[arg-type]
        return f"type {value_type(sent)} → {value_type(got)}"  # type: ignore[arg-type]
    if isinstance(sent, str) and isinstance(got, str) and len(got) < len(sent) and sent.startswith(got):
        return f"truncated to {len(got)} of {len(sent)} characters"
    if isinstance(sent, float) and isinstance(got, float) and sent == got == 0.0:
        return "sign of zero changed"
    return "value changed"


def check_trace_state(subject: Subject) -> Outcome | None:
    pairs = [pair for pair in subject.pairs() if pair.sent.trace_state]
    if not pairs:
        return None
    statuses, differences, sent, received = [], [], {}, {}
    for pair in pairs:
        sent[pair.path] = pair.sent.trace_state
        got = pair.received.trace_state if pair.received else None
        received[pair.path] = got
        _judge_value(f"{pair.path}.trace_state", pair.sent.trace_state, got or "", statuses, differences)
    return _outcome(statuses, sent, received, differences, _count_summary(statuses, "trace_states"))


_FLAG_BITS = {FLAG_SAMPLED: "sampled", FLAG_CONTEXT_HAS_IS_REMOTE: "has-is-remote", FLAG_CONTEXT_IS_REMOTE: "is-remote"}


def _flag_names(flags: int) -> list[str]:
    return [name for bit, name in _FLAG_BITS.items() if flags & bit]


def check_flags(subject: Subject) -> Outcome | None:
    pairs = [pair for pair in subject.pairs() if pair.sent.flags is not None]
    if not pairs:
        return None
    statuses, differences, sent, received = [], [], {}, {}
    lost_bits: set[str] = set()
    for pair in pairs:
        expected = pair.sent.flags or 0
        sent[pair.path] = _flag_names(expected)
        got = pair.received.flags if pair.received else None
        received[pair.path] = None if got is None else _flag_names(got)
        if got is None or (got == 0 and expected != 0):
            statuses.append(MISSING)
            differences.append(Difference(f"{pair.path}.flags", expected, got, "flags missing"))
        elif got != expected:
            statuses.append(CHANGED)
            missing = sorted(set(_flag_names(expected)) - set(_flag_names(got)))
            added = sorted(set(_flag_names(got)) - set(_flag_names(expected)))
            lost_bits.update(missing)
            note = "; ".join(filter(None, [missing and f"lost {', '.join(missing)}",
                                           added and f"gained {', '.join(added)}"]))
            differences.append(Difference(f"{pair.path}.flags", expected, got, note or "bits changed"))
        else:
            statuses.append(OK)
    summary = _count_summary(statuses, "links' flags")
    if lost_bits:
        summary += f" (bits lost: {', '.join(sorted(lost_bits))})"
    return _outcome(statuses, sent, received, differences, summary)


def _distinguishable(links: tuple[Link, ...]) -> bool:
    """Order is only measurable when each link can be told apart by its target or its attributes."""
    targets = [link.target for link in links]
    attributes = [_attribute_key(link) for link in links]
    return len(set(targets)) == len(links) or (all(attributes) and len(set(attributes)) == len(links))


def check_order(subject: Subject) -> Outcome | None:
    """Among the links that came back, are they in the order they were added? (Missing links are
    link.present's business, not this check's.)"""
    statuses, differences, sent, received = [], [], {}, {}
    for label, span, seen in subject.spans():
        if len(span.links) < 2 or not _distinguishable(span.links):
            continue
        pairs = [pair for pair in pair_links(span, seen, label) if pair.received_index is not None]
        sent[label] = f"{len(span.links)} links, in order"
        if not pairs:
            statuses.append(MISSING)
            received[label] = None
            continue
        arrival = [pair.index for pair in sorted(pairs, key=lambda pair: pair.received_index)]
        received[label] = "in order" if arrival == sorted(arrival) else f"sent positions in arrival order: {arrival[:20]}"
        if arrival == sorted(arrival):
            statuses.append(OK)
        else:
            statuses.append(CHANGED)
            differences.append(Difference(f"spans[{label}].links", sorted(arrival)[:20], arrival[:20], "order changed"))
    if not statuses:
        return None
    return _outcome(statuses, sent, received, differences, "links come back in another order")


def _judge_value(path: str, expected: Any, got: Any, statuses: list[str], differences: list[Difference],
                 missing: str = "missing", changed: str = "value changed") -> None:
    """One scalar field: missing when empty, changed when different, else ok."""
    if not got:
        statuses.append(MISSING)
        differences.append(Difference(path, expected, got, missing))
    elif got != expected:
        statuses.append(CHANGED)
        differences.append(Difference(path, expected, got, changed))
    else:
        statuses.append(OK)


def check_dropped_links_count(subject: Subject) -> Outcome | None:
    """Against the SDK's own count: a backend should say how many links the SDK dropped."""
    statuses, differences, sent, received = [], [], {}, {}
    for label, span, seen in subject.spans():
        if not span.dropped_links_count:
            continue
        sent[label] = span.dropped_links_count
        received[label] = seen.dropped_links_count if seen else None
        _judge_value(f"spans[{label}].dropped_links_count", sent[label], received[label], statuses, differences)
    if not statuses:
        return None
    return _outcome(statuses, sent, received, differences, _count_summary(statuses, "dropped-link counts"))


def check_dropped_attributes_count(subject: Subject) -> Outcome | None:
    statuses, differences, sent, received = [], [], {}, {}
    for pair in subject.pairs():
        if not pair.sent.dropped_attributes_count:
            continue
        path = f"{pair.path}.dropped_attributes_count"
        sent[path] = pair.sent.dropped_attributes_count
        received[path] = pair.received.dropped_attributes_count if pair.received else None
        _judge_value(path, sent[path], received[path], statuses, differences)
    if not statuses:
        return None
    return _outcome(statuses, sent, received, differences, _count_summary(statuses, "dropped-attribute counts"))


def check_parent_kept(subject: Subject) -> Outcome | None:
    """Only for spans that link their own parent: some models fold such a link into the parent ref."""
    statuses, differences, sent, received = [], [], {}, {}
    for label, span, seen in subject.spans():
        if not any(link.target == (span.trace_id, span.parent_span_id) for link in span.links):
            continue
        sent[label] = span.parent_span_id
        received[label] = seen.parent_span_id if seen else None
        _judge_value(f"spans[{label}].parent_span_id", sent[label], received[label], statuses, differences,
                     missing="the span lost its parent (the link to it remains)", changed="another parent")
    if not statuses:
        return None
    return _outcome(statuses, sent, received, differences, _count_summary(statuses, "parents"))


# feature id → (check, the link field a read path must carry for the feature to apply)
CHECKS: dict[str, tuple[Check, str | None]] = {
    F.LINK_PRESENT: (check_present, None),
    F.LINK_TARGET_IDS: (check_target_ids, None),
    **{F.attribute_feature(kind): (_attribute_check(kind), ATTRIBUTES) for kind in F.ATTRIBUTE_TYPES},
    F.LINK_TRACE_STATE: (check_trace_state, TRACE_STATE),
    F.LINK_FLAGS: (check_flags, FLAGS),
    F.LINK_ORDER: (check_order, None),
    F.LINK_DROPPED_ATTRIBUTES_COUNT: (check_dropped_attributes_count, DROPPED_ATTRIBUTES_COUNT),
    F.SPAN_DROPPED_LINKS_COUNT: (check_dropped_links_count, DROPPED_LINKS_COUNT),
    F.SPAN_PARENT_WITH_LINK_TO_PARENT: (check_parent_kept, None),
}
# Features judged against the SDK's finished span rather than the code's request: a dropped count
# only exists once the SDK has dropped something.
SDK_BASELINE = {F.LINK_DROPPED_ATTRIBUTES_COUNT, F.SPAN_DROPPED_LINKS_COUNT}
# Search features are judged from search answers (harness.searchability), not from spans.
assert set(CHECKS) | set(F.SEARCH_FEATURES) == set(F.FEATURES), "every feature has exactly one check"


def selected_features(wanted: tuple[str, ...] | None) -> list[str]:
    """Feature ids a scenario asks for (None: every feature that is not opt-in), in catalog order."""
    if wanted is None:
        return [feature for feature, spec in F.FEATURES.items() if not spec.opt_in]
    expanded = set()
    for item in wanted:
        expanded |= ({f for f in CHECKS if f.startswith(F.LINK_ATTRIBUTE_PREFIX)}
                     if item == F.LINK_ATTRIBUTE_PREFIX.rstrip(".") else {item})
    return [feature for feature in F.FEATURES if feature in expanded]
