"""Searchability: can a backend find the linking span by what its link carries?

For each search feature the scenario lists, queries are built from what was sent (a link's
target trace id, span id, or each of its attributes). A search read path runs them until each one
finds the linking span or the path's own deadline passes; its index lags, so it never holds up
the trace reads. A control query on the run id, narrowed to the very span, proves the search
works at all; only an answer (HTTP 200) without the span is a miss, and a miss is judged only once
something proves it final (`SearchReadPath.misses_proven_by`): the run-id control, or where link
fields are indexed later, a query on another field of the same link (its span id, by a control
probe of its own), having found the span before the miss was asked. A miss nothing proves final by
the deadline is "could not measure", never a loss: it cannot be told from a slow index.
"""

from __future__ import annotations

from ..model import CONTROL, LINK_TRACE_ID, Probe
from ._checks import CHANGED, MISSING, OK, Difference, Outcome, Status, outcome_of


def control_failure(probes: list[Probe]) -> str | None:
    """Why the search cannot be trusted in this run: the control query found nothing for a span
    that some query missed (where every query found its span, the search plainly works)."""
    missed = {probe.expect for probe in probes
              if not probe.is_control and not probe.every and not probe.found and not probe.unreachable}
    for probe in probes:
        if probe.feature == CONTROL and probe.expect in missed and not probe.found:
            query = probe.answer.query_text if probe.answer else probe.query.kind
            if probe.error:
                return (f"the control query ({query}) got no answer: {probe.error}; link searches on this path "
                        "are not judged")
            return (f"the search did not find the span even by its run id ({query}) in time; link searches on "
                    "this path are not judged")
    return None


def unmeasured(probes: list[Probe], timeout: float) -> str | None:
    """Why a search feature could not be measured: a query that never got a usable answer, or a
    miss nothing proved final before the deadline (it cannot be told from a slow index)."""
    for probe in probes:
        query = probe.answer.query_text if probe.answer else probe.query.kind
        if probe.error and not probe.found:
            return f"could not measure {query}: {probe.error}"
        if not probe.found and not probe.unreachable and not probe.concluded_by:
            return (f"could not tell a miss from a slow index: {query} found nothing, and nothing proved the "
                    f"index held the span (no query on another field of its link found it) within {timeout:.0f} s")
    return None


def judge_probes(probes: list[Probe]) -> Outcome:
    statuses: list[Status] = []
    differences: list[Difference] = []
    sent: dict[str, str] = {}
    received: dict[str, str] = {}
    for probe in probes:
        text = probe.answer.query_text if probe.answer else probe.query.kind
        sent[text] = f"expects {probe.label}"
        if probe.unreachable:
            statuses.append(MISSING)
            received[text] = probe.unreachable
            differences.append(Difference(f"search[{text}]", probe.label, None, probe.unreachable, "not_reached",
                                          value=probe.query.value))
        elif probe.found:
            statuses.append(OK)
            received[text] = "found"
        else:
            statuses.append(MISSING)
            seen = len(probe.answer.found) if probe.answer else 0
            received[text] = f"not found ({seen} other spans/traces matched)"
            leading_zero = probe.query.kind == LINK_TRACE_ID and str(probe.query.value).startswith("0")
            why = f"; conclusive: asked after the control query {probe.concluded_by} had found it"
            differences.append(Difference(f"search[{text}]", probe.label, None,
                                          f"the linking span is not among {seen} results{why}",
                                          "not_found_leading_zero" if leading_zero else "not_found",
                                          value=probe.query.value))
    return outcome_of(statuses, sent, received, differences,
                      f"{statuses.count(OK)} of {len(statuses)} queries found the linking span")


def every_unmeasured(probes: list[Probe]) -> str | None:
    """Why completeness could not be measured: no proof found every matching span (a search that
    returns fewer could be a slow index), or the value's own query got no usable answer."""
    if not probes:
        return "no link attribute value is shared by enough linking spans to ask for all of them"
    for probe in probes:
        if probe.unreachable:
            continue
        if probe.error and not probe.found:
            return f"could not measure whether every match comes back: {probe.error}"
        if not probe.attempts:
            return "could not measure whether every match comes back: the value's query was never asked"
    return None


def judge_every_match(probes: list[Probe]) -> Outcome:
    """All matching spans found by one of the limits tried: preserved; some: degraded (how many at
    best, at each limit); none at any limit: lost. Asked only after a proof had found them all."""
    statuses: list[Status] = []
    differences: list[Difference] = []
    sent: dict[str, str] = {}
    received: dict[str, str] = {}
    for probe in probes:
        total = len(probe.every)
        if probe.unreachable:
            statuses.append(MISSING)
            differences.append(Difference(f"search[{probe.query.key}]", total, None, probe.unreachable,
                                          "not_reached", value=probe.query.value))
            continue
        for attempt in probe.attempts:
            text = f"{attempt.query_text} with {attempt.parameters}"
            sent[text] = f"expects all {probe.label}"
            received[text] = "found" if attempt.found == total else f"{attempt.found} of {total}"
        best = max(attempt.found for attempt in probe.attempts)
        statuses.append(OK if best == total else MISSING if best == 0 else CHANGED)
        if best < total:
            tried = ", ".join(f"{a.found} with {a.parameters}" for a in probe.attempts)
            differences.append(Difference(
                f"search[{probe.query.key}]", total, best,
                f"{best} of the {total} spans came back at best ({tried}); conclusive: asked after "
                f"{probe.proven_by} had found all {total}",
                "not_found" if best == 0 else "not_all_found", value=probe.query.value))
    counts = "; ".join(f"{a.found} of {len(p.every)} with {a.parameters}" for p in probes for a in p.attempts)
    return outcome_of(statuses, sent, received, differences, counts or "no span reached the backend")
