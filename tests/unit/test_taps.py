"""The tap in front of a backend's OTLP/HTTP receiver reads what the collector's otlp_http exporter
writes, protobuf or JSON, into the same spans."""

from __future__ import annotations

import json

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from harness.emit._otlp import parse_traces_json
from harness.emit._taps import otlp_http_decoder
from harness.model._vocabulary import RUN_ID_ATTRIBUTE

REQUEST = {"resourceSpans": [{
    "resource": {"attributes": [{"key": RUN_ID_ATTRIBUTE, "value": {"stringValue": "r1"}}]},
    "scopeSpans": [{"spans": [{
        "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "consume",
        "startTimeUnixNano": "1", "endTimeUnixNano": "2",
        "links": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
                   "attributes": [{"key": "k", "value": {"intValue": "3"}}]}]}]}]}]}


def test_protobuf_and_json_bodies_give_the_same_spans() -> None:
    decode = otlp_http_decoder("r1")
    as_json = decode(json.dumps(REQUEST).encode())  # OTLP/JSON: ids in hex
    message = trace_service_pb2.ExportTraceServiceRequest(resource_spans=parse_traces_json(REQUEST).resource_spans)
    as_protobuf = decode(message.SerializeToString())
    assert as_json == as_protobuf and len(as_json) == 1
    (link,) = as_json[0].links
    assert link.target == ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174") and link.attributes == {"k": 3}
    assert otlp_http_decoder("another run")(json.dumps(REQUEST).encode()) == []
