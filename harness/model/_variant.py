"""A collector pipeline variant, as every stage sees it: the processors a scenario's spans pass
through in the collector, in order, each in the collector's own config form (the stack loads them
from pipelines.yaml and runs them; the run and the reports name them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._vocabulary import COLLECTOR


@dataclass(frozen=True)
class Variant:
    name: str
    about: str
    processors: tuple[tuple[str, dict[str, Any]], ...]  # (kind, config) in order
    default: bool = False
    sdk: str = ""  # the key of an earlier SDK release (toolchain.COMPONENTS) that emits on it; "": this one
    protocol: str = "grpc"  # how the SDK sends into the collector: grpc, or http/protobuf
    # True: a second collector (a gateway) runs the processors and the exporters to the backends;
    # the first (the agent the SDK sends to) batches and forwards over OTLP/gRPC, as deployments do.
    gateway: bool = False
    exporter_protocol: str = "grpc"  # how the collector sends to OTLP backends (Zipkin: always its zipkin exporter)
    # The key of an earlier collector release (toolchain.COMPONENTS) whose own collector process runs
    # it; "": the pinned release's collector.
    collector: str = ""

    @property
    def exports_http(self) -> bool:
        return self.exporter_protocol != "grpc"

    @property
    def http_encoding(self) -> str:
        return "json" if self.exporter_protocol == "http/json" else "proto"

    def processor_ids(self, route: str) -> list[str]:
        """Collector component ids of one route's processors, unique in the whole config, so that
        the collector's own counts (per processor id) are that route's: `filter/fan-out.filter-drop`."""
        ids: list[str] = []
        for kind, _ in self.processors:
            base = f"{kind}/{route}" if route else kind  # the shared route of the compose stack
            ids.append(base if base not in ids else f"{base}-{len(ids)}")
        return ids

    def processor_configs(self, route: str) -> dict[str, dict[str, Any]]:
        return {pid: config for pid, (_, config) in zip(self.processor_ids(route), self.processors, strict=True)}

    @property
    def may_drop(self) -> bool:
        """Processors beyond batching: the collector's own counts are needed to settle its hop."""
        return any(kind != "batch" for kind, _ in self.processors)


# Used when there is no pipelines.yaml to read (linkmatrix run from another folder).
PLAIN = Variant(COLLECTOR, "the plain pipeline every run has, a batch processor and nothing else",
                (("batch", {"timeout": "200ms"}),), default=True)
