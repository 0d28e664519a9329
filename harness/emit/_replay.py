"""Replay a capture: its spans sent as OTLP straight onto the wire, with no SDK in between.

Each run mints every trace and span id afresh (so runs never mix, and a capture can be replayed
again and again): a link whose target is in the capture points at the target's new ids; a link
that points outside the capture keeps its ids, and is recorded as such. Timestamps move to now,
keeping their offsets. Resource, scope, kind, status, events and every attribute are kept; the
resource gains the run id, which every read asks by.

The first hop of a replay is `capture` (what the file holds), in the place of the SDK's.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import grpc
import requests
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, TracesData

from ..model import CAPTURE, RUN_ID_ATTRIBUTE, Emission, Pipeline, Scenario, Span
from ._otlp import spans_from_resource_spans

SPANS_PER_REQUEST = 512  # well under a receiver's default 4 MiB message, as an SDK's batches are
_INVALID = (bytes(16), bytes(8))


class _Ids:
    """Old ids → new ones, the same old id always the same new one. A new trace id starts with a 0
    exactly when the old one did: a backend that cannot find such ids (Tempo's TraceQL) should miss
    a replayed link only where it would miss the service's own."""

    def __init__(self) -> None:
        self.traces: dict[bytes, bytes] = {}
        self.spans: dict[tuple[bytes, bytes], bytes] = {}

    def trace(self, old: bytes) -> bytes:
        if old not in self.traces:
            new = random.getrandbits(128)
            zero_first = old[:1] < b"\x10"
            new = new & ~(0xF << 124) if zero_first else new | (1 << 124)
            self.traces[old] = new.to_bytes(16, "big")
        return self.traces[old]

    def span(self, trace: bytes, old: bytes) -> bytes:
        return self.spans.setdefault((trace, old), (random.getrandbits(64) or 1).to_bytes(8, "big"))


def _documents(scenario: Scenario) -> list[TracesData]:
    return [TracesData.FromString(document) for document in scenario.capture]


def _remap(documents: list[TracesData], run_id: str, now_ns: int) -> tuple[list[ResourceSpans], set[tuple[str, str]]]:
    """Every resource's spans with new ids and times (in place), and the link targets left as they were."""
    ids = _Ids()
    captured = {(span.trace_id, span.span_id) for document in documents for resource in document.resource_spans
                for scope in resource.scope_spans for span in scope.spans}
    starts = [span.start_time_unix_nano for document in documents for resource in document.resource_spans
              for scope in resource.scope_spans for span in scope.spans if span.start_time_unix_nano]
    shift = now_ns - min(starts) if starts else 0
    outside: set[tuple[str, str]] = set()
    resources: list[ResourceSpans] = []
    for document in documents:
        for resource in document.resource_spans:
            _tag(resource, run_id)
            for scope in resource.scope_spans:
                for span in scope.spans:
                    old_trace = span.trace_id
                    span.trace_id = ids.trace(old_trace)
                    span.span_id = ids.span(old_trace, span.span_id)
                    if span.parent_span_id:  # a parent not in the capture still gets one new id for all its children
                        span.parent_span_id = ids.span(old_trace, span.parent_span_id)
                    for field in ("start_time_unix_nano", "end_time_unix_nano"):
                        if getattr(span, field):
                            setattr(span, field, getattr(span, field) + shift)
                    for event in span.events:
                        if event.time_unix_nano:
                            event.time_unix_nano += shift
                    for link in span.links:
                        if (link.trace_id, link.span_id) in captured:
                            link.span_id = ids.span(link.trace_id, link.span_id)
                            link.trace_id = ids.trace(link.trace_id)
                        elif (link.trace_id, link.span_id) != _INVALID and link.trace_id:
                            outside.add((link.trace_id.hex(), link.span_id.hex()))
            resources.append(resource)
    return resources, outside


def _tag(resource: ResourceSpans, run_id: str) -> None:
    """The run id on the resource (replacing one a capture of an earlier run carries)."""
    kept = [pair for pair in resource.resource.attributes if pair.key != RUN_ID_ATTRIBUTE]
    del resource.resource.attributes[:]
    resource.resource.attributes.extend(kept)
    resource.resource.attributes.append(KeyValue(key=RUN_ID_ATTRIBUTE))
    resource.resource.attributes[-1].value.string_value = run_id


def _requests(resources: list[ResourceSpans]) -> Iterator[trace_service_pb2.ExportTraceServiceRequest]:
    """At most SPANS_PER_REQUEST spans per request, each with its own resource and scope."""
    request = trace_service_pb2.ExportTraceServiceRequest()
    count = 0
    for resource in resources:
        for scope in resource.scope_spans:
            for start in range(0, len(scope.spans), SPANS_PER_REQUEST):
                chunk = scope.spans[start:start + SPANS_PER_REQUEST]
                if count and count + len(chunk) > SPANS_PER_REQUEST:
                    yield request
                    request, count = trace_service_pb2.ExportTraceServiceRequest(), 0
                target = request.resource_spans.add()
                target.resource.CopyFrom(resource.resource)
                target.schema_url = resource.schema_url
                scoped = target.scope_spans.add()
                scoped.scope.CopyFrom(scope.scope)
                scoped.schema_url = scope.schema_url
                scoped.spans.extend(chunk)
                count += len(chunk)
    if count:
        yield request


def _send(requests_: list[trace_service_pb2.ExportTraceServiceRequest], endpoint: str, protocol: str,
          timeout_s: float) -> int:
    """Each request to `endpoint` over OTLP/gRPC or OTLP/HTTP (protobuf): how many failed (the
    wire tap keeps what the next hop answered)."""
    failures = 0
    if protocol == "http/protobuf":
        with requests.Session() as session:
            for request in requests_:
                try:
                    answer = session.post(f"http://{endpoint}/v1/traces", data=request.SerializeToString(),
                                          headers={"Content-Type": "application/x-protobuf"}, timeout=timeout_s)
                    failures += answer.status_code >= 300
                except requests.RequestException:
                    failures += 1
        return failures
    with grpc.insecure_channel(endpoint) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)  # type: ignore[no-untyped-call]
        for request in requests_:
            try:
                stub.Export(request, timeout=timeout_s)
            except grpc.RpcError:
                failures += 1
    return failures


def _labels(spans: list[Span], services: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    """"checkout/consume-batch", numbered where a service has several spans of one name."""
    labels: dict[tuple[str, str], str] = {}
    seen: dict[str, int] = {}
    for span in spans:
        base = f"{services.get(span.key, '')}/{span.name}"
        seen[base] = seen.get(base, 0) + 1
        labels[span.key] = base if seen[base] == 1 else f"{base}#{seen[base]}"
    return labels


def _services(resources: list[ResourceSpans]) -> dict[tuple[str, str], str]:
    services: dict[tuple[str, str], str] = {}
    for resource in resources:
        name = next((pair.value.string_value for pair in resource.resource.attributes if pair.key == "service.name"),
                    "")
        for scope in resource.scope_spans:
            services.update(((span.trace_id.hex(), span.span_id.hex()), name) for span in scope.spans)
    return services


def replay(scenario: Scenario, run_id: str, otlp_endpoint: str | None, pipeline: Pipeline = "collector",
           export_timeout_s: float = 10.0, protocol: str = "grpc") -> Emission:
    """Send the capture of `scenario` to `otlp_endpoint` ("127.0.0.1:4317"; None: nowhere), its ids
    minted afresh and its times moved to now."""
    started = time.time()
    resources, outside = _remap(_documents(scenario), run_id, time.time_ns())
    spans = spans_from_resource_spans(resources)
    services = _services(resources)
    failures = 0
    if otlp_endpoint is not None:
        failures = _send(list(_requests(resources)), otlp_endpoint, protocol, export_timeout_s)
    return Emission(scenario.name, run_id, pipeline, requested=spans, sdk=spans, labels=_labels(spans, services),
                    started=started, ended=time.time(), export_failures=failures, first_hop=CAPTURE,
                    services=services, outside_targets=frozenset(outside))
