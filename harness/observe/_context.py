"""What every reader of the observe stage shares: the stack, what was sent, the one HTTP session,
where evidence goes, the deadline, and — per backend — which spans the hops before it prove reached
it (the collector hop's own record, or the wire tap's for a pipeline without the collector)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from ..model import (
    Emission,
    Evidence,
    HopRecord,
    HttpClient,
    Key,
    ObservationKey,
    ReadPath,
    Recorder,
    SearchReadPath,
    Sent,
    TraceReadPath,
    route_id,
    through_collector,
)
from ..stack import Backend, Stack
from ._collector_hop import CollectorHop


def observation_key(emission: Emission, path: ReadPath) -> ObservationKey:
    return ObservationKey(emission.scenario, emission.pipeline, path.backend, path.name)


@dataclass
class ObserveContext:
    stack: Stack
    sent: Sent
    http: HttpClient
    recorder: Recorder
    evidence: Evidence
    timeout: float
    marks: dict[str, Any]
    cancel: threading.Event = field(default_factory=threading.Event)  # set when the run is interrupted
    adapters: dict[str, Backend] = field(default_factory=dict)
    hops: dict[str, CollectorHop] = field(default_factory=dict)  # backend → what the collector forwarded to it
    direct: dict[tuple[str, str], HopRecord] = field(default_factory=dict)  # (backend, route) → the wire's record

    def __post_init__(self) -> None:
        self.adapters = {backend.name: backend for backend in self.stack.backends}
        collector = self.stack.collector
        if collector is not None and collector.started_here:  # someone else's collector: no record
            through = [e for e in self.sent.emissions if through_collector(e.pipeline)]
            ingest = {route_id(scenario, pipeline): delivery for (scenario, pipeline, _), delivery
                      in self.sent.delivery.items() if through_collector(pipeline)}
            self.hops = {name: CollectorHop(self.stack, name,
                                            [e for e in through if self.stack.reaches(e.pipeline, name)], ingest)
                         for name in self.adapters if name in self.stack.services}
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

    def emissions_for(self, path: TraceReadPath | SearchReadPath) -> list[Emission]:
        return [e for e in self.sent.emissions if self.stack.reaches(e.pipeline, path.backend)]

    def reaching(self, backend: str, emission: Emission) -> set[Key]:
        expected = {span.key for span in emission.sdk}
        if not through_collector(emission.pipeline):
            direct = self.direct.get((backend, emission.route))
            return direct.reaching_backend(expected) if direct else expected
        hop = self.hops.get(backend)
        return hop.reaching(emission, self.timeout, self.cancel) if hop else expected
