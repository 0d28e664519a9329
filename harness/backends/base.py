"""What every backend adapter provides: a service spec, a collector exporter, and read paths.

A read path turns one backend answer into normalized spans. "Not found yet" is an empty answer,
never an exception; the matrix polls until the expected spans are there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import requests

from .. import jsonio
from ..model import Span
from ..runtime import Service, ServiceSpec

# Link fields a read path may be unable to carry at all. A feature that needs such a field is
# `n/a` on that path (declared here), never `lost`.
ATTRIBUTES = "attributes"
TRACE_STATE = "trace_state"
FLAGS = "flags"
DROPPED_ATTRIBUTES_COUNT = "dropped_attributes_count"
DROPPED_LINKS_COUNT = "dropped_links_count"

HTTP_TIMEOUT = 10


@dataclass
class Answer:
    """One read: the normalized spans plus the raw answer, kept as evidence."""

    spans: list[Span]
    status: int
    raw: Any


@dataclass(frozen=True)
class SearchQuery:
    """Find the linking span by what its link carries: a target trace id, span id, or attribute."""

    kind: str  # "link_trace_id" | "link_span_id" | "link_attribute"
    value: Any
    service: str  # service.name of the spans, for APIs that need one
    start: int  # search window, epoch seconds
    end: int
    key: str = ""  # the attribute's name, for link_attribute
    # The span's own name: narrows a control query to the very span, so that the other spans of
    # the run (or of a scenario with many traces) can never push it out of a limited result.
    span_name: str = ""


@dataclass
class SearchAnswer:
    found: set[tuple[str, str]]  # (trace id, span id) it matched; whole traces where the API gives no span
    status: int
    raw: Any
    query_text: str  # the query as the backend's API received it


@dataclass(frozen=True)
class ReadPath:
    backend: str
    name: str
    label: str
    read: Callable[[str, str], Answer] | None  # (base url, trace id hex) → answer
    cannot_carry: frozenset[str] = frozenset()
    notes: dict[str, str] = field(default_factory=dict)  # field or search kind → why it cannot
    search: Callable[[str, SearchQuery], SearchAnswer] | None = None  # a search read path
    search_kinds: frozenset[str] = frozenset()  # the queries its API can express at all
    search_timeout: float = 30.0  # search indexes lag: its own deadline, apart from trace reads
    # Data age: "" — one read is final; "fresh" — read as soon as the spans show; "settled" — read
    # again once the backend says its store has settled (Backend.settled). `twin`: the other one.
    age: str = ""
    twin: str = ""

    @property
    def id(self) -> str:
        return f"{self.backend}/{self.name}"

    @property
    def is_search(self) -> bool:
        return self.search is not None


class Backend:
    """The adapter every backend module fills in (and one entry in backends.BACKENDS)."""

    name: str
    title: str
    component: str | None  # key in the toolchain's versions table; None: the user provides it
    ports: tuple[str, ...]
    read_paths: tuple[ReadPath, ...]
    egress: str  # how the collector sends to it: "otlp_grpc" or "http"
    query_port: str = "http"  # the port name its read paths use
    ingest_port: str = "http"  # for egress "http": the port an HTTP exporter posts to
    # Why one read suffices, or how its fresh and settled reads differ (shown in the report).
    data_age: str = ""

    def service(self, binary: Path | None, ports: dict[str, int], listen: str = "127.0.0.1") -> ServiceSpec:
        """What to run; `listen` is the address its listeners bind (0.0.0.0 inside a container network)."""
        raise NotImplementedError

    def base_url(self, service: Service) -> str:
        raise NotImplementedError

    def version(self, binary: Path | None, service: Service | None) -> str:
        raise NotImplementedError

    def unavailable(self, runtime: str = "local") -> str | None:
        """Why it cannot run on this runtime here (None: it can)."""
        return None

    def external(self) -> tuple[str, str] | None:
        """(query URL, OTLP address) of an instance that already runs, if the user named one."""
        return None

    def otlp_address(self, service: Service) -> str | None:
        """Its own OTLP/gRPC receiver ("127.0.0.1:port"), or None: then no `direct` pipeline."""
        return None

    def ingest_url(self, service: Service) -> str:
        """Where an HTTP exporter posts (egress "http")."""
        raise NotImplementedError

    def collector_exporter(self, target: str) -> tuple[str, dict[str, Any]]:
        """The collector exporter (its type, its config) that sends to `target` (a tap in front of
        the backend); the pipeline names one per scenario (`pipeline.exporter_id`)."""
        raise NotImplementedError

    def decode_egress(self, bodies: list[bytes], run_id: str) -> list[Span]:
        """Spans in the HTTP requests the collector sent (egress "http")."""
        raise NotImplementedError

    def settle_mark(self, service: Service) -> Any:
        """Taken before anything is sent: what `settled` compares with (backends with "settled" read paths)."""
        return None

    def settled(self, service: Service, mark: Any) -> str | None:
        """None once everything sent since `mark` is in its final form; else what it still waits for."""
        return None


def trace_reader(path: str, normalize: Callable[[Any], list[Span]]) -> Callable[[str, str], Answer]:
    """A read path that GETs `path` (with {trace_id}) and normalizes a 200 answer; anything else
    is "not visible (yet)": no spans, the answer kept as evidence."""
    def read(base_url: str, trace_id: str) -> Answer:
        status, body = get_json(base_url + path.format(trace_id=trace_id))
        return Answer(normalize(body) if status == 200 else [], status, body)
    return read


def tag_text(value: Any) -> str:
    """An attribute value as a tag query writes it (bools in lower case, as the SDKs send them)."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def get_json(url: str, params: dict[str, Any] | None = None) -> tuple[int, Any]:
    """GET and decode JSON; the body as text when it is not JSON, None when it is empty."""
    response = requests.get(url, params=params, timeout=HTTP_TIMEOUT, headers={"Accept": "application/json"})
    try:
        return response.status_code, jsonio.loads(response.content)
    except ValueError:
        return response.status_code, response.text or None
