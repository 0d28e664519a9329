"""The stack of one run: every backend, the tap in front of each, and the collector, started in
that order and stopped as one, however the run ends.

A backend that does not start costs only its own columns: the stack keeps why, and the rest of
the run goes on. Every scenario gets its own route through the collector (see harness.pipeline).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import (
    COLLECTOR,
    DIRECT,
    PLAIN,
    SDK_PIPELINES,
    SDK_ZIPKIN,
    LinkmatrixError,
    Pipeline,
    Recorder,
    Scenario,
    Variant,
    route_id,
    through_collector,
)
from . import _collector as pipeline
from ._backend import Backend, Tap
from ._health import HealthWatch
from ._routes import CollectorRoutes
from ._services import start_backends
from .runtime._base import Runtime, Service


@dataclass
class Stack:
    runtime: Runtime
    backends: Sequence[Backend]
    scenarios: Sequence[Scenario]
    run_id: str
    run_dir: Path
    recorder: Recorder
    collector_component: type[pipeline.Collector] = pipeline.Collector  # the seam for another collector
    variants: Sequence[Variant] = (PLAIN,)  # the collector pipelines of this run (harness.variants)
    services: dict[str, Service] = field(default_factory=dict)
    egress: dict[str, Tap] = field(default_factory=dict)  # backend → the tap in front of it
    egress_http: dict[str, Tap] = field(default_factory=dict)  # backend → the tap in front of its OTLP/HTTP receiver
    exporters: dict[str, tuple[str, str]] = field(default_factory=dict)  # exporter id → (backend, route)
    routes: dict[str, pipeline.Route] = field(default_factory=dict)  # route id → its way through the collector
    failed: dict[str, str] = field(default_factory=dict)  # backend → why it cannot be read
    collector: Service | None = None
    gateway: Service | None = None  # the second collector, when a variant has one
    # Earlier collector release (toolchain key) → its own collector process (None: it did not start).
    releases: dict[str, Service | None] = field(default_factory=dict)
    # Backend family → what the user gave it (e.g. jaeger: ui_assets); each backend runs as a copy
    # that knows them (the table's entries are never changed).
    options: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.exits = contextlib.ExitStack()
        self.collector_routes = CollectorRoutes(self)
        self.backends = [backend.configured(options=self.options.get(backend.family or backend.name, {}))
                         for backend in self.backends]

    @property
    def forwarded(self) -> Path:
        return self.run_dir / pipeline.FORWARDED_FILE

    @property
    def forwarded_files(self) -> list[Path]:
        """What the collectors that send to the backends recorded (the agent of a gateway records none)."""
        return [self.forwarded, self.run_dir / pipeline.GATEWAY_FORWARDED_FILE,
                *(self.run_dir / pipeline.forwarded_file(CollectorRoutes.release_name(key)) for key in self.releases)]

    @property
    def collectors(self) -> list[Service]:
        return [service for service in (self.collector, self.gateway, *self.releases.values()) if service is not None]

    @property
    def collector_releases(self) -> list[str]:
        """The earlier collector releases some variant of the run is run by (toolchain keys)."""
        return list(dict.fromkeys(variant.collector for variant in self.variants if variant.collector))

    @property
    def pipelines(self) -> list[Pipeline]:
        """Every pipeline some scenario of the run goes through: each collector variant, then direct."""
        return [p for p in (*(variant.name for variant in self.variants), *SDK_PIPELINES)
                if any(self.runs_on(scenario, p) for scenario in self.scenarios)]

    @property
    def through_collector(self) -> bool:
        return any(through_collector(p) for p in self.pipelines)

    def runs_on(self, scenario: Scenario, pipeline_name: Pipeline) -> bool:
        """A scenario that asks for the collector goes through every variant of the run."""
        if not through_collector(pipeline_name):
            return pipeline_name in scenario.pipelines
        # A capture has no SDK to run as an earlier release: it is replayed on the others.
        return COLLECTOR in scenario.pipelines and any(v.name == pipeline_name and not (scenario.is_capture and v.sdk)
                                                       for v in self.variants)

    def __enter__(self) -> Stack:
        self.exits.enter_context(self.runtime)
        try:
            self._start()
        except BaseException:
            self.exits.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.exits.close()

    def _start(self) -> None:
        notify = self.recorder.notify
        needs = [need for backend in self.backends for need in backend.needs]  # a storage's search engine
        releases = [self.collector_routes.release_component(key) for key in self.collector_releases]
        toolchain = self.runtime.prepare([*self.backends, *needs, self.collector_component(), *releases], notify)
        self.recorder.set_stage("toolchain", toolchain)
        notify("starting backends")
        with self.recorder.timed("startup"):
            start_backends(self)
            if self.through_collector:
                if any(variant.gateway for variant in self.variants):
                    self._start_gateway()
                self._start_collector()
                for key in self.collector_releases:
                    self.releases[key] = self._start_collector_process(
                        self.collector_routes.release_component(key, tuple(self.collector_routes.build(release=key))))

    def started(self, name: str, title: str, service: Service) -> None:
        self.services[name] = service
        self.recorder.note("startup", name, service.startup_seconds)
        self.recorder.notify(f"  {title} ready in {service.startup_seconds:.1f}s")

    def _start_gateway(self) -> None:
        self.gateway = self._start_collector_process(self.collector_component(
            tuple(self.collector_routes.build(gateway=True)), self.run_dir / pipeline.GATEWAY_FORWARDED_FILE,
            name=pipeline.GATEWAY, title="collector gateway"))

    def _start_collector(self) -> None:
        self.collector = self._start_collector_process(
            self.collector_component(tuple(self.collector_routes.build()), self.forwarded))

    def _start_collector_process(self, component: pipeline.Collector) -> Service | None:
        """A collector process; one that does not start is a problem of the run (its pipelines fail)."""
        try:
            service = self.runtime.provide(component)
        except LinkmatrixError as error:
            self.recorder.problem(f"the {component.title} did not start: {error}")
            return None
        self.started(component.name, component.title, service)
        return service

    def takes_http(self, backend: Backend) -> bool:
        """It has an OTLP/HTTP receiver that runs here (a variant exporting over HTTP reaches it)."""
        service = self.services.get(backend.name)
        return backend.otlp_http_port is not None and service is not None \
            and backend.otlp_http_port in service.spec.ports

    def fail(self, backend: str, message: str) -> None:
        """A backend that cannot be read any more (did not start, died): said once, its reads fail fast."""
        with self.recorder.lock:
            if backend in self.failed:
                return
            self.failed[backend] = message
        self.recorder.problem(message)
        self.recorder.notify(f"  ! {message.splitlines()[0]}")

    def watch_health(self) -> HealthWatch:
        """A health watch over every backend that runs (a context manager): one that dies or stops
        answering is failed within seconds, and its reads and pages fail at once."""
        running = [backend.name for backend in self.backends if backend.name in self.services]
        return HealthWatch(self.services, running, self.fail, self.failed)

    def reaches(self, pipeline_name: Pipeline, backend: str) -> bool:
        """Whether spans of this pipeline are sent towards `backend` at all."""
        if pipeline_name == DIRECT:
            adapter = next((b for b in self.backends if b.name == backend), None)
            return adapter is not None and adapter.otlp_port is not None and backend in self.services
        if pipeline_name == SDK_ZIPKIN:  # the SDK's Zipkin exporter sends to one Zipkin: the pinned one
            target = self.sdk_zipkin_target()
            return target is not None and target.name == backend
        variant = next((v for v in self.variants if v.name == pipeline_name), None)
        if variant is not None and variant.exports_http:  # only to backends with an OTLP/HTTP receiver
            adapter = next((b for b in self.backends if b.name == backend), None)
            return adapter is not None and (backend not in self.services or self.takes_http(adapter))
        return True

    def upstreams(self, pipeline_name: Pipeline, scenario: str) -> list[str]:
        """Where one scenario's spans go: its own receiver on the collector, or each backend's own."""
        if pipeline_name == SDK_ZIPKIN:
            target = self.sdk_zipkin_target()
            return [self.services[target.name].address(target.ingest_port)] if target else []
        if pipeline_name != DIRECT:
            variant = next((v for v in self.variants if v.name == pipeline_name), None)
            collector = self.collector_of(pipeline_name)
            if collector is None or (variant is not None and variant.gateway and self.gateway is None):
                return []  # nothing to send to: the emission fails at once, its cells say why
            way = self.routes.get(route_id(scenario, pipeline_name))
            own = way.port if way else pipeline.receiver_port(route_id(scenario, pipeline_name))  # theirs: one
            port = own if own in collector.spec.ports else pipeline.receiver_port(pipeline.SHARED)
            return [collector.address(port)]
        return [self.services[b.name].address(b.otlp_port) for b in self.backends
                if b.otlp_port and b.name in self.services]

    def sdk_zipkin_target(self) -> Backend | None:
        """The running backend the SDK's own Zipkin exporter sends to (the `sdk-zipkin` pipeline)."""
        return next((b for b in self.backends if b.takes_sdk_zipkin and b.name in self.services), None)

    def collector_of(self, pipeline_name: Pipeline) -> Service | None:
        """The collector process a pipeline's spans enter: the pinned release's, or an earlier one's."""
        key = next((v.collector for v in self.variants if v.name == pipeline_name), "")
        return self.releases.get(key) if key else self.collector


def describe_services(services: Mapping[str, Service], run_dir: Path) -> dict[str, dict[str, Any]]:
    """Ports, host, log file and image of every service, for the report."""
    described: dict[str, dict[str, Any]] = {}
    for name, service in services.items():
        described[name] = {"ports": dict(service.spec.ports), "host": service.host,
                           "log": (str(service.log_path.relative_to(run_dir)) if service.log_path
                                   else "not started by linkmatrix")}
        if service.image:
            described[name]["image"] = service.image
    return described
