"""Capture what a service sends: an OTLP receiver (gRPC and HTTP, on 127.0.0.1) made of the wire
taps with no next hop, writing every request it takes to a file as OTLP JSON lines — the format
of the collector's own `file` exporter (ids in hex), which `linkmatrix replay` reads back.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from google.protobuf import json_format
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

from ._otlp import parse_traces_json
from ._taps import Exchange, HttpPostTap, OtlpGrpcTap, otlp_http_decoder

_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
TRACES_PATH = "/v1/traces"


def _hex_ids(node: Any) -> Any:
    """protobuf's JSON writes bytes in base64; OTLP/JSON writes ids in hex."""
    if isinstance(node, dict):
        return {key: base64.b64decode(value).hex() if key in _ID_FIELDS and isinstance(value, str)
                else _hex_ids(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_hex_ids(item) for item in node]
    return node


def otlp_json_line(payload: bytes) -> str:
    """One request (OTLP protobuf, or OTLP/JSON over HTTP) as one line of OTLP JSON `TracesData`."""
    # An ExportTraceServiceRequest is a TracesData on the wire: the same field, resource_spans.
    json_body = payload.lstrip()[:1] == b"{"
    message = parse_traces_json(json.loads(payload)) if json_body else TracesData.FromString(payload)
    document = json_format.MessageToDict(message, use_integers_for_enums=True)
    return json.dumps(_hex_ids(document), separators=(",", ":"), ensure_ascii=False) + "\n"


class Capture:
    """Receives OTLP on 127.0.0.1 (ports 0: free ones) and appends what arrives to `path`.
    `poll()` writes what came since the last poll and says the totals (spans, links)."""

    def __init__(self, path: Path, grpc_port: int = 0, http_port: int = 0) -> None:
        self.path = path
        self.grpc = OtlpGrpcTap([], port=grpc_port)
        self.http = HttpPostTap("", otlp_http_decoder(None), port=http_port)
        self.spans = self.links = self.requests = self.ignored = 0
        self._written: set[int] = set()
        self._out: IO[str] | None = None

    def __enter__(self) -> Capture:
        self._out = open(self.path, "w", encoding="utf-8")  # closed in __exit__
        self.grpc.__enter__()
        self.http.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.grpc.__exit__()
            self.http.__exit__()
            self.poll()
        finally:
            if self._out is not None:
                self._out.close()

    def poll(self, problem: Callable[[str], None] = lambda message: None) -> tuple[int, int]:
        assert self._out is not None
        for exchange in (*self.grpc.recorded(), *self.http.recorded()):
            if id(exchange) in self._written:
                continue
            self._written.add(id(exchange))
            self._take(exchange, problem)
        self._out.flush()
        return self.spans, self.links

    def _take(self, exchange: Exchange, problem: Callable[[str], None]) -> None:
        assert self._out is not None
        if exchange.path and exchange.path.split("?")[0] != TRACES_PATH:  # metrics or logs sent the same way
            self.ignored += 1
            return
        try:
            line = otlp_json_line(exchange.payload)
            spans = exchange.spans
        except (ValueError, json_format.ParseError) as error:  # a body that is not OTLP traces: said, not kept
            problem(f"a request that is not OTLP traces was left out: {error}")
            return
        self._out.write(line)
        self.requests += 1
        self.spans += len(spans)
        self.links += sum(len(span.links) for span in spans)
