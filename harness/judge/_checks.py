"""One function per feature: (what was sent, what a hop shows) → verdict + evidence.

Checks never stop at the first difference: every difference is collected, named by a field path
such as `spans[consumer.consume-batch].links[2].attributes[messaging.message.id]`, and given a
kind (`missing`, `truncated`, `type_changed`, …) that later stages read instead of its wording.
Links are matched by target (trace id, span id), not by position, so a reordering is reported as
a reordering and not as changed ids. Checks are pure: they know spans, never backends or hops.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

from ..model import (
    DEGRADED,
    ERROR,
    FLAG_CONTEXT_HAS_IS_REMOTE,
    FLAG_CONTEXT_IS_REMOTE,
    FLAG_SAMPLED,
    INVALID_TRACE_ID,
    LOST,
    NOT_APPLICABLE,
    PRESERVED,
    AttrValue,
    DifferenceKind,
    Link,
    Span,
    Verdict,
    comparable,
    to_json_value,
    value_type,
)

__all__ = [
    "DEGRADED",
    "ERROR",
    "LOST",
    "NOT_APPLICABLE",
    "PRESERVED",
    "Check",
    "Difference",
    "Outcome",
    "Subject",
    "index_ranges",
    "outcome_of",
    "pair_links",
]

MAX_DIFFERENCES = 25  # evidence stays readable for a span with 1,000 links
# A cell's evidence keeps this many entries of a sent/received view (spans, links) and values of
# one; the rest is in sent.json and raw/ (50,000 links: matrix.json 55 MB → 1.6 MB).
MAX_EVIDENCE_ITEMS = 100
MORE = "…"  # the key (or last item) that says how many were left out

Status = Literal["ok", "changed", "missing"]
OK: Status = "ok"
CHANGED: Status = "changed"
MISSING: Status = "missing"


@dataclass(frozen=True)
class Difference:
    path: str
    expected: Any
    actual: Any
    note: str = ""
    kind: DifferenceKind = "value_changed"
    value: Any = None  # what was at issue when `expected` does not say it (a search's queried value)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "expected": self.expected, "actual": self.actual, "note": self.note,
                "kind": self.kind}


@dataclass
class Outcome:
    verdict: Verdict
    sent: Any = None  # whole: a cell's evidence is `bounded` from it
    received: Any = None
    differences: list[Difference] = field(default_factory=list)
    summary: str = ""  # one line: how it changed

    @property
    def changed(self) -> bool:
        return self.verdict in (DEGRADED, LOST)


def bounded(view: Any, keys: list[Any] | None = None) -> Any:
    """A view cut to MAX_EVIDENCE_ITEMS entries (spans, links) and values, saying how many more
    there were. `keys`: the entries to keep (the other side's, so that sent and received show the
    same spans and links)."""
    if isinstance(view, list) and len(view) > MAX_EVIDENCE_ITEMS:
        return [*view[:MAX_EVIDENCE_ITEMS], f"{MORE} {len(view) - MAX_EVIDENCE_ITEMS} more"]
    if not isinstance(view, dict):
        return view
    if len(view) > MAX_EVIDENCE_ITEMS:
        chosen = keys if keys is not None else kept_keys(view)
        kept = {key: view[key] for key in chosen if key in view}
        kept[MORE] = f"{len(view) - len(kept)} more (every one is in sent.json and raw/)"
        view = kept
    return {key: bounded(value) if isinstance(value, list) else value for key, value in view.items()}


def kept_keys(view: dict[Any, Any]) -> list[Any]:
    """The entries a cut view keeps: the first ones; of counts ({label: 200}), the largest, in
    their order (what "most links" is read from)."""
    if all(type(value) is int for value in view.values()):
        largest = set(sorted(view, key=lambda key: view[key], reverse=True)[:MAX_EVIDENCE_ITEMS])
        return [key for key in view if key in largest]
    return list(itertools.islice(view, MAX_EVIDENCE_ITEMS))


def bounded_pair(sent: Any, received: Any) -> tuple[Any, Any]:
    """Both sides of a cell's evidence, cut to the same entries (chosen on the sent side)."""
    if isinstance(sent, dict) and isinstance(received, dict) and len(sent) > MAX_EVIDENCE_ITEMS:
        keys = kept_keys(sent)
        return bounded(sent, keys), bounded(received, keys if len(received) > MAX_EVIDENCE_ITEMS else None)
    return bounded(sent), bounded(received)


@dataclass(frozen=True, slots=True)
class LinkPair:
    span: str  # label of the linking span
    index: int  # position in the sent span
    sent: Link
    received: Link | None
    received_index: int | None
    # Its fate is known: paired on more than its position, or missing while no link with its target
    # was paired by position alone (nor, ids changed, any link). When links share a target and
    # nothing that came back tells them apart, which of them were lost cannot be told.
    certain: bool = True

    @property
    def path(self) -> str:  # (not kept: 400,000 pairs of a 50,000-link run would hold 36 MB of them)
        return f"spans[{self.span}].links[{self.index}]"


AttributeKey = tuple[tuple[str, Hashable], ...]


def _attribute_key(link: Link) -> AttributeKey:
    """A link's attributes, typed and in a fixed order: comparable and hashable."""
    return link.attribute_key


def _identity(link: Link) -> Hashable:
    return link.target, link.trace_state, link.attribute_key


# Pairings already made in this judging (`pairings_kept`): every feature pairs the same spans again.
_PAIRINGS: ContextVar[dict[tuple[int, int, str], tuple[Span, Span, list[LinkPair]]] | None] = \
    ContextVar("pairings", default=None)


@contextlib.contextmanager
def pairings_kept() -> Iterator[None]:
    """Within it, pair_links pairs each (sent span, received span) once; the spans are held, so an
    id is never reused for another span while its pairing is kept."""
    token = _PAIRINGS.set({})
    try:
        yield
    finally:
        _PAIRINGS.reset(token)


def pair_links(sent: Span, received: Span | None, label: str) -> list[LinkPair]:
    """Match each sent link with a received one (see _pair), and say which matches are certain."""
    if received is None:
        return [LinkPair(label, i, link, None, None) for i, link in enumerate(sent.links)]
    kept = _PAIRINGS.get()
    if kept is None:
        return _pair(sent, received, label)
    key = (id(sent), id(received), label)
    if key not in kept:
        kept[key] = (sent, received, _pair(sent, received, label))
    return kept[key][2]


def _pair(sent: Span, received: Span, label: str) -> list[LinkPair]:
    """Pass by pass, each on the links the ones before left: same target and attributes; same
    target and an attribute value only those two links have; same target (one candidate on each
    side, or else in order: a guess); and the rest by position (ids changed: a guess too)."""
    unmatched_sent = list(range(len(sent.links)))
    unmatched_received = list(range(len(received.links)))
    matched: dict[int, int] = {}
    told: set[int] = set()  # paired on more than their position
    for find in (_by_identity, _by_unique_value, _by_target):
        found = find(sent, received, unmatched_sent, unmatched_received)
        for i, (j, certain) in found.items():
            matched[i] = j
            if certain:
                told.add(i)
        taken = {j for j, _ in found.values()}
        unmatched_sent = [i for i in unmatched_sent if i not in found]
        unmatched_received = [j for j in unmatched_received if j not in taken]
    by_position = unmatched_sent[:len(unmatched_received)]  # ids changed: still compare the rest of the link
    matched.update(zip(by_position, unmatched_received, strict=False))
    if len(unmatched_sent) == len(unmatched_received) == 1:  # the one left on each side: no guess
        told.update(by_position)
    # A guess leaves the fate of every link it could have been in doubt: those sharing its target,
    # or, when ids changed, all of them.
    doubtful = {sent.links[i].target for i in matched if i not in told}
    guessed_by_position = any(i not in told for i in by_position)
    return [LinkPair(label, i, link, received.links[matched[i]] if i in matched else None, matched.get(i),
                     i in told or (not guessed_by_position and link.target not in doubtful))
            for i, link in enumerate(sent.links)]


Pairing = dict[int, tuple[int, bool]]  # sent index → (received index, whether the pairing is certain)


def _target(link: Link) -> Hashable:
    return link.target


def _grouped(span: Span, indices: list[int], key: Callable[[Link], Hashable]) -> dict[Hashable, list[int]]:
    """The span's links at `indices`, by `key`, each group in order."""
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for index in indices:
        groups[key(span.links[index])].append(index)
    return groups


def _could_be(sent: Link, received: Link) -> bool:
    """Not ruled out by the attribute counts: a received link that says it lost attributes had more
    than it shows (where a read path does not say, nothing is ruled out)."""
    return (not received.dropped_attributes_count or len(sent.attributes) + sent.dropped_attributes_count
            == len(received.attributes) + received.dropped_attributes_count)


def _by_identity(sent: Span, received: Span, unmatched_sent: list[int], unmatched_received: list[int]) -> Pairing:
    """Same target, trace_state and attributes. Certain unless more sent links than received ones
    are alike (which of identical links went cannot be told)."""
    free, alike = _grouped(received, unmatched_received, _identity), _grouped(sent, unmatched_sent, _identity)
    enough = {key for key, candidates in free.items() if len(alike[key]) <= len(candidates)}
    pairs: Pairing = {}
    for i in unmatched_sent:
        key = _identity(sent.links[i])
        candidates = free.get(key, [])
        found = next((j for j in candidates if _could_be(sent.links[i], received.links[j])), None)
        if found is not None:
            candidates.remove(found)
            pairs[i] = (found, key in enough)
    return pairs


def _by_target(sent: Span, received: Span, unmatched_sent: list[int], unmatched_received: list[int]) -> Pairing:
    """Same target, in order: certain only when one unpaired link on each side has it."""
    free, alike = _grouped(received, unmatched_received, _target), _grouped(sent, unmatched_sent, _target)
    single = {target for target, candidates in free.items() if len(candidates) == 1 and len(alike[target]) == 1}
    pairs: Pairing = {}
    for i in unmatched_sent:
        target = sent.links[i].target
        if free.get(target):
            pairs[i] = (free[target].pop(0), target in single)
    return pairs


def _loose(value: AttrValue) -> Hashable:
    """A value as it tells links apart, whatever a backend did to its type: 2.0 and 2 are one."""
    if isinstance(value, tuple):
        return tuple(_loose(item) for item in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return ("number", "NaN" if value != value else float(value))
    return comparable(value)


def _value_keys(link: Link) -> list[Hashable]:
    return [(link.target, name, _loose(value)) for name, value in link.attributes.items()]


def _by_unique_value(sent: Span, received: Span, unmatched_sent: list[int],
                     unmatched_received: list[int]) -> Pairing:
    """Links a (target, attribute, value) names on both sides that no other unpaired link has:
    `messaging.message.id`, an attempt number, an index. What a limit or a processor left of a
    link's attributes still says which link it is."""
    sent_count: dict[Hashable, int] = defaultdict(int)
    for i in unmatched_sent:
        for key in _value_keys(sent.links[i]):
            sent_count[key] += 1
    received_at: dict[Hashable, list[int]] = defaultdict(list)
    for j in unmatched_received:
        for key in _value_keys(received.links[j]):
            received_at[key].append(j)
    pairs: Pairing = {}
    taken: set[int] = set()
    for i in unmatched_sent:
        for key in _value_keys(sent.links[i]):
            found = received_at.get(key, [])
            if sent_count[key] == 1 and len(found) == 1 and found[0] not in taken:
                pairs[i] = (found[0], True)
                taken.add(found[0])
                break
    return pairs


def index_ranges(indices: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] → "0..2, 5, 7..8": readable evidence for spans with hundreds of links."""
    parts: list[list[int]] = []
    for index in sorted(indices):
        if parts and parts[-1][1] == index - 1:
            parts[-1][1] = index
        else:
            parts.append([index, index])
    return ", ".join(f"{a}..{b}" if a != b else f"{a}" for a, b in parts)


def _verdict(statuses: list[Status]) -> Verdict:
    if all(status == OK for status in statuses):
        return PRESERVED
    if all(status == MISSING for status in statuses):
        return LOST
    return DEGRADED


@dataclass
class Tally:
    """What a check collects item by item: each item's status, what was sent and what came back of
    it, and how each item that was not kept differs; its outcome once every item is counted."""

    statuses: list[Status] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    sent: dict[str, Any] = field(default_factory=dict)
    received: dict[str, Any] = field(default_factory=dict)

    def outcome(self, summary: str) -> Outcome | None:
        """None when nothing was there to check (no item at the baseline: nothing was measured)."""
        if not self.statuses:
            return None
        return outcome_of(self.statuses, self.sent, self.received, self.differences, summary)


def outcome_of(statuses: list[Status], sent: Any, received: Any, differences: list[Difference],
               summary: str) -> Outcome:
    """The verdict of a list of per-item statuses, with the evidence (long lists cut)."""
    verdict = _verdict(statuses)
    shown = differences[:MAX_DIFFERENCES]
    if len(differences) > MAX_DIFFERENCES:
        shown.append(Difference("…", None, None, f"{len(differences) - MAX_DIFFERENCES} more differences", "more"))
    return Outcome(verdict, sent, received, shown, summary if verdict != PRESERVED else "")


def _count_summary(statuses: list[Status], noun: str) -> str:
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
    exported: frozenset[tuple[str, str]] = frozenset()  # every span the SDK exported (link targets among them)

    def spans(self) -> Iterable[tuple[str, Span, Span | None]]:
        for span in self.sent:
            yield self.labels.get(span.key, span.name), span, self.observed.get(span.key)

    def pairs(self) -> list[LinkPair]:
        return [pair for label, sent, received in self.spans() for pair in pair_links(sent, received, label)]


Check = Callable[[Subject], "Outcome | None"]


def _missing_kind(link: Link) -> DifferenceKind:
    return "missing_invalid_target" if link.trace_id == INVALID_TRACE_ID else "missing"


def _absent_kind(pair: LinkPair) -> DifferenceKind:
    """A field is missing; when its whole link is, say so (its loss is the link's, told by
    link.present), and whether that link pointed at the all-zero context."""
    if pair.received is None:
        return "missing_invalid_target" if pair.sent.trace_id == INVALID_TRACE_ID else "link_missing"
    return "missing"


def _guessed(pair: LinkPair, note: str) -> str:
    """A change on a link paired by its position may be another link's."""
    if pair.received is not None and not pair.certain:
        return f"{note} (paired by position: it may be another link's)"
    return note


def _absent_note(pair: LinkPair, note: str = "missing") -> str:
    """A missing link's path is a guess when links sharing its target could not be told apart."""
    if pair.received is None and not pair.certain:
        return f"{note} (this link or another with its target: which of them cannot be told)"
    return note


def _relations_changed(pairs: list[LinkPair], label: str) -> list[Difference]:
    """Links that came back as another relation (a link is there, but read as a second parent)."""
    return [Difference(f"spans[{label}].links[{pair.index}]", "link", pair.received.relation,
                       f"came back as a {pair.received.relation} reference, not as a link", "relation_changed")
            for pair in pairs if pair.received is not None and pair.received.relation]


def check_present(subject: Subject) -> Outcome | None:
    tally = Tally()
    statuses, differences, sent, received = tally.statuses, tally.differences, tally.sent, tally.received
    for label, span, seen in subject.spans():
        pairs = pair_links(span, seen, label)
        got = len(seen.links) if seen else 0
        sent[label], received[label] = len(span.links), got
        missing = [pair for pair in pairs if pair.received is None]
        statuses += [MISSING if pair.received is None else CHANGED if pair.received.relation else OK
                     for pair in pairs]
        differences += _relations_changed(pairs, label)
        ambiguous = any(not pair.certain for pair in missing)
        if missing:
            which = (f"{len(missing)} links missing; which ones cannot be told here (links share a target "
                     "and what came back of their attributes does not tell them apart)" if ambiguous
                     else f"missing: links[{index_ranges([pair.index for pair in missing])}]")
            kinds = {_missing_kind(pair.sent) for pair in missing}
            kind: DifferenceKind = "missing_invalid_target" if kinds == {"missing_invalid_target"} else "missing"
            differences.append(Difference(f"spans[{label}].links", len(span.links), got, which, kind))
        if got > len(span.links):
            statuses.append(CHANGED)
            differences.append(Difference(f"spans[{label}].links", len(span.links), got,
                                          f"{got - len(span.links)} extra links", "extra"))
    return tally.outcome(_count_summary(statuses, "links"))  # no linking span at the baseline: nothing was measured


def check_target_arrived(subject: Subject) -> Outcome | None:
    """A link whose target the SDK exported: are the link and that span both there? If the target
    is not, the link dangles; if the link itself is not, there is nothing to follow to it. Links to
    spans never exported (unsampled, invalid, nowhere) are not asked about."""
    tally = Tally()
    statuses, differences, sent, received = tally.statuses, tally.differences, tally.sent, tally.received
    for pair in subject.pairs():
        link = pair.sent
        if link.target not in subject.exported:
            continue
        target = subject.labels.get(link.target, f"{link.trace_id}/{link.span_id}")
        sent[pair.path] = target
        arrived = pair.received is not None and link.target in subject.observed
        received[pair.path] = target if arrived else None
        statuses.append(OK if arrived else MISSING)
        if pair.received is None:
            differences.append(Difference(pair.path, target, None, _absent_note(pair, "the link itself is missing"),
                                          _absent_kind(pair)))
        elif not arrived:
            differences.append(Difference(pair.path, target, None, f"its target {target} is not there: the link "
                                          "dangles", "missing"))
    return tally.outcome(_count_summary(statuses, "link targets"))


def check_target_ids(subject: Subject) -> Outcome | None:
    tally = Tally()
    statuses, differences, sent, received = tally.statuses, tally.differences, tally.sent, tally.received
    for pair in subject.pairs():
        sent[pair.path] = f"{pair.sent.trace_id}/{pair.sent.span_id}"
        if pair.received is None:
            statuses.append(MISSING)
            received[pair.path] = None
            differences.append(Difference(pair.path, sent[pair.path], None, _absent_note(pair, "link missing"),
                                          _missing_kind(pair.sent)))
            continue
        received[pair.path] = f"{pair.received.trace_id}/{pair.received.span_id}"
        if pair.received.target == pair.sent.target:
            statuses.append(OK)
        else:
            statuses.append(CHANGED)
            differences.append(Difference(pair.path, sent[pair.path], received[pair.path],
                                          _guessed(pair, "points elsewhere"), "points_elsewhere"))
    return tally.outcome(_count_summary(statuses, "targets"))


def attribute_check(kind: str) -> Check:
    """The check of every link attribute whose sent value is of type `kind` (value and type)."""
    def check(subject: Subject) -> Outcome | None:
        return _attributes_outcome(subject, lambda value: value_type(value) == kind, f"{kind} attributes")
    check.__name__ = f"check_attribute_{kind}"
    return check


def _attributes_outcome(subject: Subject, judged: Callable[[AttrValue], bool], noun: str) -> Outcome | None:
    """Each sent link attribute whose value `judged` takes, compared with what came back (value and type)."""
    tally = Tally()
    statuses, differences, sent, received = tally.statuses, tally.differences, tally.sent, tally.received
    for pair in subject.pairs():
        for key, value in pair.sent.attributes.items():
            if not judged(value):
                continue
            path = f"{pair.path}.attributes[{key}]"
            sent[path] = to_json_value(value)
            got = None if pair.received is None else pair.received.attributes.get(key)
            received[path] = None if got is None else to_json_value(got)
            if got is None:
                statuses.append(MISSING)
                differences.append(Difference(path, sent[path], None, _absent_note(pair), _absent_kind(pair)))
            elif comparable(got) != comparable(value):
                statuses.append(CHANGED)
                note, change = _change(value, got)
                differences.append(Difference(path, sent[path], received[path], _guessed(pair, note), change))
            else:
                statuses.append(OK)
    return tally.outcome(_count_summary(statuses, noun))


def _change(sent: AttrValue, got: AttrValue) -> tuple[str, DifferenceKind]:
    if value_type(got) != value_type(sent):
        return f"type {value_type(sent)} → {value_type(got)}", "type_changed"
    if isinstance(sent, str) and isinstance(got, str) and len(got) < len(sent) and sent.startswith(got):
        return f"truncated to {len(got)} of {len(sent)} characters", "truncated"
    if isinstance(sent, float) and isinstance(got, float) and sent == got == 0.0:
        return "sign of zero changed", "sign_changed"
    return "value changed", "value_changed"


def _judge_value(path: str, expected: Any, got: Any, statuses: list[Status], differences: list[Difference],
                 missing: tuple[str, DifferenceKind] = ("missing", "missing"),
                 changed: tuple[str, DifferenceKind] = ("value changed", "value_changed")) -> None:
    """One scalar field: missing when empty, changed when different, else ok."""
    if not got:
        statuses.append(MISSING)
        differences.append(Difference(path, expected, got, *missing))
    elif got != expected:
        statuses.append(CHANGED)
        differences.append(Difference(path, expected, got, *changed))
    else:
        statuses.append(OK)


def check_trace_state(subject: Subject) -> Outcome | None:
    pairs = [pair for pair in subject.pairs() if pair.sent.trace_state]
    if not pairs:
        return None
    tally = Tally()
    statuses, differences, sent, received = tally.statuses, tally.differences, tally.sent, tally.received
    for pair in pairs:
        sent[pair.path] = pair.sent.trace_state
        got = pair.received.trace_state if pair.received else None
        received[pair.path] = got
        _judge_value(f"{pair.path}.trace_state", pair.sent.trace_state, got or "", statuses, differences,
                     missing=(_absent_note(pair), _absent_kind(pair)),
                     changed=(_guessed(pair, "value changed"), "value_changed"))
    return outcome_of(statuses, sent, received, differences, _count_summary(statuses, "trace_states"))


_FLAG_BITS = {FLAG_SAMPLED: "sampled", FLAG_CONTEXT_HAS_IS_REMOTE: "has-is-remote", FLAG_CONTEXT_IS_REMOTE: "is-remote"}


def _flag_names(flags: int) -> list[str]:
    return list(_names_of_flags(flags))


@functools.lru_cache(maxsize=64)  # a run's links carry a handful of different flags
def _names_of_flags(flags: int) -> tuple[str, ...]:
    return tuple(name for bit, name in _FLAG_BITS.items() if flags & bit)


def check_flags(subject: Subject) -> Outcome | None:
    pairs = [pair for pair in subject.pairs() if pair.sent.flags is not None]
    if not pairs:
        return None
    tally = Tally()
    statuses, differences, sent, received = tally.statuses, tally.differences, tally.sent, tally.received
    lost_bits: set[str] = set()
    for pair in pairs:
        expected = pair.sent.flags or 0
        sent[pair.path] = _flag_names(expected)
        got = pair.received.flags if pair.received else None
        received[pair.path] = None if got is None else _flag_names(got)
        if got is None or (got == 0 and expected != 0):
            statuses.append(MISSING)
            differences.append(Difference(f"{pair.path}.flags", expected, got, _absent_note(pair, "flags missing"),
                                          _absent_kind(pair)))
        elif got != expected:
            statuses.append(CHANGED)
            missing = sorted(set(_flag_names(expected)) - set(_flag_names(got)))
            added = sorted(set(_flag_names(got)) - set(_flag_names(expected)))
            lost_bits.update(missing)
            parts = [f"lost {', '.join(missing)}"] * bool(missing) + [f"gained {', '.join(added)}"] * bool(added)
            note = "; ".join(parts)
            differences.append(Difference(f"{pair.path}.flags", expected, got, _guessed(pair, note or "bits changed"),
                                          "bits_lost" if missing and not added else "bits_changed"))
        else:
            statuses.append(OK)
    summary = _count_summary(statuses, "links' flags")
    if lost_bits:
        summary += f" (bits lost: {', '.join(sorted(lost_bits))})"
    return outcome_of(statuses, sent, received, differences, summary)


def _distinguishable(links: tuple[Link, ...]) -> bool:
    """Order is only measurable when each link can be told apart by its target or its attributes."""
    targets = [link.target for link in links]
    attributes = [_attribute_key(link) for link in links]
    return len(set(targets)) == len(links) or (all(attributes) and len(set(attributes)) == len(links))


def check_order(subject: Subject) -> Outcome | None:
    """Among the links that came back, are they in the order they were added? (Missing links are
    link.present's business, not this check's.)"""
    tally = Tally()
    statuses, differences, sent, received = tally.statuses, tally.differences, tally.sent, tally.received
    for label, span, seen in subject.spans():
        if len(span.links) < 2 or not _distinguishable(span.links):
            continue
        pairs = [pair for pair in pair_links(span, seen, label) if pair.received_index is not None]
        # Worded exactly as an unchanged hop's view, so that no hop looks changed by wording alone.
        sent[label] = "in order"
        if not pairs:
            statuses.append(MISSING)
            received[label] = None
            continue
        arrival = [pair.index for pair in sorted(pairs, key=lambda pair: pair.received_index or 0)]
        in_order = arrival == sorted(arrival)
        received[label] = "in order" if in_order else f"sent positions in arrival order: {arrival[:20]}"
        if arrival == sorted(arrival):
            statuses.append(OK)
        else:
            statuses.append(CHANGED)
            differences.append(Difference(f"spans[{label}].links", sorted(arrival)[:20], arrival[:20], "order changed",
                                          "reordered"))
    if not statuses:
        return None
    reordered, none_back = statuses.count(CHANGED), statuses.count(MISSING)
    summary = "; ".join([f"links come back in another order on {reordered} of {len(statuses)} spans"] * bool(reordered)
                        + [f"no link came back on {none_back} of {len(statuses)} spans"] * bool(none_back))
    return outcome_of(statuses, sent, received, differences, summary)


def check_dropped_links_count(subject: Subject) -> Outcome | None:
    """Against the SDK's own count: a backend should say how many links the SDK dropped."""
    tally = Tally()
    statuses, differences, sent, received = tally.statuses, tally.differences, tally.sent, tally.received
    for label, span, seen in subject.spans():
        if not span.dropped_links_count:
            continue
        sent[label] = span.dropped_links_count
        received[label] = seen.dropped_links_count if seen else None
        _judge_value(f"spans[{label}].dropped_links_count", sent[label], received[label], statuses, differences)
    return tally.outcome(_count_summary(statuses, "dropped-link counts"))


def check_dropped_attributes_count(subject: Subject) -> Outcome | None:
    tally = Tally()
    statuses, differences, sent, received = tally.statuses, tally.differences, tally.sent, tally.received
    for pair in subject.pairs():
        if not pair.sent.dropped_attributes_count:
            continue
        path = f"{pair.path}.dropped_attributes_count"
        sent[path] = pair.sent.dropped_attributes_count
        received[path] = pair.received.dropped_attributes_count if pair.received else None
        _judge_value(path, sent[path], received[path], statuses, differences)
    return tally.outcome(_count_summary(statuses, "dropped-attribute counts"))


def check_parent_kept(subject: Subject) -> Outcome | None:
    """Only for spans that link their own parent: some models fold such a link into the parent ref."""
    tally = Tally()
    statuses, differences, sent, received = tally.statuses, tally.differences, tally.sent, tally.received
    for label, span, seen in subject.spans():
        if not any(link.target == (span.trace_id, span.parent_span_id) for link in span.links):
            continue
        sent[label] = span.parent_span_id
        received[label] = seen.parent_span_id if seen else None
        _judge_value(f"spans[{label}].parent_span_id", sent[label], received[label], statuses, differences,
                     missing=("the span lost its parent (the link to it remains)", "parent_lost"),
                     changed=("another parent", "parent_changed"))
    return tally.outcome(_count_summary(statuses, "parents"))


def check_all_attributes(subject: Subject) -> Outcome | None:
    """Every link attribute, whatever its type (what a page showing attributes can show at most)."""
    return _attributes_outcome(subject, lambda value: True, "attributes")


def check_linking_parents(subject: Subject) -> Outcome | None:
    """The parent of every linking span (what a page drawing the span under its parent needs)."""
    tally = Tally()
    statuses, differences, sent, received = tally.statuses, tally.differences, tally.sent, tally.received
    for label, span, seen in subject.spans():
        sent[label] = span.parent_span_id
        received[label] = seen.parent_span_id if seen else None
        if seen is None:
            statuses.append(MISSING)
            differences.append(Difference(f"spans[{label}].parent_span_id", sent[label], None, "span missing",
                                          "missing"))
        elif seen.parent_span_id != span.parent_span_id:
            statuses.append(CHANGED)
            differences.append(Difference(f"spans[{label}].parent_span_id", sent[label], received[label],
                                          "another parent", "parent_changed"))
        else:
            statuses.append(OK)
    return tally.outcome(_count_summary(statuses, "parents"))
