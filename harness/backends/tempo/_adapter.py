"""Grafana Tempo: three read paths.

- `api_v1`: /api/traces/{id} (Accept: application/json) → {"batches": [...]}, ids in base64.
- `api_v2`: /api/v2/traces/{id} → {"trace": {"resourceSpans": [...]}}; a trace Tempo does not
  have (yet) is HTTP 200 with an empty `trace`, read here as "not visible yet".
- `search`: TraceQL /api/search?q=… with link intrinsics (link:traceID, link:spanID) and link
  attributes (`link.` + the attribute's own name). Search lags trace-by-id by tens of seconds.

linkmatrix never builds or ships Tempo: it uses a `tempo` binary on PATH (or
$LINKMATRIX_TEMPO_BIN), or a running Tempo named by $LINKMATRIX_TEMPO_URL (+ $LINKMATRIX_TEMPO_OTLP).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import requests
import yaml

from ...emit import OtlpGrpcTap, spans_from_json
from ...model import (
    LINK_ATTRIBUTE,
    LINK_SPAN_ID,
    LINK_TRACE_ID,
    Advice,
    HttpClient,
    ReadPath,
    RenderReadPath,
    SearchAnswer,
    SearchQuery,
    SearchReadPath,
    Span,
    TraceReadPath,
    trace_reader,
)
from ...stack import (
    LOOPBACK,
    Backend,
    Given,
    Readiness,
    Service,
    ServiceSpec,
    StackChoice,
    StackFile,
    Tap,
    dump_yaml,
    merged,
)

NAME = "tempo"
# What a stack file gives Tempo (its options): a binary to run, and YAML merged over the config written here.
GIVEN_BINARY, CONFIG_OVERRIDES = "binary", "config_overrides"
BINARY_ENV, URL_ENV, OTLP_ENV = "LINKMATRIX_TEMPO_BIN", "LINKMATRIX_TEMPO_URL", "LINKMATRIX_TEMPO_OTLP"


def normalize_api_v1(body: Any) -> list[Span]:
    if not isinstance(body, dict) or not body.get("batches"):
        return []
    return spans_from_json({"resourceSpans": body["batches"]}, ids="base64")


def normalize_api_v2(body: Any) -> list[Span]:
    trace = body.get("trace") if isinstance(body, dict) else None
    if not trace or not trace.get("resourceSpans"):
        return []  # {"trace": {}}: not visible (yet), not "a trace without spans"
    return spans_from_json(trace, ids="base64")


MAX_SPANS_PER_SPAN_SET = 100


def traceql_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def traceql(query: SearchQuery) -> str:
    if query.kind == "control":
        named = f" && name = {traceql_literal(query.span_name)}" if query.span_name else ""
        return (f"{{ resource.{query.key} = {traceql_literal(query.value)} && "
                f"resource.service.name = {traceql_literal(query.service)}{named} }}")
    if query.kind == "link_trace_id":
        return f'{{ link:traceID = "{query.value}" }}'
    if query.kind == "link_span_id":
        return f'{{ link:spanID = "{query.value}" }}'
    # The link scope is `link.` + the attribute's own name: `link.reason` is `link.link.reason`.
    return f"{{ link.{query.key} = {traceql_literal(query.value)} }}"


def search(http: HttpClient, base_url: str, query: SearchQuery) -> SearchAnswer:
    text = traceql(query)
    # Spans per span set: Tempo refuses more than its max_spans_per_span_set (100 by default) with a 400.
    limits = ({} if query.limit is None
              else {"limit": query.limit, "spss": min(query.limit, MAX_SPANS_PER_SPAN_SET)})
    status, body = http.get_json(f"{base_url}/api/search", {"q": text, **limits,
                                                             "start": query.start, "end": query.end})
    return SearchAnswer(normalize_search(body) if status == 200 else set(), status, body, text,
                        parameters="&".join(f"{name}={value}" for name, value in limits.items()))


def normalize_search(body: Any) -> set[tuple[str, str]]:
    """(trace id, span id) of every matched span."""
    found: set[tuple[str, str]] = set()
    for trace in (body.get("traces") or [] if isinstance(body, dict) else []):
        trace_id = trace["traceID"].rjust(32, "0")
        span_sets = trace.get("spanSets") or ([trace["spanSet"]] if trace.get("spanSet") else [])
        for span_set in span_sets:
            for span in span_set.get("spans") or []:
                found.add((trace_id, span["spanID"].rjust(16, "0")))
    return found


_V1 = trace_reader("/api/traces/{trace_id}", normalize_api_v1)
_V2 = trace_reader("/api/v2/traces/{trace_id}", normalize_api_v2)
TEMPO_READ_PATHS: tuple[ReadPath, ...] = (
    TraceReadPath(NAME, "api_v1", "Tempo /api/traces (fresh)", _V1, age="fresh", twin="api_v1_settled"),
    TraceReadPath(NAME, "api_v2", "Tempo /api/v2/traces (fresh)", _V2, age="fresh", twin="api_v2_settled"),
    TraceReadPath(NAME, "api_v1_settled", "Tempo /api/traces (settled)", _V1, age="settled", twin="api_v1"),
    TraceReadPath(NAME, "api_v2_settled", "Tempo /api/v2/traces (settled)", _V2, age="settled", twin="api_v2"),
    SearchReadPath(NAME, "search", "Tempo TraceQL search", search,
                   kinds=frozenset({LINK_TRACE_ID, LINK_SPAN_ID, LINK_ATTRIBUTE}), timeout=180.0,
                   misses_proven_by="link"),
    RenderReadPath(NAME, "grafana", "Grafana (Tempo's UI)", None,
                   gap="Tempo has no UI of its own, and Grafana was not run here"),
)

# Tempo's live store counts its traces and blocks; settled = no trace left in memory and every
# block it cut written out, after at least one block more than before the run sent anything.
LIVE_TRACES = "tempo_live_store_live_traces"
BLOCKS_COMPLETED = "tempo_live_store_blocks_completed_total"
BLOCKS_BEING_COMPLETED = "tempo_live_store_completion_size_bytes_count"  # counted when completion starts


def live_store_metrics(text: str) -> dict[str, float]:
    """The live store's counters from Prometheus text, summed over their labels."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("tempo_live_store_"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            totals[name.split("{", 1)[0]] = totals.get(name.split("{", 1)[0], 0.0) + float(value)
        except ValueError:
            continue
    return totals


def still_settling(metrics: dict[str, float], completed_before: float) -> str | None:
    live = metrics.get(LIVE_TRACES, 0.0)
    completed = metrics.get(BLOCKS_COMPLETED, 0.0)
    writing = metrics.get(BLOCKS_BEING_COMPLETED, 0.0) - completed
    if live == 0 and writing <= 0 and completed > completed_before:
        return None
    return f"{live:g} trace(s) in its live store, {writing:g} block(s) being written, {completed:g} written"


class Tempo(Backend):
    name = NAME
    title = "Tempo"
    build = None  # never fetched or built by linkmatrix
    # Grafana's image; override it with --image tempo=REF or LINKMATRIX_IMAGE_TEMPO.
    image = "grafana/tempo:3.0.3"
    ports = ("http", "grpc", "otlp_grpc", "memberlist", "otlp_http")
    container_ports = {"http": 3200, "grpc": 9095, "otlp_grpc": 4317, "memberlist": 7946, "otlp_http": 4318}
    published_ports = {"http": 3200, "otlp_grpc": 24317, "otlp_http": 24318}
    otlp_http_port = "otlp_http"
    probe = Readiness(port="http", path="/ready")
    container_data_dir = "/var/tempo"  # in its image, the folder its user may write
    read_paths = TEMPO_READ_PATHS
    advice = (Advice({"hop": "backend", "kind": "truncated"},
                     setting="Tempo's distributor `max_attribute_bytes` (per tenant: the `max_attribute_bytes` "
                             "override; 2048 by default) is the limit that cut them",
                     avoids="Tempo cutting long attribute values", where="backend"),)
    to_measure = ("Grafana in the run, as a render column of its own — not built yet; it would need the docker "
                  "runtime on a machine that can pull Grafana's image")
    data_age = ("two reads: fresh, from its live store as soon as the spans show; settled, once the live "
                "store has written them into a completed block, the form every later read gets")
    # How long its live store holds a trace before writing it into a block (configured below): the
    # window of its fresh form (a fresh read finished later saw the settled one).
    LIVE_SECONDS = 10
    fresh_for = float(LIVE_SECONDS)

    def as_given(self, given: Given, stack: StackFile, table: Mapping[str, Backend]) -> StackChoice:
        """A stack file's Tempo: its binary or image, and its config's settings over the ones written here."""
        overrides = stack.config_overrides.get(NAME)
        options = {**({GIVEN_BINARY: given.binary} if given.binary else {}),
                   **({CONFIG_OVERRIDES: dump_yaml(overrides)} if overrides else {})}
        return StackChoice(self.configured(options=options), {NAME: given.image} if given.image else {}, options)

    def binary(self) -> Path | None:
        found = self.options.get(GIVEN_BINARY) or os.environ.get(BINARY_ENV) or shutil.which("tempo")
        return Path(found) if found else None

    def given(self) -> dict[str, str] | None:
        """A Tempo that is already running, if one is named: its query API and OTLP/gRPC receiver."""
        url = os.environ.get(URL_ENV)
        if not url:
            return None
        parsed = urlparse(url)
        return {"http": f"{parsed.hostname}:{parsed.port or 80}",
                "otlp_grpc": os.environ.get(OTLP_ENV) or f"{parsed.hostname}:4317"}

    def unavailable(self, runtime: str = "local") -> str | None:
        if runtime != "local" or self.given() or self.binary():
            return None  # docker runs its image; external is whatever the user runs
        return (f"no Tempo given: put a `tempo` binary on PATH (or set {BINARY_ENV}), or point "
                f"{URL_ENV} (and {OTLP_ENV}) at a running Tempo")

    def config(self, ports: dict[str, int], data_dir: str, listen: str = LOOPBACK) -> dict[str, Any]:
        return {
            "stream_over_http_enabled": True,
            "server": {"http_listen_address": listen, "http_listen_port": ports["http"],
                       "grpc_listen_address": listen, "grpc_listen_port": ports["grpc"], "log_level": "info"},
            # Gossip on loopback and a free port: its default (every interface, 7946) may be taken.
            "memberlist": {"bind_addr": [listen], "bind_port": ports["memberlist"],
                           "advertise_addr": LOOPBACK, "advertise_port": ports["memberlist"]},
            "distributor": {"receivers": {"otlp": {"protocols": {
                "grpc": {"endpoint": f"{listen}:{ports['otlp_grpc']}"},
                "http": {"endpoint": f"{listen}:{ports['otlp_http']}"}}}}},
            "storage": {"trace": {"backend": "local", "wal": {"path": f"{data_dir}/wal"},
                                  "local": {"path": f"{data_dir}/blocks"}}},
            # A trace stays live for its default idle time (the fresh read's window); then its block
            # is cut and written at once instead of after 30 s, so the settled read comes soon.
            "live_store": {"max_trace_idle": f"{self.LIVE_SECONDS}s", "flush_check_period": "1s",
                           "max_block_duration": "1s"},
            "usage_report": {"reporting_enabled": False},
        }

    def service(self, binary: Path | None, ports: dict[str, int], listen: str = LOOPBACK,
                data_dir: str | None = None) -> ServiceSpec:
        tempo = binary or self.binary()
        # Its data goes next to the run's config folder (the service's working directory).
        config = self.config(ports, data_dir or "../tempo-data", listen)
        if self.options.get(CONFIG_OVERRIDES):  # the user's own settings win over ours
            config = merged(config, yaml.safe_load(self.options[CONFIG_OVERRIDES]))
        return ServiceSpec(
            name=NAME,
            command=(str(tempo), "-config.file=tempo.yaml", "-target=all"),
            image=self.image,
            readiness=Readiness(port="http", path="/ready", timeout=120.0),
            ports=ports,
            config_files={"tempo.yaml": yaml.safe_dump(config, sort_keys=False)},
            # Seen with 3.0.3: still running 120 s after SIGTERM, its API hanging. Bounded, then killed.
            stop_grace=5.0,
        )

    def version(self, http: HttpClient, service: Service) -> str:
        try:
            status, body = http.get_json(f"{service.url('http')}/api/status/buildinfo")
            if status == 200 and isinstance(body, dict) and str(body.get("version") or "").strip():
                return str(body["version"])
        except requests.RequestException:
            pass
        tempo = service.binary or self.binary()
        if tempo and service.started_here:
            output = subprocess.run([str(tempo), "-version"], capture_output=True, text=True, timeout=30)
            match = re.search(r"version (\S+)", output.stdout + output.stderr)
            if match:
                return match.group(1)
        return "unknown (neither /api/status/buildinfo nor `tempo -version` gave one)"

    def _metrics(self, http: HttpClient, service: Service) -> dict[str, float]:
        status, text = http.get_text(f"{service.url('http')}/metrics")
        if status != 200:
            raise requests.HTTPError(f"HTTP {status}")
        return live_store_metrics(text)

    def settle_mark(self, http: HttpClient, service: Service) -> Any:
        try:
            return self._metrics(http, service).get(BLOCKS_COMPLETED, 0.0)
        except requests.RequestException:
            return 0.0

    def settled(self, http: HttpClient, service: Service, mark: Any) -> str | None:
        try:
            return still_settling(self._metrics(http, service), float(mark or 0.0))
        except requests.RequestException as error:
            return f"its /metrics cannot be read ({type(error).__name__})"

    def collector_exporter(self, address: str) -> tuple[str, dict[str, Any]]:
        return "otlp_grpc", {"endpoint": address, "tls": {"insecure": True}}

    def egress_tap(self, upstream: str, run_id: str) -> Tap:
        return cast(Tap, OtlpGrpcTap([upstream], run_id))


BACKEND = Tempo()
