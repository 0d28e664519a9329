"""Asking a backend's search for each linking span: every probe of a read path side by side,
polled until it finds its span, the control query proves a miss final, or the deadline passes."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

from ..model import CONTROL, LINK_CONTROL, HttpClient, NotVisibleError, Probe, SearchReadPath, ServiceDiedError
from ..stack import wait_until

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
               and (probe.feature != LINK_CONTROL or path.misses_proven_by == "link")]
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
    return sum(1 for probe in probes if probe.query.kind in path.kinds and not probe.is_control
               and not probe.found and not probe.unreachable and not probe.error)
