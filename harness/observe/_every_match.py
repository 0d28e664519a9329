"""Completeness probes: when more spans carry a link attribute value than a search returns by
default, can every one of them be found? First a proof finds all of them by other means (so the
index holds them); then the value is asked at the API's defaults and with its limits raised, and
each answer's count of matching spans is kept."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..model import (
    CONTROL,
    HttpClient,
    NotVisibleError,
    Probe,
    SearchAttempt,
    SearchQuery,
    SearchReadPath,
    ServiceDiedError,
)
from ..stack import wait_until

REFUSED = frozenset({400, 401, 403, 405, 413, 414, 422})  # asking again cannot change these


def ask_for_every(http: HttpClient, path: SearchReadPath, base_url: str, probe: Probe, cancel: threading.Event,
                  death_notice: Callable[[], str | None], started: float) -> None:
    """Prove every matching span is in the index, then ask for them at the API's default limits and
    with raised ones; what could not be proven is the probe's error (could not measure). `started`:
    when the searches began (the proof's success, counted from it, is the index's lag)."""
    proof = probe.proofs.get(path.misses_proven_by)
    if proof is None or proof.kind not in path.kinds | {CONTROL}:
        probe.error = (f"no query could prove all {len(probe.every)} spans were in {path.label}'s index (they share "
                       "no one name and no one link target)")
        return
    if not _prove(http, path, base_url, probe, proof, cancel, death_notice):
        return
    probe.found_after = time.monotonic() - started
    wanted = set(probe.every)
    for limit in (None, proof.limit):  # what a person gets without setting it, then raised past their number
        try:
            answer = path.search(http, base_url, replace(probe.query, limit=limit))
        except Exception as error:  # a failing query is this probe's error, not the run's
            probe.error = f"{type(error).__name__}: {error}"
            return
        probe.answer = answer
        found = len(wanted & answer.found) if answer.status == 200 else 0
        probe.attempts.append(SearchAttempt(answer.query_text, answer.parameters or "the API's defaults", found,
                                            answer.status))
        if answer.status != 200:
            probe.error = f"HTTP {answer.status}: {str(answer.raw)[:300]}"
        elif found == len(wanted):
            probe.found = True
            probe.error = ""
            return


def _prove(http: HttpClient, path: SearchReadPath, base_url: str, probe: Probe, proof: SearchQuery,
           cancel: threading.Event, death_notice: Callable[[], str | None]) -> bool:
    """Ask the proof until it returns every matching span (True), or say on the probe why not."""
    wanted = set(probe.every)
    seen = _ProofSeen(text=proof.kind)

    def one_round() -> bool:
        death = death_notice()
        if death:
            probe.error, probe.died = death, True
            raise ServiceDiedError(death)
        answer = path.search(http, base_url, proof)
        seen.text = f"{answer.query_text} ({answer.parameters or 'defaults'})"
        if answer.status != 200:
            probe.error = f"HTTP {answer.status} to the proof {answer.query_text}: {str(answer.raw)[:300]}"
            return answer.status in REFUSED  # asking again cannot change a refusal
        probe.error = ""
        seen.count = len(wanted & answer.found)
        return seen.count == len(wanted)

    with contextlib.suppress(NotVisibleError, ServiceDiedError):
        wait_until(one_round, bool, timeout=path.timeout, cancel=cancel, what=path.label,
                   describe=lambda _: f"the proof found {seen.count} of {len(wanted)} spans",
                   first_delay=0.5, max_delay=5.0)
    if seen.count == len(wanted):
        probe.proven_by = seen.text
        return True
    if not probe.error:
        probe.error = (f"could not prove all {len(wanted)} spans were in the index: {seen.text} found "
                       f"{seen.count} of them within {path.timeout:.0f} s")
    return False


@dataclass
class _ProofSeen:
    """What the proof's last answer held: its query and how many of the matching spans."""

    text: str
    count: int = 0
