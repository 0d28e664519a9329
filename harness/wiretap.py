"""The wire hop: an in-process OTLP/gRPC pass-through that records each export request.

The SDK exports to the tap; the tap keeps a copy of the request exactly as the exporter encoded
it and forwards it unchanged to the next hop (the collector). What the exporter's encoder leaves
out shows up here, and is not blamed on the collector or a backend.
"""

from __future__ import annotations

import threading
from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from .model import Span
from .otlp import spans_from_resource_spans


class _Forwarder(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, upstream: str) -> None:
        self._channel = grpc.insecure_channel(upstream)
        self._stub = trace_service_pb2_grpc.TraceServiceStub(self._channel)
        self._lock = threading.Lock()
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []

    def Export(self, request, context):  # noqa: N802 (gRPC method name)
        with self._lock:
            self.requests.append(request)
        try:
            return self._stub.Export(request, timeout=10)
        except grpc.RpcError as error:  # hand the collector's answer back to the SDK
            context.abort(error.code(), f"upstream: {error.details()}")

    def close(self) -> None:
        self._channel.close()


class WireTap:
    """Listens on 127.0.0.1 (a free port) and forwards to `upstream` ("host:port")."""

    def __init__(self, upstream: str) -> None:
        self._forwarder = _Forwarder(upstream)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self._forwarder, self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self.endpoint = f"127.0.0.1:{self.port}"

    def __enter__(self) -> "WireTap":
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop(grace=2).wait(5)
        self._forwarder.close()

    def spans(self, run_id: str | None = None) -> list[Span]:
        with self._forwarder._lock:
            requests = list(self._forwarder.requests)
        return [span for request in requests
                for span in spans_from_resource_spans(request.resource_spans, run_id)]
