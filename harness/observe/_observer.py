"""The observe stage: every read path of every backend, for every emission, read in parallel.

Trace read paths poll until every span the hops say reached the backend is visible (`_reads`);
search read paths run their probes with their own deadline (`_search`); the collector hop records
what it forwarded (`_collector_hop`). A dead service is named at once and fails its reads fast.
Everything read is kept as evidence and handed on keyed by (scenario, pipeline, backend, read
path) — the judge stage needs nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ..model import (
    Evidence,
    HttpClient,
    LinkmatrixError,
    ObservationKey,
    Observations,
    Recorder,
    SearchReadPath,
    Sent,
    TraceReadPath,
)
from ..stack import Stack
from ._context import ObserveContext, observation_key
from ._reads import TraceReads
from ._search import search

T = TypeVar("T")  # what runs while the searches go on gives back (the render stage: what the pages showed)


class Observer:
    def __init__(self, stack: Stack, sent: Sent, http: HttpClient, recorder: Recorder, evidence: Evidence,
                 timeout: float, marks: dict[str, Any]) -> None:
        self.context = ObserveContext(stack, sent, http, recorder, evidence, timeout, marks)
        self.reads = TraceReads(self.context)
        # What a page shows is the render stage's work: here, the APIs.
        self.columns = [path for backend in stack.backends for path in backend.read_paths
                        if isinstance(path, (TraceReadPath, SearchReadPath))]

    def observe(self, while_searching: Callable[[Observations], T] | None = None) -> tuple[Observations, T | None]:
        """Every read path's observations, and what `while_searching` gave: it runs once every trace
        read is done, while the searches (whose indexes lag) go on — the render stage needs only the reads."""
        self.context.recorder.notify("waiting until every read path shows every span")
        started = time.monotonic()
        observations = Observations()
        meanwhile: T | None = None
        # Read paths poll in parallel: a slow one must not hold the others up.
        pool = ThreadPoolExecutor(max_workers=max(1, len(self.columns) + len(self.context.hops)))
        try:
            context = self.context
            watchers = [pool.submit(hop.watch, context.timeout, context.cancel, context.recorder, context.evidence)
                        for hop in context.hops.values()]
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
            self.context.cancel.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        for backend, hop in self.context.hops.items():
            for route, record in hop.records.items():
                observations.hop_records[(backend, route)] = record
        observations.direct_records = self.context.direct
        detail = self.context.recorder.detail
        self.context.recorder.set_stage("visibility", max(detail.get("visibility", {}).values(), default=0.0))
        self.context.recorder.set_stage("search", max(detail.get("search", {}).values(), default=0.0))
        self.context.recorder.set_stage("read", sum(detail.get("read", {}).values()))
        self.context.recorder.set_stage("reads_total", time.monotonic() - started)
        return observations, meanwhile

    def _observe_path(self, path: TraceReadPath | SearchReadPath) -> dict[ObservationKey, Any]:
        emissions = self.context.emissions_for(path)
        failed = self.context.stack.failed.get(path.backend)
        if failed:
            return {observation_key(emission, path): LinkmatrixError(failed) for emission in emissions}
        if isinstance(path, SearchReadPath):
            return search(self.context, path, emissions)
        if path.age == "settled":
            try:
                self.reads.await_settled(path)
            except LinkmatrixError as error:
                self.context.recorder.problem(f"{path.label}: {error}")
                return {observation_key(emission, path): error for emission in emissions}
        return self.reads.read(path, emissions)
