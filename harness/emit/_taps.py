"""Pass-throughs that record what crossed a hop, so each loss is pinned on the hop that made it.

- `OtlpGrpcTap`: an OTLP/gRPC server that keeps each export request and forwards it unchanged.
  Between the SDK and its next hop it records the wire (what the exporter encoded); between the
  collector and an OTLP backend it records what the collector forwarded to that backend.
- `HttpPostTap`: the same for an HTTP exporter (the collector's `zipkin` exporter): keeps each
  request body and forwards it.
Both listen on 127.0.0.1 on a free port, keep what the next hop answered when it refused a
request, and decode each request into spans once (a tap is polled many times while a run waits).
"""

from __future__ import annotations

import gzip
import json
import sys
import threading
import zlib
from collections.abc import Callable
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import requests
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from ..model import Span
from ._otlp import spans_from_json, spans_from_resource_spans

Key = tuple[str, str]
Decode = Callable[[bytes], list[Span]]


class Exchange:
    """One request that crossed a tap, and per next hop ("host:port") what became of it: refused
    (the next hop answered no, in its own words) or undelivered (it could not be reached at all).
    Its spans are decoded on first use."""

    def __init__(self, payload: bytes, decode: Decode, path: str = "") -> None:
        self.payload = payload
        self.path = path  # the HTTP path it was posted to ("" over gRPC)
        self.refusals: dict[str, str] = {}
        self.undelivered: dict[str, str] = {}
        self._decode = decode
        self._spans: list[Span] | None = None

    @property
    def spans(self) -> list[Span]:
        if self._spans is None:
            self._spans = self._decode(self.payload)
        return self._spans


class _Recorder:
    """The exchanges of one tap, appended by its server threads and read by the run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.exchanges: list[Exchange] = []
        self.errors: list[str] = []  # requests it could not take (not decoded, or failed in the tap)

    def add(self, exchange: Exchange) -> None:
        with self.lock:
            self.exchanges.append(exchange)

    def outcome(self, exchange: Exchange, upstream: str, refused: str = "", undelivered: str = "") -> None:
        with self.lock:
            if refused:
                exchange.refusals[upstream] = refused
            if undelivered:
                exchange.undelivered[upstream] = undelivered

    def recorded(self) -> list[Exchange]:
        with self.lock:
            return list(self.exchanges)

    def spans(self) -> list[Span]:
        return [span for exchange in self.recorded() for span in exchange.spans]

    def refusals(self, upstream: str | None = None) -> dict[Key, str]:
        """(trace id, span id) → what the next hop (or `upstream`) answered, for every span it refused."""
        return self._by_span(lambda exchange: exchange.refusals, upstream)

    def undelivered(self, upstream: str | None = None) -> dict[Key, str]:
        """(trace id, span id) → why the next hop (or `upstream`) could not be reached with it."""
        return self._by_span(lambda exchange: exchange.undelivered, upstream)

    def _by_span(self, outcomes: Callable[[Exchange], dict[str, str]], upstream: str | None) -> dict[Key, str]:
        found: dict[Key, str] = {}
        for exchange in self.recorded():
            why = outcomes(exchange).get(upstream) if upstream else "; ".join(outcomes(exchange).values())
            if why:
                found.update((span.key, why) for span in exchange.spans)
        return found


def otlp_decoder(run_id: str | None) -> Decode:
    """OTLP protobuf (an ExportTraceServiceRequest, over gRPC or HTTP) → the run's spans."""
    return _otlp_decoder(run_id)


def otlp_http_decoder(run_id: str | None) -> Decode:
    """An OTLP/HTTP body, protobuf or JSON (the collector's `otlp_http` exporter writes either) → the run's spans."""
    binary = _otlp_decoder(run_id)

    def decode(payload: bytes) -> list[Span]:
        if payload.lstrip()[:1] == b"{":
            return spans_from_json(json.loads(payload), "hex", run_id)
        return binary(payload)
    return decode


def _otlp_decoder(run_id: str | None) -> Decode:
    def decode(payload: bytes) -> list[Span]:
        request = trace_service_pb2.ExportTraceServiceRequest.FromString(payload)
        return spans_from_resource_spans(request.resource_spans, run_id)
    return decode


# A tap must never be the hop that refuses a request: the next hop's own limit is what is measured.
_NO_LIMIT = [("grpc.max_receive_message_length", 1 << 30), ("grpc.max_send_message_length", 1 << 30)]
# gRPC codes that mean the next hop was not reached (or did not answer), not that it said no.
_NOT_REACHED = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}


class _Forwarder(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, upstreams: list[str], recorder: _Recorder, decode: Decode) -> None:
        self.upstreams = upstreams
        self._channels = [grpc.insecure_channel(upstream, options=_NO_LIMIT) for upstream in upstreams]
        self._stubs = [trace_service_pb2_grpc.TraceServiceStub(channel)  # type: ignore[no-untyped-call]
                       for channel in self._channels]
        self._recorder = recorder
        self._decode = decode

    def Export(self, request: trace_service_pb2.ExportTraceServiceRequest,  # noqa: N802 (gRPC's name)
               context: grpc.ServicerContext) -> trace_service_pb2.ExportTraceServiceResponse:
        exchange = Exchange(request.SerializeToString(), self._decode)
        self._recorder.add(exchange)
        response = trace_service_pb2.ExportTraceServiceResponse()
        failures: list[grpc.RpcError] = []
        for upstream, stub in zip(self.upstreams, self._stubs, strict=True):  # each gets it, even after one failed
            try:
                answer = stub.Export(request, timeout=10)
            except grpc.RpcError as error:
                failures.append(error)
                why = f"{error.code().name}: {error.details()}"
                not_reached = error.code() in _NOT_REACHED
                self._recorder.outcome(exchange, upstream, refused="" if not_reached else why,
                                       undelivered=why if not_reached else "")
                continue
            response = answer
            if answer.partial_success.rejected_spans:  # the next hop's own words, kept as evidence
                self._recorder.outcome(exchange, upstream, refused=f"rejected {answer.partial_success.rejected_spans} "
                                       f"span(s): {answer.partial_success.error_message}")
        if failures:  # hand the next hop's answer back to the sender
            context.abort(failures[0].code(), "upstream: " + "; ".join(str(f.details()) for f in failures))
        return response

    def close(self) -> None:
        for channel in self._channels:
            channel.close()


class OtlpGrpcTap(_Recorder):
    """Forwards every OTLP/gRPC trace export to each of `upstreams` ("host:port"); keeps the spans
    of `run_id` (None: every span). It listens on `port` of 127.0.0.1 (0: a free one)."""

    def __init__(self, upstreams: list[str], run_id: str | None = None, port: int = 0) -> None:
        super().__init__()
        self._forwarder = _Forwarder(upstreams, self, _otlp_decoder(run_id))
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=_NO_LIMIT)
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
            self._forwarder, self._server)
        self.port = self._server.add_insecure_port(f"127.0.0.1:{port}")
        self.address = f"127.0.0.1:{self.port}"

    def __enter__(self) -> OtlpGrpcTap:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop(grace=2).wait(5)
        self._forwarder.close()

    def save(self, path: Path, append: bool = False) -> None:
        """Every request as a line of protobuf JSON (ids in base64, as protobuf writes bytes)."""
        text = "".join(json_format.MessageToJson(trace_service_pb2.ExportTraceServiceRequest.FromString(
            exchange.payload), indent=None) + "\n" for exchange in self.recorded())
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


def _no_spans(body: bytes) -> list[Span]:
    return []


class _QuietServer(ThreadingHTTPServer):
    """A tap's HTTP server: a sender that goes away mid-request (a collector killed while it sends)
    ends that request quietly; anything else a request raises is kept as one line among the tap's
    errors. Never a traceback on the terminal (the default prints one for each)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], tap: _Recorder) -> None:
        super().__init__(address, handler)
        self._tap = tap

    def handle_error(self, request: object, client_address: object) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):  # the sender is gone: nobody to answer
            return
        with self._tap.lock:
            self._tap.errors.append(f"{type(error).__name__}: {error}")


class HttpPostTap(_Recorder):
    """Keeps every POST body (decompressed) and forwards it to `upstream` + the same path (none: it
    answers an empty success itself, as an OTLP receiver does); `decode` turns a body into spans.
    It listens on `port` of 127.0.0.1 (0: a free one)."""

    def __init__(self, upstream: str, decode: Decode = _no_spans, port: int = 0) -> None:
        super().__init__()
        tap = self
        self.upstream = upstream.rstrip("/")

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    self.send_error(400, "Content-Length is not a number")
                    return
                raw = self.rfile.read(length)
                if len(raw) < length:  # the sender went away mid-request (killed): nothing was sent
                    self.close_connection = True
                    return
                exchange = None
                try:
                    exchange = Exchange(_decode_body(raw, self.headers.get("Content-Encoding", "").lower()), decode,
                                        self.path)
                    tap.add(exchange)
                except (ValueError, OSError, zlib.error) as error:
                    with tap.lock:
                        tap.errors.append(str(error))
                forward_headers = {key: value for key, value in self.headers.items()
                                   if key.lower() in ("content-type", "content-encoding")}
                if not tap.upstream:  # the last hop: OTLP/HTTP's success is an empty response
                    kind = self.headers.get("Content-Type", "application/x-protobuf")
                    self._answer(200, b"{}" if "json" in kind else b"", kind)
                    return
                try:
                    answer = requests.post(tap.upstream + self.path, data=raw, headers=forward_headers, timeout=10)
                    status, content = answer.status_code, answer.content
                    if exchange is not None and status >= 300:  # the next hop's own words
                        tap.outcome(exchange, tap.upstream,
                                    refused=f"HTTP {status}: {content.decode(errors='replace').strip()[:500]}")
                except requests.RequestException as error:
                    status, content = 502, str(error).encode()
                    if exchange is not None:
                        tap.outcome(exchange, tap.upstream, undelivered=f"{type(error).__name__}: {error}")
                self._answer(status, content)

            def _answer(self, status: int, content: bytes, content_type: str = "") -> None:
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: object) -> None:  # keep the terminal quiet
                pass

        self._server = _QuietServer(("127.0.0.1", port), Handler, self)
        self.port = self._server.server_address[1]
        self.address = f"127.0.0.1:{self.port}"
        # Stopping waits for the server's next poll: a short one, not the default half second.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    def __enter__(self) -> HttpPostTap:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def save(self, path: Path, append: bool = False) -> None:
        """Every request body, one per line."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab" if append else "wb") as out:
            out.write(b"".join(exchange.payload.replace(b"\n", b" ") + b"\n" for exchange in self.recorded()))
