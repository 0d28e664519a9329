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
from .backends.base import ATTRIBUTES, FLAGS, TRACE_STATE
from .model import (FLAG_CONTEXT_HAS_IS_REMOTE, FLAG_CONTEXT_IS_REMOTE, FLAG_SAMPLED, Link, Span,
                    to_json_value, typed, value_type)

PRESERVED, DEGRADED, LOST, NOT_APPLICABLE, ERROR = "preserved", "degraded", "lost", "n/a", "error"
VERDICTS = (PRESERVED, DEGRADED, LOST, NOT_APPLICABLE, ERROR)
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
    reason: str = ""  # for n/a and error

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

    @property
    def path(self) -> str:
        return f"spans[{self.span}].links[{self.index}]"


def pair_links(sent: Span, received: Span | None, label: str) -> list[LinkPair]:
    """Match each sent link with a received one: same target first, then what is left by position."""
    if received is None:
        return [LinkPair(label, i, link, None, None) for i, link in enumerate(sent.links)]
    free: dict[tuple[str, str], list[int]] = defaultdict(list)
    for j, link in enumerate(received.links):
        free[link.target].append(j)
    matched: dict[int, int] = {}
    for i, link in enumerate(sent.links):
        if free[link.target]:
            matched[i] = free[link.target].pop(0)
    leftover_received = sorted(j for js in free.values() for j in js)
    pairs = []
    for i, link in enumerate(sent.links):
        j = matched.get(i)
        if j is None and leftover_received:
            j = leftover_received.pop(0)  # ids changed: still compare the rest of the link
        pairs.append(LinkPair(label, i, link, received.links[j] if j is not None else None, j))
    return pairs


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
        got = len(seen.links) if seen else 0
        sent[label], received[label] = len(span.links), got
        kept = min(got, len(span.links))
        statuses += [OK] * kept + [MISSING] * (len(span.links) - kept)
        if got != len(span.links):
            differences.append(Difference(f"spans[{label}].links", len(span.links), got,
                                          "links missing" if got < len(span.links) else "extra links"))
            if got > len(span.links):
                statuses.append(CHANGED)
    return _outcome(statuses, sent, received, differences, _count_summary(statuses, "links"))


def check_target_ids(subject: Subject) -> Outcome | None:
    statuses, differences, sent, received = [], [], [], []
    for pair in subject.pairs():
        sent.append(f"{pair.sent.trace_id}/{pair.sent.span_id}")
        if pair.received is None:
            statuses.append(MISSING)
            received.append(None)
            differences.append(Difference(pair.path, sent[-1], None, "link missing"))
            continue
        received.append(f"{pair.received.trace_id}/{pair.received.span_id}")
        if pair.received.target == pair.sent.target:
            statuses.append(OK)
        else:
            statuses.append(CHANGED)
            differences.append(Difference(pair.path, sent[-1], received[-1], "points elsewhere"))
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
                elif typed(got) != typed(value):
                    statuses.append(CHANGED)
                    note = (f"type {kind} → {value_type(got)}" if value_type(got) != kind else "value changed")
                    differences.append(Difference(path, sent[path], received[path], note))
                else:
                    statuses.append(OK)
        if not statuses:
            return None
        return _outcome(statuses, sent, received, differences, _count_summary(statuses, f"{kind} attributes"))
    check.__name__ = f"check_attribute_{kind}"
    return check


def check_trace_state(subject: Subject) -> Outcome | None:
    pairs = [pair for pair in subject.pairs() if pair.sent.trace_state]
    if not pairs:
        return None
    statuses, differences, sent, received = [], [], {}, {}
    for pair in pairs:
        sent[pair.path] = pair.sent.trace_state
        got = pair.received.trace_state if pair.received else None
        received[pair.path] = got
        if not got:
            statuses.append(MISSING)
            differences.append(Difference(f"{pair.path}.trace_state", pair.sent.trace_state, got or "", "missing"))
        elif got != pair.sent.trace_state:
            statuses.append(CHANGED)
            differences.append(Difference(f"{pair.path}.trace_state", pair.sent.trace_state, got, "value changed"))
        else:
            statuses.append(OK)
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


def check_order(subject: Subject) -> Outcome | None:
    statuses, differences, sent, received = [], [], {}, {}
    for label, span, seen in subject.spans():
        if len(span.links) < 2:
            continue
        sent_order = [f"{link.trace_id}/{link.span_id}" for link in span.links]
        sent[label] = sent_order
        if seen is None or not seen.links:
            statuses.append(MISSING)
            received[label] = None
            continue
        targets = {link.target for link in span.links}
        got_order = [f"{link.trace_id}/{link.span_id}" for link in seen.links if link.target in targets]
        received[label] = got_order
        if got_order == sent_order:
            statuses.append(OK)
        else:
            statuses.append(CHANGED)
            differences.append(Difference(f"spans[{label}].links", sent_order, got_order,
                                          "order changed" if sorted(got_order) == sorted(sent_order)
                                          else "order not comparable: links missing or changed"))
    if not statuses:
        return None
    return _outcome(statuses, sent, received, differences, "links come back in another order")


# feature id → (check, the link field a read path must carry for the feature to apply)
CHECKS: dict[str, tuple[Check, str | None]] = {
    F.LINK_PRESENT: (check_present, None),
    F.LINK_TARGET_IDS: (check_target_ids, None),
    **{F.attribute_feature(kind): (_attribute_check(kind), ATTRIBUTES) for kind in F.ATTRIBUTE_TYPES},
    F.LINK_TRACE_STATE: (check_trace_state, TRACE_STATE),
    F.LINK_FLAGS: (check_flags, FLAGS),
    F.LINK_ORDER: (check_order, None),
}
assert set(CHECKS) == set(F.FEATURES), "every feature has exactly one check"


def selected_features(wanted: tuple[str, ...] | None) -> list[str]:
    """Feature ids a scenario asks for (None: all), in the catalog's order."""
    if wanted is None:
        return list(CHECKS)
    expanded = set()
    for item in wanted:
        expanded |= ({f for f in CHECKS if f.startswith(F.LINK_ATTRIBUTE_PREFIX)}
                     if item == F.LINK_ATTRIBUTE_PREFIX.rstrip(".") else {item})
    return [feature for feature in CHECKS if feature in expanded]
