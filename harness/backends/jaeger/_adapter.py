"""Jaeger v2, on each of its storages (`_storages.py`): `jaeger` (in memory), `jaeger-badger`,
`jaeger-opensearch`. Each has these read paths:

- `api_v3`: /api/v3/traces/{id}, OTLP JSON with hex ids: every link field can come back.
- `api_traces`: /api/traces/{id}, the model Jaeger UI reads. Links become `references`
  (refType FOLLOWS_FROM), which carry only trace id and span id; a link whose attributes say
  `opentracing.ref_type=child_of` becomes a second CHILD_OF reference (a parent, not a link).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import yaml

from ...emit import OtlpGrpcTap, spans_from_json
from ...model import (
    ATTRIBUTES,
    DROPPED_ATTRIBUTES_COUNT,
    DROPPED_LINKS_COUNT,
    FLAGS,
    LINK_ATTRIBUTE,
    LINK_ATTRIBUTE_PREFIX,
    LINK_FLAGS,
    LINK_SPAN_ID,
    LINK_TRACE_ID,
    TRACE_STATE,
    Advice,
    HttpClient,
    Link,
    ReadPath,
    RenderReadPath,
    SearchAnswer,
    SearchQuery,
    SearchReadPath,
    Span,
    TraceReadPath,
    tag_text,
    trace_reader,
)
from ...stack import (
    LOOPBACK,
    Backend,
    Given,
    GoProgram,
    Readiness,
    Service,
    ServiceSpec,
    StackChoice,
    StackFile,
    Tap,
    look_alikes,
)
from . import _look_alike
from . import _ui as jaeger_ui
from ._release import JAEGER, JAEGER_PREVIOUS, OFFICIAL_IMAGE, jaeger_release
from ._storages import (
    BADGER,
    ELASTICSEARCH_STORAGE,
    MEMORY,
    OPENSEARCH_STORAGE,
    STORAGES,
    Storage,
    storage_at,
    tagged,
)

NAME = "jaeger"
WARNINGS_ATTRIBUTE = "@jaeger@warnings"  # where Jaeger says what it changed in a span


def normalize_api_v3(body: Any) -> list[Span]:
    """The HTTP gateway wraps the OTLP TracesData as {"result": {...}}."""
    if not isinstance(body, dict) or "result" not in body:
        return []
    return [replace(span, warnings=_warnings(span.attributes.get(WARNINGS_ATTRIBUTE, ())))
            for span in spans_from_json(body["result"], ids="hex")]


def _warnings(value: object) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, tuple) else (str(value),) if value else ()


def normalize_api_traces(body: Any) -> list[Span]:
    """Jaeger UI model → spans. The first CHILD_OF reference in the same trace is the parent (as
    Jaeger UI reads it); every other reference is a link, and says so when it is not a
    FOLLOWS_FROM one (its relation was changed on the way)."""
    spans: list[Span] = []
    for trace in (body or {}).get("data") or []:
        for span in trace.get("spans") or []:
            parent = ""
            links: list[Link] = []
            for ref in span.get("references") or []:
                is_parent = (not parent and ref.get("refType") == "CHILD_OF"
                             and ref.get("traceID") == span["traceID"])
                if is_parent:
                    parent = ref["spanID"]
                else:
                    relation = str(ref.get("refType") or "")
                    links.append(Link(trace_id=_pad(ref["traceID"], 32), span_id=_pad(ref["spanID"], 16),
                                      flags=None, relation="" if relation == "FOLLOWS_FROM" else relation))
            spans.append(Span(trace_id=_pad(span["traceID"], 32), span_id=_pad(span["spanID"], 16),
                              name=span.get("operationName", ""), parent_span_id=parent, links=tuple(links),
                              warnings=tuple(span.get("warnings") or ())))
    return spans


def _pad(hex_id: str, width: int) -> str:
    """Jaeger's UI model drops leading zeros of ids ("0af7…" may come back as "af7…")."""
    return hex_id.lower().rjust(width, "0")


def search(http: HttpClient, base_url: str, query: SearchQuery) -> SearchAnswer:
    """Jaeger UI's search: /api/traces?service=…&tags={"key":"value"}. Its tags match span and
    process tags and log fields; whether they match link attributes is what this measures."""
    params: dict[str, Any] = {"service": query.service, "tags": json.dumps({query.key: tag_text(query.value)}),
                              "start": query.start * 1_000_000, "end": query.end * 1_000_000}
    if query.limit is not None:
        params["limit"] = query.limit
    if query.span_name:
        params["operation"] = query.span_name
    status, body = http.get_json(f"{base_url}/api/traces", params)
    found = {(span.trace_id, span.span_id) for span in normalize_api_traces(body)} if status == 200 else set()
    operation = f"&operation={query.span_name}" if query.span_name else ""
    return SearchAnswer(found, status, body, f"/api/traces?service={query.service}{operation}&tags={params['tags']}",
                        parameters="" if query.limit is None else f"limit={query.limit}")


UI_ASSETS_ENV = "LINKMATRIX_JAEGER_UI_ASSETS"  # the CLI's --jaeger-ui-assets reads it
UI_ASSETS = "ui_assets"  # the option naming a folder of Jaeger UI assets (one built from the Go proxy has none)


def config(ports: dict[str, int], listen: str = LOOPBACK, storage: Storage = MEMORY, data_dir: str = "jaeger-data",
           needs: Mapping[str, str] | None = None, ui_assets: str | None = None) -> dict[str, Any]:
    query: dict[str, Any] = {
        "storage": {"traces": "store"},
        "http": {"endpoint": f"{listen}:{ports['query_http']}"},
        "grpc": {"endpoint": f"{listen}:{ports['query_grpc']}"},
        # Its own traces would go to an OTLP receiver on 127.0.0.1:4317 (someone else's, or none:
        # measured, its stop then waited 2 s for that export to time out).
        "enable_tracing": False,
    }
    if ui_assets:
        query["ui"] = {"assets_path": str(Path(ui_assets).resolve())}
    return {
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query", "healthcheckv2"],
            "pipelines": {"traces": {"receivers": ["otlp"], "processors": [],
                                     "exporters": ["jaeger_storage_exporter"]}},
            # No metrics listener: its default port 8888 would clash with the collector's.
            "telemetry": {"metrics": {"level": "none"}, "logs": {"level": "info"}},
        },
        "extensions": {
            "healthcheckv2": {"use_v2": True, "http": {"endpoint": f"{listen}:{ports['health']}"}},
            "jaeger_query": query,
            "jaeger_storage": {"backends": {"store": storage.config(data_dir, dict(needs or {}))}},
        },
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"{listen}:{ports['otlp_grpc']}"},
                                             "http": {"endpoint": f"{listen}:{ports['otlp_http']}"}}}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": "store"}},
    }


_NO_LINK_QUERY = "its query API has no parameter for link targets"


def read_paths(name: str, title: str) -> tuple[ReadPath, ...]:
    return (
        TraceReadPath(name, "api_v3", f"{title} /api/v3", trace_reader("/api/v3/traces/{trace_id}", normalize_api_v3)),
        TraceReadPath(name, "api_traces", f"{title} UI model /api/traces",
                      trace_reader("/api/traces/{trace_id}", normalize_api_traces),
                      cannot_carry=frozenset({ATTRIBUTES, TRACE_STATE, FLAGS, DROPPED_ATTRIBUTES_COUNT,
                                              DROPPED_LINKS_COUNT}),
                      notes={ATTRIBUTES: "references have refType, traceID and spanID only"}),
        SearchReadPath(name, "search", f"{title} search (UI)", search, kinds=frozenset({LINK_ATTRIBUTE}),
                       timeout=15.0, notes={LINK_TRACE_ID: _NO_LINK_QUERY, LINK_SPAN_ID: _NO_LINK_QUERY}),
        RenderReadPath(name, "ui", f"{title} UI", jaeger_ui.render, api="api_traces", how=jaeger_ui.HOW),
    )


def _stored_elsewhere(store: str) -> tuple[Advice, ...]:
    """Measured on Badger, OpenSearch and Elasticsearch: what reached the store intact, it returns without."""
    line = (f"Jaeger on {store} storage keeps a link's target but not its attributes or flags (they reached it "
            "intact; Jaeger's in-memory store returns them).")
    return (Advice({"hop": "backend", "feature": LINK_ATTRIBUTE_PREFIX}, meaning=line),
            Advice({"hop": "backend", "feature": LINK_FLAGS}, meaning=line))


class Jaeger(Backend):
    """One Jaeger on one storage: the table has an entry per storage."""

    ports = ("otlp_grpc", "query_http", "query_grpc", "health", "otlp_http")
    container_ports = {"otlp_grpc": 4317, "query_http": 16686, "query_grpc": 16685, "health": 13133, "otlp_http": 4318}
    published_ports = {"query_http": 16686, "otlp_grpc": 14317, "otlp_http": 14318}
    otlp_http_port = "otlp_http"
    probe = Readiness(port="query_http", path="/")
    query_port = "query_http"

    def __init__(self, storage: Storage = MEMORY, pin: GoProgram = JAEGER, current: bool | None = None) -> None:
        """`current`: the release the run compares others with, named without its version (default:
        the pinned one; a stack file's Jaeger at another release is current too)."""
        self.storage = storage
        self.pin = pin
        pinned = pin is JAEGER if current is None else current
        self.build = pin
        self.family = NAME if storage is MEMORY else f"{NAME}-{storage.name}"  # versions are compared within it
        self.name = self.family if pinned else f"{self.family}-{pin.version}"
        stored = "Jaeger" if storage is MEMORY else f"Jaeger-{storage.label}"
        self.title = stored if pinned else f"{stored} {pin.version}"
        self.image = f"{OFFICIAL_IMAGE}:{pin.version}"
        self.data_age = storage.data_age
        self.needs = storage.needs
        # Other storages run when asked for (--storages), other versions too (--versions).
        self.default = storage is MEMORY and pinned
        self.release = "" if pinned else pin.version
        self.read_paths = read_paths(self.name, self.title)
        if storage is not MEMORY:  # its column folds into the in-memory one's, said per storage
            self.kept_on = storage.label
            self.variant_of = NAME if pinned else f"{NAME}-{pin.version}"
            self.advice = _stored_elsewhere(storage.label)

    def at_release(self, version: str, current: bool) -> Jaeger:
        return Jaeger(self.storage, JAEGER if version == JAEGER.version else jaeger_release(version), current)

    def stack_entry_problem(self, given: Given) -> tuple[str, str] | None:
        if (given.storage_version or given.storage_image) and not STORAGES[given.storage or MEMORY.name].needs:
            engines = ", ".join(name for name, storage in STORAGES.items() if storage.needs)
            return "storage_version", f"only a search engine storage ({engines}) has a version of its own"
        return None

    def as_given(self, given: Given, stack: StackFile, table: Mapping[str, Backend]) -> StackChoice:
        """A stack file's Jaeger: its storage (the table's Jaeger on it), its release, its search
        engine's release or image."""
        backend = self
        if given.storage and given.storage != MEMORY.name:
            chosen = table[f"{NAME}-{given.storage}"]
            assert isinstance(chosen, Jaeger)  # the table's Jaeger on that storage
            backend = chosen
        if given.version:
            backend = backend.at_release(given.version, current=True)
        if given.storage_version:
            backend = backend.on_storage(storage_at(backend.storage, given.storage_version))
        images = {}
        if given.storage_version or given.storage_image:
            for engine in backend.storage.needs:
                images[engine.name] = given.storage_image or tagged(engine.image, given.storage_version)
        if given.image:
            images[backend.name] = given.image
        return StackChoice(backend, images)

    def look_alike(self) -> look_alikes.LookAlike:
        return _look_alike.look_alike(self.pin)

    def on_storage(self, storage: Storage) -> Jaeger:
        """This release of Jaeger on another storage (a stack file names the one it runs on)."""
        return Jaeger(storage, self.pin, current=not self.release)

    def service(self, binary: Path | None, ports: dict[str, int], listen: str = LOOPBACK,
                data_dir: str | None = None) -> ServiceSpec:
        assets = self.options.get(UI_ASSETS)
        settings = config(ports, listen, self.storage, data_dir or f"{self.name}-data", self.peers, assets)
        return ServiceSpec(
            name=self.name,
            command=(str(binary), "--config", f"{self.name}.yaml"),
            image=self.image,
            image_family=NAME if self.pin == JAEGER else "",  # on any storage, the pinned Jaeger's chosen image
            readiness=Readiness(port="health", path="/status"),
            ports=ports,
            config_files={f"{self.name}.yaml": yaml.safe_dump(settings, sort_keys=False)},
            reads=(str(Path(assets).resolve()),) if assets else (),
            # Seen with 2.13.0: after SIGTERM it keeps retrying a gRPC connection to its own, already
            # stopped, query server and never exits. Its stores flush as they write: nothing to lose.
            stop_grace=3.0,
        )

    def collector_exporter(self, address: str) -> tuple[str, dict[str, Any]]:
        return "otlp_grpc", {"endpoint": address, "tls": {"insecure": True}}

    def ui_problem(self, http: HttpClient, service: Service) -> str | None:
        status, text = http.get_text(f"{self.base_url(service)}/")
        if status != 200:
            return f"its UI page answered HTTP {status}"
        if jaeger_ui.PLACEHOLDER in text:
            return ("this Jaeger serves a placeholder page, not its UI (one built from the Go module proxy has no UI "
                    f"assets): give them with --jaeger-ui-assets DIR or {UI_ASSETS_ENV}, or run its official image "
                    "(--runtime docker without --local-images), which has the UI")
        return None

    def egress_tap(self, upstream: str, run_id: str) -> Tap:
        return cast(Tap, OtlpGrpcTap([upstream], run_id))

    def version(self, http: HttpClient, service: Service) -> str:
        if service.binary is None:
            return "unknown (its API does not say; a container's image tag does)"
        result = subprocess.run([str(service.binary), "version"], capture_output=True, text=True, timeout=30)
        try:
            version = json.loads(result.stdout.strip().splitlines()[-1])["gitVersion"].lstrip("v")
        except (ValueError, KeyError, IndexError):
            version = ""
        return str(version) or "unknown (`jaeger version` printed no gitVersion)"


BACKEND = Jaeger()
ON_BADGER = Jaeger(BADGER)
ON_OPENSEARCH = Jaeger(OPENSEARCH_STORAGE)
ON_ELASTICSEARCH = Jaeger(ELASTICSEARCH_STORAGE)
PREVIOUS = Jaeger(pin=JAEGER_PREVIOUS)
