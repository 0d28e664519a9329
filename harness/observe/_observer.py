"""The observe stage: every read path of every backend, for every emission, read in parallel.

Trace read paths poll until every span the hops say reached the backend is visible; settled read
paths first wait until the backend's store has settled; search read paths run their probes with
their own deadline. A dead service is named at once and fails its reads fast. Everything read is
kept as evidence and handed on keyed by (scenario, pipeline, backend, read path) — the judge
stage needs nothing else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from ..model import (
    Answer,
    Emission,
    Evidence,
    HopRecord,
    HttpClient,
    Key,
    LinkmatrixError,
    NotVisibleError,
    ObservationKey,
    Observations,
    Probe,
    ReadPath,
    Recorder,
    SearchReadPath,
    Sent,
    ServiceDiedError,
    Span,
    TraceReadPath,
    jsonio,
    route_id,
    search_probes,
    through_collector,
)
from ..stack import Backend, Stack, wait_until
from ._collector_hop import CollectorHop
from ._search import run_probes, unanswered

T = TypeVar("T")  # what runs while the searches go on gives back (the render stage: what the pages showed)
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


def _key(emission: Emission, path: ReadPath) -> ObservationKey:
    return ObservationKey(emission.scenario, emission.pipeline, path.backend, path.name)


def _shows(keys: set[Key], got: tuple[Answer, float]) -> bool:
    return keys <= {span.key for span in got[0].spans}


def _missing(keys: set[Key], emission: Emission, got: tuple[Answer, float]) -> str:
    answer = got[0]
    seen = {span.key for span in answer.spans}
    missing = sorted(emission.labels.get(key, f"{key[0]}/{key[1]}") for key in keys - seen)
    return f"HTTP {answer.status}; missing spans: {', '.join(missing)}"


class Observer:
    def __init__(self, stack: Stack, sent: Sent, http: HttpClient, recorder: Recorder, evidence: Evidence,
                 timeout: float, marks: dict[str, Any]) -> None:
        self.stack, self.sent, self.http = stack, sent, http
        self.recorder, self.evidence = recorder, evidence
        self.timeout, self.marks = timeout, marks
        self.cancel = threading.Event()  # set when the run is interrupted: every poller stops
        # What a page shows is the render stage's work: here, the APIs.
        self.columns = [path for backend in stack.backends for path in backend.read_paths
                        if isinstance(path, (TraceReadPath, SearchReadPath))]
        self.adapters: dict[str, Backend] = {backend.name: backend for backend in stack.backends}
        self.hops: dict[str, CollectorHop] = {}
        collector = stack.collector
        if collector is not None and collector.started_here:  # someone else's collector: no record
            through = [e for e in sent.emissions if through_collector(e.pipeline)]
            ingest = {route_id(scenario, pipeline): delivery
                      for (scenario, pipeline, _), delivery in sent.delivery.items() if through_collector(pipeline)}
            self.hops = {name: CollectorHop(stack, name, [e for e in through if stack.reaches(e.pipeline, name)],
                                            ingest)
                         for name in self.adapters if name in stack.services}
        self.direct = self._direct_records()

    def _direct_records(self) -> dict[tuple[str, str], HopRecord]:
        """The wire tap of a pipeline without the collector forwards to each backend's own receiver
        (OTLP, or Zipkin's): what each answered."""
        records = {}
        for backend in self.stack.backends:
            if backend.name not in self.stack.services:
                continue
            service = self.stack.services[backend.name]
            addresses = {service.address(port) for port in (backend.otlp_port, backend.ingest_port) if port}
            for (scenario, pipeline, upstream), delivery in self.sent.delivery.items():
                if not through_collector(pipeline) and upstream in addresses:
                    records[(backend.name, route_id(scenario, pipeline))] = HopRecord(
                        self.sent.wire.get((scenario, pipeline), []), refused=delivery.refused,
                        undelivered=delivery.undelivered)
        return records

    def observe(self, while_searching: Callable[[Observations], T] | None = None) -> tuple[Observations, T | None]:
        """Every read path's observations, and what `while_searching` gave: it runs once every trace
        read is done, while the searches (whose indexes lag) go on — the render stage needs only the reads."""
        self.recorder.notify("waiting until every read path shows every span")
        started = time.monotonic()
        observations = Observations()
        meanwhile: T | None = None
        # Read paths poll in parallel: a slow one must not hold the others up.
        pool = ThreadPoolExecutor(max_workers=max(1, len(self.columns) + len(self.hops)))
        try:
            watchers = [pool.submit(hop.watch, self.timeout, self.cancel, self.recorder, self.evidence)
                        for hop in self.hops.values()]
            futures = [(path, pool.submit(self._observe_path, path)) for path in self.columns]
            for path, future in futures:
                if not isinstance(path, SearchReadPath):
                    observations.reads.update(future.result())
            meanwhile = while_searching(observations) if while_searching is not None else None
            for path, future in futures:
                if isinstance(path, SearchReadPath):
                    observations.searches.update(future.result())
            for watcher in watchers:
                watcher.result()
        except BaseException:  # Ctrl-C, SIGTERM: stop the pollers now, not at their deadlines
            self.cancel.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        for backend, hop in self.hops.items():
            for route, record in hop.records.items():
                observations.hop_records[(backend, route)] = record
        observations.direct_records = self.direct
        detail = self.recorder.detail
        self.recorder.set_stage("visibility", max(detail.get("visibility", {}).values(), default=0.0))
        self.recorder.set_stage("search", max(detail.get("search", {}).values(), default=0.0))
        self.recorder.set_stage("read", sum(detail.get("read", {}).values()))
        self.recorder.set_stage("reads_total", time.monotonic() - started)
        return observations, meanwhile

    def _emissions_for(self, path: TraceReadPath | SearchReadPath) -> list[Emission]:
        return [e for e in self.sent.emissions if self.stack.reaches(e.pipeline, path.backend)]

    def _observe_path(self, path: TraceReadPath | SearchReadPath) -> dict[ObservationKey, Any]:
        emissions = self._emissions_for(path)
        failed = self.stack.failed.get(path.backend)
        if failed:
            return {_key(emission, path): LinkmatrixError(failed) for emission in emissions}
        if isinstance(path, SearchReadPath):
            return self._search(path, emissions)
        if path.age == "settled":
            try:
                self._await_settled(path)
            except LinkmatrixError as error:
                self.recorder.problem(f"{path.label}: {error}")
                return {_key(emission, path): error for emission in emissions}
        return self._read(path, emissions)

    def _reaching(self, backend: str, emission: Emission) -> set[Key]:
        expected = {span.key for span in emission.sdk}
        if not through_collector(emission.pipeline):
            direct = self.direct.get((backend, emission.route))
            return direct.reaching_backend(expected) if direct else expected
        hop = self.hops.get(backend)
        return hop.reaching(emission, self.timeout, self.cancel) if hop else expected

    # -- trace reads ------------------------------------------------------------------------------
    def _read(self, path: TraceReadPath, emissions: list[Emission]) -> dict[ObservationKey, Any]:
        """Poll one read path for every trace of every emission; record visibility and read times."""
        results: dict[ObservationKey, list[Span] | Exception] = {}
        read_seconds, attempts, late = 0.0, 0, 0
        for emission in emissions:
            key = _key(emission, path)
            failed = self.stack.failed.get(path.backend)
            if failed:  # it died: the other reads fail at once
                results[key] = LinkmatrixError(failed)
                continue
            try:
                spans, seconds, tries = self._read_emission(path, emission)
                results[key] = spans
                read_seconds, attempts = read_seconds + seconds, attempts + tries
            except ServiceDiedError as error:
                results[key] = error
                self.stack.fail(path.backend, str(error))
            except NotFreshError as error:  # read too late to be the fresh form: not measured
                results[key] = error
                late += 1
            except Exception as error:  # one read path failing costs only its own cells
                results[key] = error
                self.recorder.problem(f"{path.label}: {error}")
        if late:
            self.recorder.problem(f"{path.label}: {late} scenario(s) could not be read within the backend's fresh "
                                  "window (their cells are errors; the settled read path has their later form)")
        self.recorder.note("visibility", path.id, time.monotonic() - self.sent.ended)
        self.recorder.note("read", path.id, read_seconds)
        self.recorder.note("read_attempts", path.id, attempts)
        return results

    def _read_emission(self, path: TraceReadPath, emission: Emission) -> tuple[list[Span], float, int]:
        """Every trace of one emission, read side by side (a scenario may have hundreds)."""
        traces = sorted(_by_trace(emission, self._reaching(path.backend, emission)).items())
        with ThreadPoolExecutor(max_workers=min(TRACE_READERS, max(1, len(traces)))) as pool:
            read = [pool.submit(self._read_trace, path, emission, trace_id, keys) for trace_id, keys in traces]
            answers = [future.result() for future in read]
        # The window is known only for a backend started with linkmatrix's own configuration.
        fresh_for = self.adapters[path.backend].fresh_for if self.stack.services[path.backend].started_here else None
        if path.age == "fresh" and fresh_for is not None and answers:
            age = max(finished for *_, finished in answers) - emission.ended
            if age > fresh_for:
                raise NotFreshError(f"read {age:.1f}s after it was sent, past {self.adapters[path.backend].title}'s "
                                    f"fresh window of {fresh_for:g}s: this is not its fresh form (the settled read "
                                    "path shows the later one)")
        spans = [span for answer, *_ in answers for span in answer.spans]
        return spans, sum(seconds for _, seconds, _, _ in answers), sum(tries for _, _, tries, _ in answers)

    def _read_trace(self, path: TraceReadPath, emission: Emission, trace_id: str,
                    keys: set[Key]) -> tuple[Answer, float, int, float]:
        """(answer, seconds spent reading, attempts, epoch time it was read) of one trace."""
        if self.cancel.is_set():  # interrupted (or a sibling failed): no further trace is read
            raise NotVisibleError("stopped: the run is being interrupted")
        service = self.stack.services[path.backend]
        base_url = self.adapters[path.backend].base_url(service)

        def probe() -> tuple[Answer, float]:
            death = service.death_notice()
            if death:  # a dead service never shows a span: say so now, not at the deadline
                raise ServiceDiedError(death)
            begun = time.monotonic()
            return path.read(self.http, base_url, trace_id), time.monotonic() - begun

        waited = wait_until(probe, partial(_shows, keys), timeout=self.timeout, cancel=self.cancel,
                            what=f"trace {trace_id} of {emission.scenario}", describe=partial(_missing, keys, emission))
        answer, seconds = waited.value
        self.evidence.save(f"raw/{path.backend}/{path.name}/{trace_id}.json",
                           jsonio.dumps_readable(answer.raw, sort_keys=True))
        return answer, seconds, waited.attempts, time.time()

    def _await_settled(self, path: TraceReadPath) -> None:
        """Wait (bounded) until the backend says everything sent is in its final form."""
        backend, service = self.adapters[path.backend], self.stack.services[path.backend]

        def still_settling() -> str | None:
            death = service.death_notice()
            if death:
                raise ServiceDiedError(death)
            return backend.settled(self.http, service, self.marks.get(path.backend))

        wait_until(still_settling, lambda waiting: waiting is None, timeout=SETTLE_TIMEOUT, cancel=self.cancel,
                   what=f"{backend.title}'s store to settle", describe=str, max_delay=0.5)
        self.recorder.note("settled", path.backend, time.monotonic() - self.sent.ended)

    # -- searches ---------------------------------------------------------------------------------
    def _search(self, path: SearchReadPath, emissions: list[Emission]) -> dict[ObservationKey, Any]:
        """Run every search probe of every emission on one search read path, with its own deadline."""
        service = self.stack.services[path.backend]
        by_emission: dict[ObservationKey, list[Probe]] = {}
        for emission in emissions:
            scenario = next(s for s in self.stack.scenarios if s.name == emission.scenario)
            # Only the search features the scenario lists: judging the others is the judge stage's work.
            mine = by_emission[_key(emission, path)] = search_probes(emission, scenario.checks)
            reaching = self._reaching(path.backend, emission)
            for probe in mine:
                if probe.expect not in reaching:  # a hop's record proves the span never got there
                    probe.unreachable = "the linking span never reached this backend (see the hop that lost it)"
        probes = [probe for group in by_emission.values() for probe in group]
        base_url = self.adapters[path.backend].base_url(service)
        seconds = run_probes(self.http, path, base_url, probes, self.cancel, service.death_notice) if probes else 0.0
        if any(probe.died for probe in probes):
            self.stack.fail(path.backend, next(probe.error for probe in probes if probe.died))
        missed = unanswered(path, probes)
        if missed:
            final = sum(1 for probe in probes if probe.concluded_by)
            proof = "the run-id control" if path.misses_proven_by == "span" else "a query on another field of the link"
            how = (f"{final} conclusive (asked after {proof} had found the span)" if final == missed
                   else f"{final} conclusive, {missed - final} not proven by the {path.timeout:.0f}s deadline "
                        "(could not measure)")
            self.recorder.notify(f"  {path.label}: {missed} quer{'y' if missed == 1 else 'ies'} found nothing: {how}")
        self.evidence.save(f"raw/{path.backend}/{path.name}/answers.json", jsonio.dumps_readable(
            [{"query": p.answer.query_text, "expect": "/".join(p.expect), "found": p.found, "status": p.answer.status,
              "answer": p.answer.raw} for p in probes if p.answer], sort_keys=True))
        self.recorder.note("search", path.id, seconds)
        lags = [probe.found_after for probe in probes if probe.found_after is not None]
        if lags:  # how long its index took to show a span it does find: part of the run's floor
            self.recorder.note("indexing", path.id, max(lags))
        return dict(by_emission)
