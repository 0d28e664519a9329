"""What every backend adapter provides: a service spec, a collector exporter, and read paths.

A read path turns one backend answer into normalized spans. "Not found yet" is an empty answer,
never an exception; the matrix polls until the expected spans are there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import requests

from ..model import Span
from ..runtime import Service, ServiceSpec

# Link fields a read path may be unable to carry at all. A feature that needs such a field is
# `n/a` on that path (declared here), never `lost`.
ATTRIBUTES = "attributes"
TRACE_STATE = "trace_state"
FLAGS = "flags"
DROPPED_ATTRIBUTES_COUNT = "dropped_attributes_count"
DROPPED_LINKS_COUNT = "dropped_links_count"
LINK_FIELDS = (ATTRIBUTES, TRACE_STATE, FLAGS, DROPPED_ATTRIBUTES_COUNT, DROPPED_LINKS_COUNT)

HTTP_TIMEOUT = 10


@dataclass
class Answer:
    """One read: the normalized spans plus the raw answer, kept as evidence."""

    spans: list[Span]
    status: int
    raw: Any


@dataclass(frozen=True)
class ReadPath:
    backend: str
    name: str
    label: str
    read: Callable[[str, str], Answer]  # (base url, trace id hex) → answer
    cannot_carry: frozenset[str] = frozenset()
    notes: dict[str, str] = field(default_factory=dict)  # field → why it cannot carry it

    @property
    def id(self) -> str:
        return f"{self.backend}/{self.name}"


class Backend(Protocol):
    name: str
    title: str
    component: str  # key in the toolchain's versions table
    ports: tuple[str, ...]
    read_paths: tuple[ReadPath, ...]
    egress: str  # how the collector sends to it: "otlp_grpc" or "http"

    def service(self, binary: Path, ports: dict[str, int]) -> ServiceSpec: ...

    def base_url(self, service: Service) -> str: ...

    def version(self, binary: Path, service: Service | None) -> str: ...

    def otlp_address(self, service: Service) -> str | None:
        """Its own OTLP/gRPC receiver ("127.0.0.1:port"), or None: then no `direct` pipeline."""

    def ingest_url(self, service: Service) -> str:
        """Where an HTTP exporter posts (egress "http")."""

    def collector_exporter(self, target: str) -> tuple[str, dict[str, Any]]:
        """The collector exporter (id, config) that sends to `target` (a tap in front of the backend)."""

    def decode_egress(self, bodies: list[bytes], run_id: str) -> list[Span]:
        """Spans in the HTTP requests the collector sent (egress "http")."""


def get_json(url: str) -> tuple[int, Any]:
    """GET and decode JSON; (status, None) when the body is empty or not JSON."""
    response = requests.get(url, timeout=HTTP_TIMEOUT, headers={"Accept": "application/json"})
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, response.text or None
