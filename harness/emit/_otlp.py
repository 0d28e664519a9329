"""OTLP protobuf/JSON → the normalized model.

Every hop that speaks OTLP (the exporter's wire, the collector's file export, Jaeger's /api/v3)
is read through here, so they are all judged by the same code.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, TracesData

from ..model import INVALID_SPAN_ID, INVALID_TRACE_ID, RUN_ID_ATTRIBUTE, AttrValue, Link, Span

_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def any_value(value: AnyValue) -> AttrValue:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return tuple(any_value(item) for item in value.array_value.values)  # type: ignore[misc]
    if kind == "kvlist_value":
        # Not a type linkmatrix sends; kept readable rather than dropped.
        return json.dumps({kv.key: any_value(kv.value) for kv in value.kvlist_value.values},
                          sort_keys=True, default=list)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    if kind is None:
        return ""
    scalar: str | bool | int | float = getattr(value, kind)
    return scalar


def attributes(pairs: Iterable[KeyValue]) -> dict[str, AttrValue]:
    return {pair.key: any_value(pair.value) for pair in pairs}


def spans_from_resource_spans(resource_spans: Iterable[ResourceSpans], run_id: str | None = None) -> list[Span]:
    spans: list[Span] = []
    for resource in resource_spans:
        resource_attributes = attributes(resource.resource.attributes)
        if run_id is not None and resource_attributes.get(RUN_ID_ATTRIBUTE) != run_id:
            continue
        for scope in resource.scope_spans:
            for span in scope.spans:
                spans.append(Span(
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    name=span.name,
                    parent_span_id=span.parent_span_id.hex(),
                    links=tuple(
                        Link(
                            # proto3 JSON omits empty bytes: an absent id is the all-zero id
                            trace_id=link.trace_id.hex() or INVALID_TRACE_ID,
                            span_id=link.span_id.hex() or INVALID_SPAN_ID,
                            trace_state=link.trace_state,
                            attributes=attributes(link.attributes),
                            dropped_attributes_count=link.dropped_attributes_count,
                            flags=link.flags,
                        )
                        for link in span.links
                    ),
                    dropped_links_count=span.dropped_links_count,
                    attributes=attributes(span.attributes),
                ))
    return spans


def _hex_ids_to_base64(node: Any) -> Any:
    """OTLP/JSON writes ids as hex; protobuf's JSON parser wants bytes as base64."""
    if isinstance(node, dict):
        converted = {}
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str):
                converted[key] = base64.b64encode(bytes.fromhex(value)).decode() if value else ""
            else:
                converted[key] = _hex_ids_to_base64(value)
        return converted
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    return node


def parse_traces_json(document: dict[str, Any], ids: str = "hex") -> TracesData:
    """Parse an OTLP JSON `TracesData` ({"resourceSpans": [...]}); ids are "hex" (OTLP/JSON) or "base64"."""
    if ids == "hex":
        document = _hex_ids_to_base64(document)
    message = TracesData()
    json_format.ParseDict(document, message, ignore_unknown_fields=True)
    return message


def spans_from_json(document: dict[str, Any], ids: str = "hex", run_id: str | None = None) -> list[Span]:
    return spans_from_resource_spans(parse_traces_json(document, ids).resource_spans, run_id)


def spans_from_json_lines(text: str, run_id: str | None = None) -> list[Span]:
    """The collector's `file` exporter writes one OTLP JSON `TracesData` per line."""
    spans: list[Span] = []
    for line in text.splitlines():
        if line.strip():
            spans.extend(spans_from_json(json.loads(line), "hex", run_id))
    return spans
