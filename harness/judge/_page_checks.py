"""Render features: (what was sent, what a page showed) → verdict + evidence. Like the API
checks, every difference is collected, named by a field path and given a kind."""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..model import INVALID_TRACE_ID, NOT_APPLICABLE, Link, ShownLink, ShownSpan, Span, TracePage, value_type
from ._checks import CHANGED, MISSING, OK, Difference, Outcome, Tally, pair_links


@dataclass
class RenderSubject:
    """The linking spans as sent, the spans the run sent at all, and what the page showed of each."""

    sent: list[Span]  # the linking spans (at the baseline)
    known: dict[tuple[str, str], Span]  # every span the scenario sent (targets among them)
    shown: dict[str, ShownSpan]  # span id → what the page showed
    labels: dict[tuple[str, str], str]
    pages: dict[str, TracePage] = field(default_factory=dict)  # trace id → the trace page opened for it

    def not_drawn(self) -> dict[str, TracePage]:
        """The opened trace pages that did not draw their trace (blank, an error, never settled)."""
        return {trace_id: page for trace_id, page in self.pages.items() if not page.drawn}

    def spans(self) -> Iterable[tuple[str, Span, ShownSpan]]:
        for span in self.sent:
            yield self.labels.get(span.key, span.name), span, self.shown.get(span.span_id, ShownSpan(span.span_id))

    def pairs(self) -> Iterable[tuple[str, Span, Link, ShownLink | None]]:
        """Each sent link with what the page shows of it."""
        for label, span, shown in self.spans():
            matched = _match_shown(span, self.known.get(span.key), shown.links)
            for index, link in enumerate(span.links):
                yield f"spans[{label}].links[{index}]", span, link, matched.get(index)


def _match_shown(span: Span, exported: Span | None, shown: list[ShownLink]) -> dict[int, ShownLink]:
    """Sent link index → the shown link that is it: by the target's span id where the page shows
    ids; else by the attributes written on it; else in order. Ids and order among the links the SDK
    exported (a page shows what its API returned, in that order, and cannot show what the SDK
    dropped; links to one target share its span id)."""
    exported_indices = {pair.index for pair in pair_links(span, exported, "") if pair.received is not None} \
        if exported is not None else set(range(len(span.links)))
    matched: dict[int, ShownLink] = {}
    used: set[int] = set()  # positions on the page already matched
    by_span_id: dict[str, deque[int]] = defaultdict(deque)
    for at, item in enumerate(shown):
        if item.span_id:
            by_span_id[item.span_id].append(at)
    for index, link in enumerate(span.links):
        places = by_span_id.get(link.span_id)
        if index in exported_indices and places:
            used.add(places[0])
            matched[index] = shown[places.popleft()]
    without_ids = [at for at, item in enumerate(shown) if not item.span_id]
    for index, link in enumerate(span.links):
        if index not in matched and link.attributes:
            found = next((at for at in without_ids if at not in used and _shows_attributes(shown[at], link)), None)
            if found is not None:
                used.add(found)
                matched[index] = shown[found]
    in_order = iter([at for at in without_ids if at not in used])
    for index in sorted(exported_indices - set(matched)):
        found = next(in_order, None)
        if found is None:
            break
        matched[index] = shown[found]
    return matched


def _shows_attributes(item: ShownLink, link: Link) -> bool:
    return all(_value_shown(item.attributes.get(key), value) for key, value in link.attributes.items())


def _done(tally: Tally, noun: str) -> Outcome | None:
    return tally.outcome(f"{tally.statuses.count(OK)} of {len(tally.statuses)} {noun} shown")


def _shown_as_another_relation(subject: RenderSubject) -> dict[str, list[Difference]]:
    """Linking span label → its links the page lists under another label (a second parent…):
    shown, named and followable, but not as a link."""
    found: dict[str, list[Difference]] = defaultdict(list)
    for path, span, _, item in subject.pairs():
        if item is not None and item.relation:
            found[subject.labels.get(span.key, span.name)].append(
                Difference(path, "a link", f"listed as {item.relation}",
                           f"shown as {item.relation} (another relation), not as a link", "relation_changed"))
    return found


def check_link_shown(subject: RenderSubject) -> Outcome | None:
    tally = Tally()
    statuses, differences, sent, received = tally.statuses, tally.differences, tally.sent, tally.received
    relations = _shown_as_another_relation(subject)
    for label, span, shown in subject.spans():
        got = len(shown.links) if shown.found else 0
        sent[label], received[label] = len(span.links), got if shown.found else "the span is not on the page"
        as_other = relations.get(label, [])
        shown_as_links = min(got, len(span.links)) - len(as_other)
        statuses += [OK] * max(0, shown_as_links) + [CHANGED] * len(as_other) \
            + [MISSING] * max(0, len(span.links) - got)
        differences += as_other
        if got < len(span.links):
            note = "not on the page" if not shown.found else f"{len(span.links) - got} not shown"
            differences.append(Difference(f"spans[{label}].links", len(span.links), got, note, "missing"))
        if got > len(span.links):
            statuses.append(CHANGED)
            differences.append(Difference(f"spans[{label}].links", len(span.links), got, "more shown than sent",
                                          "extra"))
    return _done(tally, "links")


def check_target_identified(subject: RenderSubject) -> Outcome | None:
    tally = Tally()
    statuses, differences, sent, received = tally.statuses, tally.differences, tally.sent, tally.received
    for path, span, link, shown in subject.pairs():
        sent[path] = f"{link.trace_id}/{link.span_id}"
        if shown is None:
            statuses.append(MISSING)
            received[path] = None
            differences.append(Difference(path, sent[path], None, "the link is not shown", "missing"))
            continue
        same_trace = link.trace_id == span.trace_id
        says_span = shown.span_id == link.span_id or (same_trace and bool(shown.names))
        says_trace = shown.trace_id == link.trace_id or same_trace
        received[path] = shown.names or "/".join(filter(None, [shown.trace_id, shown.span_id])) or shown.text[:120]
        if says_span and says_trace:
            statuses.append(OK)
        elif says_span:
            statuses.append(CHANGED)
            differences.append(Difference(path, sent[path], received[path],
                                          "its span id is shown, its trace id only inside a link", "value_changed"))
        else:
            statuses.append(CHANGED)
            differences.append(Difference(path, sent[path], received[path], "the target is not named", "value_changed"))
    return _done(tally, "targets")


def check_target_navigable(subject: RenderSubject) -> Outcome | None:
    """Navigable means arrived: where the reader followed the link, it is judged by where it led
    (the target shown and marked, or the page's own words); where nothing could be followed, by
    what there is to follow. A link whose target the run never exported has nowhere to arrive:
    not judged (n/a when no link has one), and what following it showed is kept."""
    tally = Tally()
    statuses, differences, sent, received = tally.statuses, tally.differences, tally.sent, tally.received
    never_exported: dict[str, object] = {}
    for path, span, link, shown in subject.pairs():
        if link.target not in subject.known:
            never_exported[path] = shown.after_following or "not followed" if shown else "not shown"
            continue
        sent[path] = f"{link.trace_id}/{link.span_id}"
        leads = shown is not None and (
            (shown.clickable and link.trace_id == span.trace_id)
            or (link.trace_id in shown.href and link.span_id in shown.href))
        received[path] = (shown.href or ("a click on this page" if shown.clickable else "nothing to follow")) \
            if shown else None
        if shown is not None and shown.arrived is not None:
            received[path] = f"{received[path]} → {shown.after_following}"
            statuses.append(OK if shown.arrived else MISSING)
            if not shown.arrived:
                differences.append(Difference(path, sent[path], received[path],
                                              f"following it does not arrive: {shown.after_following}", "missing"))
            continue
        statuses.append(OK if leads else MISSING)
        if not leads:
            differences.append(Difference(path, sent[path], received[path], "nothing on the page leads to the target",
                                          "missing"))
    if not statuses and never_exported:
        return Outcome(NOT_APPLICABLE, {}, never_exported, [],
                       "no link's target was ever exported: there is nowhere to arrive (what following "
                       "each link showed is in the evidence)")
    outcome = _done(tally, "ways to the target")
    if outcome is not None and never_exported:
        outcome.received = {**outcome.received, "targets never exported (not judged)": never_exported}
    return outcome


def _value_shown(written: str | None, value: object) -> bool:
    """The page writes the value as it was sent: a string as is; a number, bool or array as JSON
    writes it (or as Python does: some UIs print them their own way)."""
    if written is None:
        return False
    if isinstance(value, str):
        return written == value
    as_json = value if not isinstance(value, tuple) else list(value)
    forms = {json.dumps(as_json), json.dumps(as_json, separators=(",", ":")), str(value)}
    if isinstance(value, float) and value.is_integer():
        forms.add(str(int(value)))
    return written in forms


def check_attributes_shown(subject: RenderSubject) -> Outcome | None:
    tally = Tally()
    statuses, differences, sent, received = tally.statuses, tally.differences, tally.sent, tally.received
    for path, _, link, shown in subject.pairs():
        for key, value in link.attributes.items():
            at = f"{path}.attributes[{key}]"
            sent[at] = f"{key}={value!r}" if value_type(value) != "empty_array" else key
            written = shown.attributes.get(key) if shown else None
            visible = _value_shown(written, value)
            received[at] = None if written is None else f"{key}={written}"
            statuses.append(OK if visible else MISSING if written is None else CHANGED)
            if not visible:
                differences.append(Difference(at, sent[at], received[at],
                                              "not on the page" if written is None else "written differently",
                                              "missing" if written is None else "value_changed"))
    return _done(tally, "attributes")


def check_parent_kept(subject: RenderSubject) -> Outcome | None:
    tally = Tally()
    statuses, differences, sent, received = tally.statuses, tally.differences, tally.sent, tally.received
    for label, span, shown in subject.spans():
        sent[label] = span.parent_span_id or "(top of its trace)"
        received[label] = None if shown.parent is None else (shown.parent or "(top of its trace)")
        if shown.parent is None:
            statuses.append(MISSING)
            differences.append(Difference(f"spans[{label}].parent", sent[label], None, "the page does not say",
                                          "parent_lost"))
        elif shown.parent == span.parent_span_id:
            statuses.append(OK)
        else:
            statuses.append(CHANGED)
            moved_under_target = any(link.span_id == shown.parent for link in span.links)
            differences.append(Difference(f"spans[{label}].parent", sent[label], received[label],
                                          "drawn under its link target" if moved_under_target else "drawn elsewhere",
                                          "parent_changed"))
    return _done(tally, "parents")


def check_target_marked(subject: RenderSubject) -> Outcome | None:
    """Only for targets the run sent and the page was asked about (a dangling link has none)."""
    tally = Tally()
    statuses, differences, sent, received = tally.statuses, tally.differences, tally.sent, tally.received
    for path, _, link, _ in subject.pairs():
        target = subject.shown.get(link.span_id)
        if link.trace_id == INVALID_TRACE_ID or link.target not in subject.known or target is None or not target.found:
            continue
        sent[path] = f"{subject.labels.get(link.target, link.span_id)} is linked from elsewhere"
        received[path] = "marked" if target.marked_as_target else "nothing on the target says so"
        statuses.append(OK if target.marked_as_target else MISSING)
        if not target.marked_as_target:
            differences.append(Difference(path, sent[path], None, "the target does not show it is linked", "missing"))
    return _done(tally, "targets marking the link")


def check_trace_shown(subject: RenderSubject) -> Outcome | None:
    """Is each opened trace drawn at all: the page shows the trace, every span asked about is on it,
    and no error stands in its place. A page that did not draw it says why in its own words."""
    tally = Tally()
    statuses, differences, sent, received = tally.statuses, tally.differences, tally.sent, tally.received
    for trace_id, page in sorted(subject.pages.items()):
        path = f"traces[{trace_id}]"
        sent[path] = "the trace drawn, with every span asked about"
        if not page.drawn:
            received[path] = page.words
            statuses.append(MISSING)
            differences.append(Difference(path, sent[path], page.words, f"not drawn: {page.words}", "not_drawn"))
        elif page.missing:
            received[path] = f"drawn without {len(page.missing)} span(s): {', '.join(page.missing[:10])}"
            statuses.append(CHANGED)
            differences.append(Difference(path, sent[path], received[path], "spans missing from the page",
                                          "missing"))
        else:
            received[path] = "drawn"
            statuses.append(OK)
    return _done(tally, "traces")
