"""A capture file → a scenario that replays it.

Accepted: OTLP JSON lines (one `TracesData` per line, as the collector's `file` exporter and the
capture command write them; ids in hex), and one trace as a backend's API answers it — Jaeger's
`/api/v3/traces/{id}` (`{"result": {"resourceSpans": …}}`, ids in hex) or Tempo's `/api/traces/{id}`
(`{"batches": …}`) and `/api/v2/traces/{id}` (`{"trace": {"resourceSpans": …}}`), ids in base64.
Each document is read through the guarded loader and parsed by protobuf's own JSON parser; a
problem is one line naming the file, its line and the field.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

from ..model import Scenario, ScenarioError, json_path, load_json_documents

MAX_CAPTURE_BYTES = 64 * 1024 * 1024
MAX_CAPTURE_SPANS = 200_000  # a scenario's bound (see _scenario.MAX_SPANS)
MAX_CAPTURE_LINKS = 1_000_000
CAPTURE_SUFFIXES = (".jsonl", ".json")
_ID_BYTES = {"traceId": 16, "spanId": 8, "parentSpanId": 8}


def is_capture(path: Path) -> bool:
    return path.suffix.lower() in CAPTURE_SUFFIXES


def _name_of(path: Path) -> str:
    """A scenario name (lowercase letters, digits and dashes) from the file's name."""
    name = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")[:56] or "capture"
    return name


def _traces_of(document: Any) -> tuple[str, dict[str, Any], list[Any], str]:
    """(format, the TracesData part, where its resourceSpans list is in the file, how ids are written)."""
    if isinstance(document, dict):
        if "resourceSpans" in document:
            return "OTLP JSON", document, ["resourceSpans"], "hex"
        result = document.get("result")
        if isinstance(result, dict) and "resourceSpans" in result:
            return "Jaeger /api/v3 trace", result, ["result", "resourceSpans"], "hex"
        if "batches" in document:
            return "Tempo /api/traces trace", {"resourceSpans": document["batches"]}, ["batches"], "base64"
        trace = document.get("trace")
        if isinstance(trace, dict) and "resourceSpans" in trace:
            return "Tempo /api/v2/traces trace", trace, ["trace", "resourceSpans"], "base64"
    raise ValueError("neither resourceSpans (OTLP JSON), result.resourceSpans (Jaeger /api/v3) nor batches "
                     "(Tempo /api/traces): not a capture")


def _id_bytes(value: Any, ids: str, field: str) -> bytes:
    """An id as bytes, or why it is not one of the right length."""
    wanted = _ID_BYTES[field]
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string")
    if ids == "hex":
        if not re.fullmatch(r"[0-9a-fA-F]*", value) or len(value) != 2 * wanted:
            raise ValueError(f"{value!r} is not {2 * wanted} hex digits ({field} is {wanted} bytes)")
        return bytes.fromhex(value)
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError(f"{value!r} is not base64") from None
    if len(raw) != wanted:
        raise ValueError(f"{value!r} is {len(raw)} bytes in base64; {field} is {wanted} bytes")
    return raw


def _id_fields(traces: dict[str, Any]) -> Iterator[tuple[list[Any], dict[str, Any], str]]:
    """(where, the object, the id field) of every span and link id in a TracesData document."""
    for r, resource in enumerate(_list(traces.get("resourceSpans"))):
        scopes = _list(resource.get("scopeSpans")) if isinstance(resource, dict) else []
        for s, scope in enumerate(scopes):
            spans = _list(scope.get("spans")) if isinstance(scope, dict) else []
            for n, span in enumerate(spans):
                if not isinstance(span, dict):
                    continue
                where = [r, "scopeSpans", s, "spans", n]
                yield where, span, "traceId"
                yield where, span, "spanId"
                if span.get("parentSpanId"):
                    yield where, span, "parentSpanId"
                for k, link in enumerate(_list(span.get("links"))):
                    # A link without ids is a link to the all-zero context: proto3 JSON leaves empty bytes out.
                    if isinstance(link, dict) and (link.get("traceId") or link.get("spanId")):
                        yield [*where, "links", k], link, "traceId"
                        yield [*where, "links", k], link, "spanId"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _with_base64_ids(traces: dict[str, Any], ids: str, shown: str, line: int | None, root: list[Any]) -> None:
    """Check every id's length and write it as protobuf's JSON parser reads bytes (base64), in place."""
    for where, holder, field in _id_fields(traces):
        if field not in holder:
            raise ScenarioError(shown, json_path([*root, *where, field]), "is required (every span and link "
                                "has a trace id and a span id)", line)
        try:
            holder[field] = base64.b64encode(_id_bytes(holder[field], ids, field)).decode()
        except ValueError as error:
            raise ScenarioError(shown, json_path([*root, *where, field]), str(error), line) from None


def _parsed(document: Any, shown: str, line: int | None) -> tuple[str, TracesData]:
    try:
        kind, traces, root, ids = _traces_of(document)
    except ValueError as error:
        raise ScenarioError(shown, "$", str(error), line) from None
    _with_base64_ids(traces, ids, shown, line, root)
    message = TracesData()
    try:
        json_format.ParseDict(traces, message, ignore_unknown_fields=True)
    except json_format.ParseError as error:
        raise ScenarioError(shown, json_path(root), f"not OTLP JSON: {error}", line) from None
    return kind, message


def load_capture(path: Path | str) -> Scenario:
    """A capture file as a scenario (its documents serialized), or one line saying what is wrong."""
    path = Path(path)
    shown = str(path)
    documents = load_json_documents(path, limit=MAX_CAPTURE_BYTES, kind="capture files",
                                    hint="capture a shorter window (capture --for), or split the file by lines")
    kinds: set[str] = set()
    serialized: list[bytes] = []
    spans = links = linking = 0
    for line, document in documents:
        kind, message = _parsed(document, shown, line)
        kinds.add(kind)
        for resource in message.resource_spans:
            for scope in resource.scope_spans:
                spans += len(scope.spans)
                links += sum(len(span.links) for span in scope.spans)
                linking += sum(1 for span in scope.spans if span.links)
        if spans > MAX_CAPTURE_SPANS or links > MAX_CAPTURE_LINKS:
            raise ScenarioError(shown, "", f"holds more than {MAX_CAPTURE_SPANS:,} spans or {MAX_CAPTURE_LINKS:,} "
                                "links (a scenario's bounds); capture a shorter window or split the file by lines",
                                line)
        serialized.append(message.SerializeToString())
    if not spans:
        raise ScenarioError(shown, "resourceSpans", "the capture holds no spans; point a service at "
                            "`linkmatrix capture` and send some first", 1)
    return Scenario(
        name=_name_of(path),
        problem=(f"Your spans, replayed from {path.name} ({' and '.join(sorted(kinds))}: {spans:,} span(s), "
                 f"{linking:,} with links, {links:,} link(s)). Which of your links survive, and where are the "
                 "others lost?"),
        path=shown,
        traces=(),
        capture=tuple(serialized),
        capture_format=" and ".join(sorted(kinds)),
    )


def attribute_texts(scenario: Scenario) -> set[tuple[str, str]]:
    """Every string and bytes attribute value a capture holds — of its resources, scopes, spans,
    events and links, inside arrays and key-value lists too — as (type, text): what `--redact`
    takes out of a run folder (bytes as OTLP JSON writes them, base64, and as hex)."""
    found: set[tuple[str, str]] = set()
    for serialized in scenario.capture:
        traces = TracesData.FromString(serialized)
        for resource_spans in traces.resource_spans:
            _collect(resource_spans.resource.attributes, found)
            for scope_spans in resource_spans.scope_spans:
                _collect(scope_spans.scope.attributes, found)
                for span in scope_spans.spans:
                    _collect(span.attributes, found)
                    for event in span.events:
                        _collect(event.attributes, found)
                    for link in span.links:
                        _collect(link.attributes, found)
    return found


def _collect(attributes: Any, found: set[tuple[str, str]]) -> None:
    for attribute in attributes:
        _collect_value(attribute.value, found)


def _collect_value(value: Any, found: set[tuple[str, str]]) -> None:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        found.add(("string", value.string_value))
    elif kind == "bytes_value":
        found.add(("bytes", base64.b64encode(value.bytes_value).decode()))
        found.add(("bytes", value.bytes_value.hex()))
    elif kind == "array_value":
        for item in value.array_value.values:
            _collect_value(item, found)
    elif kind == "kvlist_value":
        _collect(value.kvlist_value.values, found)
