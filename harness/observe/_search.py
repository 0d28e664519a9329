"""Search read paths: every probe of every emission asked side by side, each polled until it finds
its span, the control query proves a miss final, or the path's own deadline passes."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from ..model import (
    CONTROL,
    LINK_CONTROL,
    Emission,
    HttpClient,
    NotVisibleError,
    ObservationKey,
    Probe,
    SearchReadPath,
    ServiceDiedError,
    jsonio,
    search_probes,
)
from ..stack import wait_until
from ._context import ObserveContext, observation_key
from ._every_match import ask_for_every

# Statuses that refuse the query itself (not a moment of the backend's): the probe is not asked again.
REFUSED = frozenset({400, 401, 403, 405, 413, 414, 422})


def _no_death() -> str | None:
    return None


def run_probes(http: HttpClient, path: SearchReadPath, base_url: str, probes: list[Probe], cancel: threading.Event,
               death_notice: Callable[[], str | None] = _no_death) -> float:
    """Poll every probe this path can express until it finds its span, the deadline passes, the
    backend dies, or `cancel` is set; returns the seconds it took. Only an HTTP 200 answer counts
    as a miss: a refused connection or an error status is "could not measure" (probe.error)."""
    started = time.monotonic()
    pending = [probe for probe in probes if probe.query.kind in path.kinds | {CONTROL} and not probe.unreachable
               and not probe.every and (probe.feature != LINK_CONTROL or path.misses_proven_by == "link")]
    proofs: dict[tuple[str, str], str] = {}  # span → the query whose finding it proves its misses final

    def proves(probe: Probe) -> bool:
        if path.misses_proven_by == "span":
            return probe.feature == CONTROL
        return probe.feature != CONTROL  # any query on a field of the link (they all ask the same link)

    def one_round() -> list[Probe]:
        death = death_notice()
        if death:
            for probe in pending:
                probe.error, probe.died = death, True
            raise ServiceDiedError(death)
        for probe in list(pending):
            try:
                probe.answer = path.search(http, base_url, probe.query)
            except Exception as error:  # a failing query is that probe's error, not the run's
                probe.error = f"{type(error).__name__}: {error}"
                continue
            status = probe.answer.status
            probe.error = "" if status == 200 else f"HTTP {status}: {str(probe.answer.raw)[:300]}"
            if status in REFUSED:  # the query itself was refused: asking again cannot change that
                pending.remove(probe)
                continue
            if probe.expect in probe.answer.found:
                probe.found, probe.found_after = True, time.monotonic() - started
                pending.remove(probe)
                if proves(probe):
                    proofs.setdefault(probe.expect, probe.answer.query_text)
            elif status == 200 and not probe.is_control and probe.expect in proofs:
                # Asked after the proof had found the span (controls go first): a conclusive miss.
                probe.concluded_by = proofs[probe.expect]
                pending.remove(probe)
        if all(p.is_control for p in pending):  # controls only prove misses: none is left to prove
            pending.clear()
        return pending

    # What each query found, or why it could not, is on its probe: the wait's own outcome is not needed.
    with contextlib.suppress(NotVisibleError, ServiceDiedError):
        if pending:
            wait_until(one_round, lambda left: not left, timeout=path.timeout, cancel=cancel, what=path.label,
                       describe=lambda left: f"{len(left)} queries without the linking span",
                       first_delay=0.5, max_delay=5.0)
    return time.monotonic() - started


def unanswered(path: SearchReadPath, probes: list[Probe]) -> int:
    """How many of the queries this path can express found nothing (for a line on the terminal)."""
    return sum(1 for probe in probes if probe.query.kind in path.kinds and not probe.is_control and not probe.every
               and not probe.found and not probe.unreachable and not probe.error)


def _tell_every(context: ObserveContext, path: SearchReadPath, probe: Probe) -> None:
    """One line on the terminal: how many of the matching spans each limit brought back."""
    tried = "; ".join(f"{a.parameters}: {a.found} of {len(probe.every)}" for a in probe.attempts)
    context.recorder.notify(f"  {path.label}: every match of {probe.query.key}: {tried or probe.error}")


def search(context: ObserveContext, path: SearchReadPath, emissions: list[Emission]) -> dict[ObservationKey, Any]:
    """Run every search probe of every emission on one search read path, with its own deadline."""
    service = context.stack.services[path.backend]
    by_emission: dict[ObservationKey, list[Probe]] = {}
    for emission in emissions:
        scenario = next(s for s in context.stack.scenarios if s.name == emission.scenario)
        # Only the search features the scenario lists: judging the others is the judge stage's work.
        mine = by_emission[observation_key(emission, path)] = search_probes(emission, scenario.checks)
        reaching = context.reaching(path.backend, emission)
        for probe in mine:
            if probe.expect not in reaching:  # a hop's record proves the span never got there
                probe.unreachable = "the linking span never reached this backend (see the hop that lost it)"
            elif missing := [key for key in probe.every if key not in reaching]:
                probe.unreachable = f"{len(missing)} of the {len(probe.every)} spans never reached this backend"
    probes = [probe for group in by_emission.values() for probe in group]
    base_url = context.adapters[path.backend].base_url(service)
    started = time.monotonic()
    if probes:
        run_probes(context.http, path, base_url, probes, context.cancel, service.death_notice)
    for probe in probes:
        if probe.every and probe.query.kind in path.kinds and not probe.unreachable and not context.cancel.is_set():
            ask_for_every(context.http, path, base_url, probe, context.cancel, service.death_notice, started)
            _tell_every(context, path, probe)
    seconds = time.monotonic() - started
    if any(probe.died for probe in probes):
        context.stack.fail(path.backend, next(probe.error for probe in probes if probe.died))
    missed = unanswered(path, probes)
    if missed:
        final = sum(1 for probe in probes if probe.concluded_by)
        proof = "the run-id control" if path.misses_proven_by == "span" else "a query on another field of the link"
        how = (f"{final} conclusive (asked after {proof} had found the span)" if final == missed
               else f"{final} conclusive, {missed - final} not proven by the {path.timeout:.0f}s deadline "
                    "(could not measure)")
        context.recorder.notify(f"  {path.label}: {missed} quer{'y' if missed == 1 else 'ies'} found nothing: {how}")
    context.evidence.save(f"raw/{path.backend}/{path.name}/answers.json", jsonio.dumps_readable(
        [{"query": p.answer.query_text, "expect": "/".join(p.expect), "found": p.found, "status": p.answer.status,
          "answer": p.answer.raw} for p in probes if p.answer], sort_keys=True))
    context.recorder.note("search", path.id, seconds)
    lags = [probe.found_after for probe in probes if probe.found_after is not None]
    if lags:  # how long its index took to show a span it does find: part of the run's floor
        context.recorder.note("indexing", path.id, max(lags))
    return dict(by_emission)
