"""Trace read paths: each polled until every span the hops say reached the backend is visible; a
settled read path first waits until the backend's store has settled; a fresh read finished past
the backend's fresh window is not measured. A dead service is named at once and fails its reads."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from ..model import (
    Answer,
    Emission,
    HttpClient,
    Key,
    LinkmatrixError,
    NotVisibleError,
    ObservationKey,
    ServiceDiedError,
    Span,
    TraceReadPath,
    jsonio,
)
from ..stack import Stack, wait_until
from ._context import ObserveContext, observation_key

SETTLE_TIMEOUT = 120.0  # Tempo writes its block seconds after a trace goes idle; minutes mean it is stuck
TRACE_READERS = 8  # traces of one scenario read side by side on one read path


class NotFreshError(LinkmatrixError):
    """A fresh read that finished after the backend's fresh window: it saw the later form."""


def settle_marks(stack: Stack, http: HttpClient) -> dict[str, Any]:
    """Taken before anything is sent, for backends whose store settles (see Backend.settled)."""
    return {backend.name: backend.settle_mark(http, stack.services[backend.name]) for backend in stack.backends
            if backend.name in stack.services
            and any(isinstance(p, TraceReadPath) and p.age == "settled" for p in backend.read_paths)}


def _by_trace(emission: Emission, keys: set[Key]) -> dict[str, set[Key]]:
    """Every trace the emission sent, with the spans of it in `keys` (maybe none)."""
    expected: dict[str, set[Key]] = {span.trace_id: set() for span in emission.sdk}
    for trace_id, span_id in keys:
        expected[trace_id].add((trace_id, span_id))
    return expected


def _shows(keys: set[Key], got: tuple[Answer, float]) -> bool:
    return keys <= {span.key for span in got[0].spans}


def _missing(keys: set[Key], emission: Emission, got: tuple[Answer, float]) -> str:
    answer = got[0]
    seen = {span.key for span in answer.spans}
    missing = sorted(emission.labels.get(key, f"{key[0]}/{key[1]}") for key in keys - seen)
    return f"HTTP {answer.status}; missing spans: {', '.join(missing)}"



class TraceReads:
    """The trace read paths of one run."""

    def __init__(self, context: ObserveContext) -> None:
        self.context = context

    def read(self, path: TraceReadPath, emissions: list[Emission]) -> dict[ObservationKey, Any]:
        """Poll one read path for every trace of every emission; record visibility and read times."""
        results: dict[ObservationKey, list[Span] | Exception] = {}
        read_seconds, attempts, late = 0.0, 0, 0
        for emission in emissions:
            key = observation_key(emission, path)
            failed = self.context.stack.failed.get(path.backend)
            if failed:  # it died: the other reads fail at once
                results[key] = LinkmatrixError(failed)
                continue
            try:
                spans, seconds, tries = self._read_emission(path, emission)
                results[key] = spans
                read_seconds, attempts = read_seconds + seconds, attempts + tries
            except ServiceDiedError as error:
                results[key] = error
                self.context.stack.fail(path.backend, str(error))
            except NotFreshError as error:  # read too late to be the fresh form: not measured
                results[key] = error
                late += 1
            except Exception as error:  # one read path failing costs only its own cells
                results[key] = error
                self.context.recorder.problem(f"{path.label}: {error}")
        if late:
            self.context.recorder.problem(f"{path.label}: {late} scenario(s) could not be read within the backend's "
                                          "fresh window (their cells are errors; the settled read path has their "
                                          "later form)")
        self.context.recorder.note("visibility", path.id, time.monotonic() - self.context.sent.ended)
        self.context.recorder.note("read", path.id, read_seconds)
        self.context.recorder.note("read_attempts", path.id, attempts)
        return results

    def _read_emission(self, path: TraceReadPath, emission: Emission) -> tuple[list[Span], float, int]:
        """Every trace of one emission, read side by side (a scenario may have hundreds)."""
        traces = sorted(_by_trace(emission, self.context.reaching(path.backend, emission)).items())
        with ThreadPoolExecutor(max_workers=min(TRACE_READERS, max(1, len(traces)))) as pool:
            read = [pool.submit(self._read_trace, path, emission, trace_id, keys) for trace_id, keys in traces]
            answers = [future.result() for future in read]
        # The window is known only for a backend started with linkmatrix's own configuration.
        adapter = self.context.adapters[path.backend]
        fresh_for = adapter.fresh_for if self.context.stack.services[path.backend].started_here else None
        if path.age == "fresh" and fresh_for is not None and answers:
            age = max(finished for *_, finished in answers) - emission.ended
            if age > fresh_for:
                raise NotFreshError(f"read {age:.1f}s after it was sent, past {adapter.title}'s "
                                    f"fresh window of {fresh_for:g}s: this is not its fresh form (the settled read "
                                    "path shows the later one)")
        spans = [span for answer, *_ in answers for span in answer.spans]
        return spans, sum(seconds for _, seconds, _, _ in answers), sum(tries for _, _, tries, _ in answers)

    def _read_trace(self, path: TraceReadPath, emission: Emission, trace_id: str,
                    keys: set[Key]) -> tuple[Answer, float, int, float]:
        """(answer, seconds spent reading, attempts, epoch time it was read) of one trace."""
        if self.context.cancel.is_set():  # interrupted (or a sibling failed): no further trace is read
            raise NotVisibleError("stopped: the run is being interrupted")
        service = self.context.stack.services[path.backend]
        base_url = self.context.adapters[path.backend].base_url(service)

        def probe() -> tuple[Answer, float]:
            death = service.death_notice()
            if death:  # a dead service never shows a span: say so now, not at the deadline
                raise ServiceDiedError(death)
            begun = time.monotonic()
            return path.read(self.context.http, base_url, trace_id), time.monotonic() - begun

        waited = wait_until(probe, partial(_shows, keys), timeout=self.context.timeout, cancel=self.context.cancel,
                            what=f"trace {trace_id} of {emission.scenario}", describe=partial(_missing, keys, emission))
        answer, seconds = waited.value
        self.context.evidence.save(f"raw/{path.backend}/{path.name}/{trace_id}.json",
                           jsonio.dumps_readable(answer.raw, sort_keys=True))
        return answer, seconds, waited.attempts, time.time()

    def await_settled(self, path: TraceReadPath) -> None:
        """Wait (bounded) until the backend says everything sent is in its final form."""
        backend, service = self.context.adapters[path.backend], self.context.stack.services[path.backend]

        def still_settling() -> str | None:
            death = service.death_notice()
            if death:
                raise ServiceDiedError(death)
            return backend.settled(self.context.http, service, self.context.marks.get(path.backend))

        wait_until(still_settling, lambda waiting: waiting is None, timeout=SETTLE_TIMEOUT, cancel=self.context.cancel,
                   what=f"{backend.title}'s store to settle", describe=str, max_delay=0.5)
        self.context.recorder.note("settled", path.backend, time.monotonic() - self.context.sent.ended)
