"""The `external` runtime: services someone else runs (the compose stack in compose/, or any
running stack). linkmatrix only talks to them: it never starts or stops them, and it cannot put
a tap between their collector and their backends, so the collector hop is not recorded."""

from __future__ import annotations

import os
from collections.abc import Sequence
from urllib.parse import urlparse

from ._base import LOOPBACK, Component, Notify, Service, attach, default_endpoints, provide_each


def endpoints_from_text(component: Component, text: str) -> dict[str, str]:
    """`http://host:16686,otlp=host:4317` (a backend) or `host:4317` (the collector) → port name →
    "host:port". A URL is the port its readiness probe uses (its query API); `otlp=` its OTLP/gRPC."""
    first, _, rest = text.partition(",")
    endpoints: dict[str, str] = {}
    if "://" in first:
        parsed = urlparse(first)
        endpoints[component.probe.port] = f"{parsed.hostname}:{parsed.port or 80}"
    else:
        endpoints["otlp_grpc"] = first
    if rest.startswith("otlp="):
        endpoints["otlp_grpc"] = rest.removeprefix("otlp=")
    return endpoints


class ExternalRuntime:
    """Endpoints by service: `--external jaeger=http://host:16686,otlp=host:4317` or
    LINKMATRIX_EXTERNAL_<NAME>, else where the compose stack publishes it."""

    name = "external"
    listen = LOOPBACK
    taps_reach_backends = False

    def __init__(self, given: dict[str, str] | None = None) -> None:
        self.given = given or {}

    def endpoints(self, component: Component) -> dict[str, str]:
        text = self.given.get(component.name) or os.environ.get(f"LINKMATRIX_EXTERNAL_{component.name.upper()}")
        return endpoints_from_text(component, text) if text else default_endpoints(component)

    def prepare(self, components: Sequence[Component], report: Notify) -> float:
        return 0.0  # nothing to fetch: someone else runs them

    def provide_all(self, components: Sequence[Component]) -> list[Service | Exception]:
        return provide_each(self, components)

    def provide(self, component: Component) -> Service:
        return attach(component, self.endpoints(component))

    @staticmethod
    def peer_address(service: Service, port: str) -> str:
        return service.address(port)

    def __enter__(self) -> ExternalRuntime:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass  # not ours to stop
