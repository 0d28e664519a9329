"""Pass-throughs that record what crossed a hop, so each loss is pinned on the hop that made it.

- `OtlpGrpcTap`: an OTLP/gRPC server that keeps each export request and forwards it unchanged.
  Between the SDK and its next hop it records the wire (what the exporter encoded); between the
  collector and an OTLP backend it records what the collector forwarded to that backend.
- `HttpPostTap`: the same for an HTTP exporter (the collector's `zipkin` exporter): keeps each
  request body and forwards it.
Both listen on 127.0.0.1 on a free port.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from concurrent import futures
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import requests
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from .model import Span
from .otlp import spans_from_resource_spans


@dataclass
class Exchange:
    """One request that crossed the tap, and what the next hop answered ("" when it took it all)."""

    request: trace_service_pb2.ExportTraceServiceRequest
    refusal: str = ""


class _Forwarder(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, upstreams: list[str]) -> None:
        self._channels = [grpc.insecure_channel(upstream) for upstream in upstreams]
        self._stubs = [trace_service_pb2_grpc.TraceServiceStub(channel) for channel in self._channels]
        self.lock = threading.Lock()
        self.exchanges: list[Exchange] = []

    def Export(self, request, context):  # noqa: N802 (gRPC method name)
        exchange = Exchange(request)
        with self.lock:
            self.exchanges.append(exchange)
        response = trace_service_pb2.ExportTraceServiceResponse()
        failures: list[grpc.RpcError] = []
        for stub in self._stubs:  # every upstream gets the batch, even after one failed
            try:
                response = stub.Export(request, timeout=10)
            except grpc.RpcError as error:
                failures.append(error)
        rejected = response.partial_success.rejected_spans
        with self.lock:  # the next hop's own words, kept as evidence
            if failures:
                exchange.refusal = "; ".join(f"{f.code().name}: {f.details()}" for f in failures)
            elif rejected:
                exchange.refusal = f"rejected {rejected} span(s): {response.partial_success.error_message}"
        if failures:  # hand the next hop's answer back to the sender
            context.abort(failures[0].code(), "upstream: " + "; ".join(str(f.details()) for f in failures))
        return response

    def close(self) -> None:
        for channel in self._channels:
            channel.close()


class OtlpGrpcTap:
    """Forwards every OTLP/gRPC trace export to each of `upstreams` ("host:port")."""

    def __init__(self, upstreams: list[str]) -> None:
        self._forwarder = _Forwarder(upstreams)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.errors: list[str] = []  # protobuf decodes every request it accepts: nothing to report
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self._forwarder, self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self.endpoint = f"127.0.0.1:{self.port}"

    def __enter__(self) -> "OtlpGrpcTap":
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop(grace=2).wait(5)
        self._forwarder.close()

    def _exchanges(self) -> list[Exchange]:
        with self._forwarder.lock:
            return [Exchange(exchange.request, exchange.refusal) for exchange in self._forwarder.exchanges]

    def spans(self, run_id: str | None = None) -> list[Span]:
        return [span for exchange in self._exchanges()
                for span in spans_from_resource_spans(exchange.request.resource_spans, run_id)]

    def refusals(self, run_id: str | None = None) -> dict[tuple[str, str], str]:
        """(trace id, span id) → what the next hop answered, for every span it refused."""
        return {span.key: exchange.refusal for exchange in self._exchanges() if exchange.refusal
                for span in spans_from_resource_spans(exchange.request.resource_spans, run_id)}

    def save(self, path: Path, append: bool = False) -> None:
        """Every request as a line of protobuf JSON (ids in base64, as protobuf writes bytes)."""
        text = "".join(json_format.MessageToJson(exchange.request, indent=None) + "\n"
                       for exchange in self._exchanges())
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a" if append else "w") as out:
            out.write(text)


def _decode_body(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding in ("", "identity"):
        return body
    raise ValueError(f"unsupported Content-Encoding {encoding!r}")


@dataclass
class Post:
    """One POST that crossed the tap: its (decompressed) body and the next hop's refusal, if any."""

    body: bytes
    refusal: str = ""


class HttpPostTap:
    """Keeps every POST body (decompressed) and forwards it to `upstream` + the same path."""

    def __init__(self, upstream: str) -> None:
        tap = self
        self.upstream = upstream.rstrip("/")
        self.posts: list[Post] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                post = None
                try:
                    post = Post(_decode_body(raw, self.headers.get("Content-Encoding", "").lower()))
                    with tap.lock:
                        tap.posts.append(post)
                except (ValueError, OSError, zlib.error) as error:
                    with tap.lock:
                        tap.errors.append(str(error))
                forward_headers = {key: value for key, value in self.headers.items()
                                   if key.lower() in ("content-type", "content-encoding")}
                try:
                    answer = requests.post(tap.upstream + self.path, data=raw, headers=forward_headers, timeout=10)
                    status, content = answer.status_code, answer.content
                except requests.RequestException as error:
                    status, content = 502, str(error).encode()
                if post is not None and status >= 300:
                    with tap.lock:
                        post.refusal = f"HTTP {status}: {content.decode(errors='replace').strip()[:500]}"
                self.send_response(status)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: object) -> None:  # keep the terminal quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "HttpPostTap":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def recorded(self) -> list[Post]:
        with self.lock:
            return [Post(post.body, post.refusal) for post in self.posts]

    def save(self, path: Path) -> None:
        """Every request body, one per line."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(post.body.replace(b"\n", b" ") + b"\n" for post in self.recorded()))
