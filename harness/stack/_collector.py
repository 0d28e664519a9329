"""The collector hop: a generated collector config, its service spec, and what it forwarded.

Every scenario gets its own way (a route) through each pipeline variant of the collector: its own
OTLP receiver (a port of its own), its own pipeline and processors (the variant's, see
harness.variants), and its own exporter per backend. A batch never
mixes scenarios, so one scenario's data (a NaN the zipkin exporter cannot encode, a span a
backend refuses) can fail only its own export, never another scenario's verdicts. A `file`
exporter in every pipeline records exactly what the collector forwarded (the "collector" hop);
the collector logs as JSON, so its own words about a failed export can be read back and pinned
on the scenario and backend whose exporter said them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..emit import spans_from_json_lines
from ..model import PLAIN, Span
from .runtime._base import LOOPBACK, Readiness, ServiceSpec
from .toolchain._builds import COLLECTOR as COLLECTOR_BUILD
from .toolchain._builds import IMAGES, Build

NAME = "collector"
GATEWAY = "collector-gateway"  # the second collector of the variants that have one (agent → gateway)
GATEWAY_FORWARDED_FILE = "collector-gateway-forwarded.jsonl"
CONTRIB_IMAGE = IMAGES[NAME].rsplit(":", 1)[0]  # the official image of every collector release
HEALTH_PORT = "health"
GRPC, HTTP_PROTOBUF = "grpc", "http/protobuf"  # how the SDK sends to a route's receiver
METRICS_PORT = "metrics"  # only when some route's processors may drop spans
SHARED = ""  # the route of a collector that every scenario shares (the compose stack)
FORWARDED_FILE = "collector-forwarded.jsonl"
FORWARDED_EXPORTER = "file/forwarded"


@dataclass(frozen=True)
class Route:
    """One scenario's way through one pipeline variant: its receiver port, its processors (id →
    config, in order) and its exporters (id → config). `name` is `vocabulary.route_id`."""

    name: str
    exporters: dict[str, dict[str, Any]]
    processors: dict[str, dict[str, Any]] = field(default_factory=dict)  # none: the plain variant's
    counted: bool = False  # its processors may drop spans: the collector's own counts are read
    protocol: str = GRPC  # how the SDK sends to its receiver
    recorded: bool = True  # its pipeline ends in the `file` exporter (not an agent's way to its gateway)

    def processor_configs(self) -> dict[str, dict[str, Any]]:
        return self.processors or PLAIN.processor_configs(self.name)

    @property
    def port(self) -> str:
        return receiver_port(self.name, self.protocol)




def release_service(version: str) -> str:
    """The collector process of an earlier release: `collector-0.158.0`."""
    return f"{NAME}-{version}"


def forwarded_file(service: str) -> str:
    """What a collector process's `file` exporter writes: `collector-gateway-forwarded.jsonl`."""
    return f"{service}-forwarded.jsonl"


def receiver_port(route: str, protocol: str = GRPC) -> str:
    """The name of the port a route's spans enter the collector on."""
    kind = "otlp_grpc" if protocol == GRPC else "otlp_http"
    return f"{kind}.{route}" if route else kind


def exporter_id(kind: str, backend: str, route: str) -> str:
    """`zipkin/zipkin.fan-out`: the exporter of `kind` that sends one route to one backend."""
    return f"{kind}/{backend}" + (f".{route}" if route else "")


def ports(routes: Iterable[str]) -> tuple[str, ...]:
    return (HEALTH_PORT, *(receiver_port(route) for route in routes))


def _suffix(route: str) -> str:
    return f"/{route}" if route else ""


def collector_config(ports: dict[str, int], routes: list[Route], forwarded: Path | None,
                     listen: str = LOOPBACK) -> dict[str, Any]:
    receivers: dict[str, Any] = {}
    processors: dict[str, Any] = {}
    exporters: dict[str, Any] = {}
    pipelines: dict[str, Any] = {}
    recorded = [FORWARDED_EXPORTER] if forwarded is not None else []
    if forwarded is not None:
        exporters[FORWARDED_EXPORTER] = {"path": str(forwarded), "format": "json", "flush_interval": "100ms"}
    for route in routes:
        receiver = f"otlp{_suffix(route.name)}"
        protocol = "grpc" if route.protocol == GRPC else "http"
        receivers[receiver] = {"protocols": {protocol: {"endpoint": f"{listen}:{ports[route.port]}"}}}
        exporters.update(route.exporters)
        # Processors are instantiated per pipeline: each route has a batch (and the rest) of its own.
        processors.update(route.processor_configs())
        pipelines[f"traces{_suffix(route.name)}"] = {
            "receivers": [receiver], "processors": list(route.processor_configs()),
            "exporters": [*route.exporters, *(recorded if route.recorded else [])]}
    return {
        "receivers": receivers,
        # The plain variant's short batch timeout keeps a run fast; batching itself is what users run.
        "processors": processors,
        "exporters": exporters,
        "extensions": {"health_check": {"endpoint": f"{listen}:{ports[HEALTH_PORT]}"}},
        "service": {
            "extensions": ["health_check"],
            # No metrics listener: the default 8888 could clash with anything else running.
            # JSON logs: an exporter's own message about a dropped batch is read back as evidence.
            "telemetry": {"metrics": _metrics(ports, listen), "logs": {"level": "info", "encoding": "json"}},
            "pipelines": pipelines,
        },
    }


def _metrics(ports: dict[str, int], listen: str) -> dict[str, Any]:
    """The collector's own counts, where a route's processors may drop spans: what each processor
    took in and passed on is that hop's record of a drop (see harness.processor_counts)."""
    if METRICS_PORT not in ports:
        return {"level": "none"}
    return {"level": "detailed",
            "readers": [{"pull": {"exporter": {"prometheus": {"host": listen, "port": ports[METRICS_PORT]}}}}]}


def collector_service(binary: Path | None, ports: dict[str, int], routes: list[Route],
                      forwarded: Path | None, listen: str = LOOPBACK, name: str = NAME,
                      image: str = IMAGES[NAME]) -> ServiceSpec:
    config = collector_config(ports, routes, forwarded, listen)
    return ServiceSpec(
        name=name,
        command=(str(binary), "--config", f"{name}.yaml"),  # two collectors never share a file
        image=image,
        image_family=NAME if image == IMAGES[NAME] else "",  # a gateway runs the collector's chosen image
        readiness=Readiness(port=HEALTH_PORT, path="/"),
        ports=ports,
        config_files={f"{name}.yaml": yaml.safe_dump(config, sort_keys=False)},
    )


@dataclass(frozen=True)
class Collector:
    """The collector as a component a runtime provides: its routes are known once the backends
    (and the taps in front of them) run."""

    routes: tuple[Route, ...] = ()
    forwarded: Path | None = None  # where its `file` exporter records what it forwarded
    name: str = NAME
    title: str = NAME
    build: Build | None = COLLECTOR_BUILD
    image: str = IMAGES[NAME]  # an earlier release: that release's official image
    container_ports: dict[str, int] = field(default_factory=lambda: {"otlp_grpc": 4317, HEALTH_PORT: 13133})
    published_ports: dict[str, int] = field(default_factory=lambda: {"otlp_grpc": 4317})
    probe: Readiness = field(default_factory=lambda: Readiness(port=HEALTH_PORT, path="/"))

    @property
    def ports(self) -> tuple[str, ...]:
        counted = (METRICS_PORT,) if any(route.counted for route in self.routes) else ()
        return (HEALTH_PORT, *(route.port for route in self.routes), *counted)

    def service(self, binary: Path | None, ports: dict[str, int], listen: str) -> ServiceSpec:
        return collector_service(binary, ports, list(self.routes), self.forwarded, listen, self.name, self.image)

    def given(self) -> dict[str, str] | None:
        return None


def read_forwarded(path: Path, run_id: str) -> list[Span]:
    """Spans the collector forwarded in this run (the file may not exist until the first flush)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    # The exporter may be mid-write: only complete lines count.
    complete = text[: text.rfind("\n") + 1]
    return spans_from_json_lines(complete, run_id)


@dataclass(frozen=True)
class ExportFailure:
    """An exporter said it dropped data: its id, its error, how many items, and the line itself."""

    exporter: str
    error: str
    dropped: int
    line: str

    def describe(self) -> str:
        return f"collector exporter {self.exporter} dropped {self.dropped} span(s): {self.error}"


def export_failures(log_text: str) -> list[ExportFailure]:
    """Every "Exporting failed. Dropping data." (or rejecting) line of the collector's JSON log."""
    failures = []
    for line in log_text.splitlines():
        if "dropped_items" not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        exporter = record.get("otelcol.component.id") or record.get("exporter") or ""
        if not exporter:
            continue
        failures.append(ExportFailure(str(exporter), str(record.get("error", "")),
                                      int(record.get("dropped_items") or 0),
                                      f"{record.get('msg', '')} {json.dumps(record.get('error', ''))}".strip()))
    return failures
