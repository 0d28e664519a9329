"""The `external` runtime: services someone else runs (the compose stack in compose/, or any
running stack). linkmatrix only talks to them: it never starts or stops them, and it cannot put
a tap between their collector and their backends, so the collector hop is not recorded."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from . import Readiness, Service, ServiceSpec, external_service

# The compose stack's published ports (compose/docker-compose.yaml): the defaults here.
DEFAULTS = {
    "collector": "127.0.0.1:4317",
    "jaeger": "http://127.0.0.1:16686,otlp=127.0.0.1:14317",
    "tempo": "http://127.0.0.1:3200,otlp=127.0.0.1:24317",
    "zipkin": "http://127.0.0.1:9411",
}
READINESS = {"jaeger": "/", "tempo": "/ready", "zipkin": "/health"}


@dataclass
class ExternalRuntime:
    """Endpoints by service: `--external jaeger=http://host:16686,otlp=host:4317` or
    LINKMATRIX_EXTERNAL_<NAME>, else the compose stack's defaults."""

    given: dict[str, str] = field(default_factory=dict)
    name: str = "external"
    taps_reach_backends: bool = False
    started_images: dict[str, dict[str, str]] = field(default_factory=dict)  # not ours to know

    def endpoint(self, service: str) -> str:
        return self.given.get(service) or os.environ.get(f"LINKMATRIX_EXTERNAL_{service.upper()}") or DEFAULTS[service]

    def collector_address(self) -> str:
        return self.endpoint("collector")

    def service(self, name: str, query_port: str = "http") -> Service:
        url, _, rest = self.endpoint(name).partition(",")
        otlp = rest.split("=", 1)[1] if rest.startswith("otlp=") else ""
        return external_service(name, url, otlp, READINESS.get(name, "/"), query_port)

    def collector(self) -> Service:
        host, _, port = self.collector_address().rpartition(":")
        spec = ServiceSpec(name="collector", command=(), readiness=Readiness("otlp_grpc", "/"),
                           ports={"otlp_grpc": int(port)})
        return Service(spec, None, 0.0, host=host or "127.0.0.1")

    def __enter__(self) -> "ExternalRuntime":
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass  # not ours to stop

    def stop_all(self) -> None:
        pass
