"""The collector's routes: one per scenario and pipeline variant, each with its own exporter per
backend (through the tap in front of it), or on the agent of a gateway variant its own exporter to
its route on the gateway; and the collector processes of earlier releases."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from ..model import PLAIN, Pipeline, Scenario, Variant, route_id
from . import _collector as pipeline
from ._backend import Backend, Tap
from .runtime._base import Runtime, Service
from .toolchain._builds import build_for


class RoutedStack(Protocol):
    """What the collector's routes are made from (the `Stack` is one)."""

    variants: Sequence[Variant]
    scenarios: Sequence[Scenario]
    backends: Sequence[Backend]
    services: dict[str, Service]
    egress: dict[str, Tap]
    egress_http: dict[str, Tap]
    exporters: dict[str, tuple[str, str]]
    routes: dict[str, pipeline.Route]
    runtime: Runtime
    gateway: Service | None
    run_dir: Path
    collector_component: type[pipeline.Collector]

    def runs_on(self, scenario: Scenario, pipeline_name: Pipeline) -> bool: ...

    def takes_http(self, backend: Backend) -> bool: ...


NOWHERE = "127.0.0.1:9"  # the discard port: a route whose next hop did not start leads here, and fails


class CollectorRoutes:
    def __init__(self, stack: RoutedStack) -> None:
        self.stack = stack

    @staticmethod
    def release_name(key: str) -> str:
        """`otelcol-linkmatrix@0.158.0` → its collector process, `collector-0.158.0`."""
        return pipeline.release_service(key.rsplit("@", 1)[-1])

    def release_component(self, key: str, routes: tuple[pipeline.Route, ...] = ()) -> pipeline.Collector:
        name = self.release_name(key)
        version = name.removeprefix(f"{pipeline.NAME}-")
        return self.stack.collector_component(routes, self.stack.run_dir / pipeline.forwarded_file(name), name=name,
                                        title=f"collector {version}", build=build_for(key),
                                        image=f"{pipeline.CONTRIB_IMAGE}:{version}")


    def build(self, gateway: bool = False, release: str = "") -> list[pipeline.Route]:
        """One route per scenario and collector variant, each with its own exporter per backend —
        or, on the agent of a variant with a gateway, its own exporter to its route on the gateway.
        `gateway`: the gateway's routes (those variants' processors and backend exporters);
        `release`: the routes of the variants an earlier collector release runs."""
        routes = []
        for variant in self.stack.variants:
            if (gateway and not variant.gateway) or variant.collector != release:
                continue
            for scenario in self.stack.scenarios:
                if not self.stack.runs_on(scenario, variant.name):
                    continue
                route = route_id(scenario.name, variant.name)
                if variant.gateway and not gateway:
                    routes.append(self._agent_route(route, variant))
                    continue
                exporters = {}
                for backend in self.stack.backends:
                    reached = not variant.exports_http or self.stack.takes_http(backend)
                    if backend.name in self.stack.services and reached:
                        kind, config = (backend.collector_http_exporter(self._target(backend, http=True),
                                                                        variant.http_encoding)
                                        if variant.exports_http else
                                        backend.collector_exporter(self._target(backend)))
                        exporter = pipeline.exporter_id(kind, backend.name, route)
                        exporters[exporter] = config
                        self.stack.exporters[exporter] = (backend.name, route)
                routes.append(pipeline.Route(route, exporters, variant.processor_configs(route), variant.may_drop,
                                             variant.protocol if not gateway else pipeline.GRPC))
                self.stack.routes[route] = routes[-1]
        return routes

    def _agent_route(self, route: str, variant: Variant) -> pipeline.Route:
        """The agent's part of a gateway variant: batch, then OTLP/gRPC to the route's own receiver on
        the gateway (what the gateway forwards is the collector hop's record)."""
        # No gateway (it did not start, and said so): its routes lead nowhere, and their cells say why.
        gateway = self.stack.gateway
        target = (self.stack.runtime.peer_address(gateway, pipeline.receiver_port(route)) if gateway
                  else NOWHERE)
        return pipeline.Route(route, {f"otlp_grpc/gateway.{route}": {"endpoint": target, "tls": {"insecure": True}}},
                              {f"batch/{route}.agent": dict(PLAIN.processors[0][1])}, protocol=variant.protocol,
                              recorded=False)

    def _target(self, backend: Backend, http: bool = False) -> str:
        """Where the collector sends to `backend`: the tap in front of it, else the backend itself
        (`http`: its OTLP/HTTP receiver)."""
        tap = (self.stack.egress_http if http else self.stack.egress).get(backend.name)
        if tap is not None:
            return tap.address
        port = (backend.otlp_http_port or "") if http else backend.ingest_port
        return self.stack.runtime.peer_address(self.stack.services[backend.name], port)
