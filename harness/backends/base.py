"""What every backend adapter provides, and the read paths it declares.

An adapter is one module and one entry in `backends.BACKENDS`. It declares its service (what to
run, its ports inside a container network and where a person reaches it), how the collector
sends to it and the tap that records what the collector sent, and its read paths:

- a `TraceReadPath` turns one answer for a trace id into normalized spans ("not found yet" is an
  empty answer, never an exception; the run polls until the expected spans are there) and says
  which link fields it cannot carry at all;
- a `SearchReadPath` asks the backend's search for the linking span by what its link carries.

Every request of a run goes through one `Http` (one session, one status and JSON handling), the
seam tests replace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

import requests
from playwright.async_api import Page

from .. import jsonio
from ..model import Span
from ..render.shown import ShownSpan, SpanToShow
from ..runtime import Component, Readiness, Service, ServiceSpec
from ..taps import HttpPostTap, otlp_http_decoder
from ..vocabulary import Age, LinkField, MissProof, SearchKind

HTTP_TIMEOUT = 10.0


class Http:
    """One session for every request of a run: connection reuse, one timeout, one way of reading
    a status and a JSON body. A transport failure raises `requests.RequestException`."""

    def __init__(self, session: requests.Session | None = None, timeout: float = HTTP_TIMEOUT) -> None:
        self.session = session or requests.Session()
        self.timeout = timeout

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> tuple[int, Any]:
        """(status, body): the body decoded as JSON, as text when it is not JSON, None when empty."""
        response = self.session.get(url, params=params, timeout=self.timeout, headers={"Accept": "application/json"})
        if not response.content:
            return response.status_code, None
        try:
            return response.status_code, jsonio.loads(response.content)
        except ValueError:
            return response.status_code, response.text

    def get_text(self, url: str) -> tuple[int, str]:
        response = self.session.get(url, timeout=self.timeout)
        return response.status_code, response.text

    def close(self) -> None:
        self.session.close()


@dataclass
class Answer:
    """One read: the normalized spans plus the raw answer, kept as evidence."""

    spans: list[Span]
    status: int
    raw: Any


@dataclass(frozen=True)
class SearchQuery:
    """Find the linking span by what its link carries: a target trace id, span id, or attribute."""

    kind: SearchKind
    value: Any
    service: str  # service.name of the spans, for APIs that need one
    start: int  # search window, epoch seconds
    end: int
    key: str = ""  # the attribute's name, for link_attribute
    # The span's own name: narrows a control query to the very span, so that the other spans of
    # the run (or of a scenario with many traces) can never push it out of a limited result.
    span_name: str = ""
    limit: int = 100  # results asked for: more than the spans that can match, so none is cut off


@dataclass
class SearchAnswer:
    found: set[tuple[str, str]]  # (trace id, span id) it matched; whole traces where the API gives no span
    status: int
    raw: Any
    query_text: str  # the query as the backend's API received it


TraceReader = Callable[[Http, str, str], Answer]  # (http, base url, trace id hex) → answer
Searcher = Callable[[Http, str, SearchQuery], SearchAnswer]  # (http, base url, query) → answer


@dataclass(frozen=True)
class TraceReadPath:
    backend: str
    name: str
    label: str
    read: TraceReader
    cannot_carry: frozenset[LinkField] = frozenset()
    notes: dict[str, str] = field(default_factory=dict)  # field → why it cannot
    # Data age: "" — one read is final; "fresh" — read as soon as the spans show; "settled" — read
    # again once the backend says its store has settled (Backend.settled). `twin`: the other one.
    age: Age = ""
    twin: str = ""

    @property
    def id(self) -> str:
        return f"{self.backend}/{self.name}"


@dataclass(frozen=True)
class SearchReadPath:
    backend: str
    name: str
    label: str
    search: Searcher
    kinds: frozenset[SearchKind]  # the queries its API can express at all
    notes: dict[str, str] = field(default_factory=dict)  # search kind → why it cannot
    timeout: float = 30.0  # search indexes lag: its own deadline, apart from trace reads
    # What makes a miss final before the deadline (a miss is only ever judged once proven final):
    # "span" where one store answers every query at once (a span found by its run id is found by
    # any field it has); "link" where link fields are indexed later — measured on Tempo: up to ~30 s
    # after the span's own attributes — so only another field of the same link proves them there.
    misses_proven_by: MissProof = "span"

    @property
    def id(self) -> str:
        return f"{self.backend}/{self.name}"

    @property
    def cannot_carry(self) -> frozenset[LinkField]:
        return frozenset()


# (page, base url, trace id, spans to look at, screenshot file) → what the page showed of each span
Renderer = Callable[[Page, str, str, Sequence[SpanToShow], Path], Awaitable[dict[str, ShownSpan]]]


@dataclass(frozen=True)
class RenderReadPath:
    """What a person sees in the backend's UI, read off the page in a headless browser."""

    backend: str
    name: str
    label: str
    render: Renderer | None  # None: a declared gap, `gap` says why
    api: str = ""  # the trace read path whose API this UI reads: what the page could show at most
    gap: str = ""
    how: str = ""  # the click path a person follows to see a span's links (the report's recipe)
    home: str = "/"  # the UI's first page: loaded while the spans are sent, so its bundle is cached
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.backend}/{self.name}"

    @property
    def cannot_carry(self) -> frozenset[LinkField]:
        return frozenset()


ReadPath = TraceReadPath | SearchReadPath | RenderReadPath


class Tap(Protocol):
    """A recording pass-through in front of a backend (see harness.taps)."""

    address: str  # "127.0.0.1:port": where the collector sends instead of the backend
    errors: list[str]

    def __enter__(self) -> Tap: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def spans(self) -> list[Span]: ...

    def refusals(self) -> dict[tuple[str, str], str]: ...

    def undelivered(self) -> dict[tuple[str, str], str]: ...

    def save(self, path: Path) -> None: ...


class Backend:
    """The adapter every backend module fills in (and one entry in backends.BACKENDS)."""

    name: str
    title: str
    component: str | None  # key in the toolchain's versions table; None: the user provides it
    ports: tuple[str, ...]
    container_ports: dict[str, int]  # its usual ports inside a container network (compose)
    published_ports: dict[str, int]  # where a person reaches it on 127.0.0.1 (compose, external defaults)
    probe: Readiness  # on a published port: is an instance someone else runs ready?
    read_paths: tuple[ReadPath, ...]
    query_port: str = "http"  # the port its read paths use
    ingest_port: str = "otlp_grpc"  # the port the collector sends to
    otlp_port: str | None = "otlp_grpc"  # its own OTLP/gRPC receiver (the direct pipeline); None: none
    otlp_http_port: str | None = None  # its own OTLP/HTTP receiver (the collector's otlp_http exporter); None: none
    # Why one read suffices, or how its fresh and settled reads differ (shown in the report).
    data_age: str = ""
    container_data_dir: str | None = None  # where it keeps data inside its image (compose gives it a volume)
    # Seconds after a trace's last span arrives during which its "fresh" read paths show the fresh
    # form (None: no fresh form, or no bound known); a fresh read finished later is not measured.
    fresh_for: float | None = None
    family: str = ""  # backends of one family at different versions are compared (e.g. zipkin, zipkin-2.27.0)
    release: str = ""  # an earlier release than the pinned one, to compare with ("": the pinned one)
    default: bool = True  # in a run that names no backends (False: only when asked for, e.g. --storages)
    needs: tuple[Component, ...] = ()  # services that must run first (a storage's search engine)
    peers: dict[str, str] = {}

    def service(self, binary: Path | None, ports: dict[str, int], listen: str,
                data_dir: str | None = None) -> ServiceSpec:
        """What to run; `listen` is the address its listeners bind (0.0.0.0 inside a container network);
        `data_dir` where it keeps data, when not next to its config."""
        raise NotImplementedError

    def base_url(self, service: Service) -> str:
        return service.url(self.query_port)

    def version(self, http: Http, service: Service) -> str:
        raise NotImplementedError

    def unavailable(self, runtime: str = "local") -> str | None:
        """Why it cannot run on this runtime here (None: it can)."""
        return None

    def given(self) -> dict[str, str] | None:
        """Port name → "host:port" of an instance that already runs, if the user named one."""
        return None

    def collector_exporter(self, address: str) -> tuple[str, dict[str, Any]]:
        """The collector exporter (its type, its config) that sends to `address` ("host:port" of the
        backend's ingest port, or of the tap in front of it); the pipeline names one per scenario."""
        raise NotImplementedError

    def collector_http_exporter(self, address: str, encoding: str) -> tuple[str, dict[str, Any]]:
        """The collector's `otlp_http` exporter to its OTLP/HTTP receiver (or the tap in front of it),
        writing `encoding` (proto or json), compressed as by default."""
        return "otlp_http", {"endpoint": f"http://{address}", "encoding": encoding}

    def egress_http_tap(self, upstream: str, run_id: str) -> Tap:
        """A tap in front of its OTLP/HTTP receiver ("host:port")."""
        return cast(Tap, HttpPostTap(f"http://{upstream}", otlp_http_decoder(run_id)))

    def egress_tap(self, upstream: str, run_id: str) -> Tap:
        """A tap that records what the collector sends to this backend and forwards it to
        `upstream` ("host:port" of its ingest port); it decodes the spans of `run_id`."""
        raise NotImplementedError

    def settle_mark(self, http: Http, service: Service) -> Any:
        """Taken before anything is sent: what `settled` compares with (backends with "settled" read paths)."""
        return None

    def settled(self, http: Http, service: Service, mark: Any) -> str | None:
        """None once everything sent since `mark` is in its final form; else what it still waits for."""
        return None

    def ui_problem(self, http: Http, service: Service) -> str | None:
        """Why its UI cannot be rendered here (None: it can)."""
        return None


def trace_reader(path: str, normalize: Callable[[Any], list[Span]]) -> TraceReader:
    """A read path that GETs `path` (with {trace_id}) and normalizes a 200 answer; anything else
    is "not visible (yet)": no spans, the answer kept as evidence."""
    def read(http: Http, base_url: str, trace_id: str) -> Answer:
        status, body = http.get_json(base_url + path.format(trace_id=trace_id))
        return Answer(normalize(body) if status == 200 else [], status, body)
    return read


def tag_text(value: Any) -> str:
    """An attribute value as a tag query writes it (bools in lower case, as the SDKs send them)."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)
