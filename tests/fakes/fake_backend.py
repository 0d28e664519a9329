"""A fake tracing backend, made of linkmatrix's own parts, for unit tests of the whole run.

It is a real process the local runtime starts like any backend: an OTLP/gRPC receiver (a tap
with no upstream) as its ingest side, and a small HTTP server that answers trace reads and
searches from what it ingested — with faults injected from its config file:

- reads: "ok", "not_found" (404 for ever), "empty" (200 with no spans), "non_json", "slow"
  (answers after `slow_seconds`), "refuse" (closes every connection without an answer);
- search: "ok", "miss" (answers, never with the linking span), "control_miss" (finds nothing,
  not even by the run id), "error" (HTTP 500);
- die_after: seconds after start at which the process exits with code 3 (0: never);
- ui (a page per trace under /ui/trace/<id>, for the render stage): "ok", "slow" (each page
  answers after `ui_seconds`), "die" (the first trace page ends the process, code 3), "stop"
  (the first trace page stops the process with SIGSTOP: alive, answering nothing). Each trace
  page asked for first leaves a file `ui-asked` in the working folder (the render stage began).
  Each link on a page is an anchor to `#<target span id>`, which a reader can click;
- ui_breaks ({span name: "blank" | "hang"}): a trace page holding a span of that name is broken, the
  others are not — "blank": its script throws and nothing is drawn (as Jaeger UI 1.76.0 does with
  a root linking its own child); "hang": drawn, but a click on any of its links loops for ever on
  the tab's main thread (as following a self-link does there).

Run: python fake_backend.py CONFIG.json (the adapter in tests/fakes/adapter.py writes it).
"""

from __future__ import annotations

import html
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, TracesData

from harness.emit._otlp import attributes
from harness.emit._taps import OtlpGrpcTap
from harness.model._vocabulary import RUN_ID_ATTRIBUTE


def _resource_spans(tap: OtlpGrpcTap, trace_id: str) -> list[ResourceSpans]:
    """Every ingested resource/scope with only the spans of `trace_id`."""
    kept = []
    for exchange in tap.recorded():
        request = trace_service_pb2.ExportTraceServiceRequest.FromString(exchange.payload)
        for resource in request.resource_spans:
            copy = ResourceSpans()
            copy.CopyFrom(resource)
            for scope in copy.scope_spans:
                spans = [span for span in scope.spans if span.trace_id.hex() == trace_id]
                del scope.spans[:]
                scope.spans.extend(spans)
            if any(scope.spans for scope in copy.scope_spans):
                kept.append(copy)
    return kept


def _search(tap: OtlpGrpcTap, key: str, value: str, control_miss: bool, miss: bool) -> list[dict[str, str]]:
    """[{traceID, spanID}] of spans whose resource (control) or link carries key=value."""
    found = []
    for exchange in tap.recorded():
        request = trace_service_pb2.ExportTraceServiceRequest.FromString(exchange.payload)
        for resource in request.resource_spans:
            resource_attributes = attributes(resource.resource.attributes)
            for scope in resource.scope_spans:
                for span in scope.spans:
                    by_run = key == RUN_ID_ATTRIBUTE and str(resource_attributes.get(key)) == value
                    by_link = any(str(attributes(link.attributes).get(key)) == value for link in span.links)
                    if (by_run and not control_miss) or (by_link and not miss and not control_miss):
                        found.append({"traceID": span.trace_id.hex(), "spanID": span.span_id.hex()})
    return found


# What a broken page is: "blank" draws nothing and throws; "hang" loops when a link is clicked.
BLANK_PAGE = ('<html><body><div id="root"></div><script>throw new TypeError("fake UI: cannot draw trace '
              '{trace_id}");</script></body></html>')
HANG_ON_CLICK = ' onclick="while (true) {}"'


def _trace_page(tap: OtlpGrpcTap, trace_id: str, breaks: dict[str, str]) -> bytes:
    """The trace's spans as a page: each span, its parent, its links, and whether something links to
    it — or the page broken as `breaks` (span name → how) says for a span of this trace."""
    spans = [span for resource in _resource_spans(tap, trace_id) for scope in resource.scope_spans
             for span in scope.spans]
    broken = next((breaks[span.name] for span in spans if span.name in breaks), "")
    if broken == "blank":
        return BLANK_PAGE.format(trace_id=trace_id).encode()
    click = HANG_ON_CLICK if broken == "hang" else ""
    targets = {link.span_id.hex() for span in spans for link in span.links}
    rows = []
    for span in spans:
        links = "".join(f'<li class="link" data-target="{link.span_id.hex()}"><a href="#{link.span_id.hex()}"{click}>'
                        f'{link.span_id.hex()}</a></li>' for link in span.links)
        marked = " linked-to" if span.span_id.hex() in targets else ""
        rows.append(f'<div class="span{marked}" data-span-id="{span.span_id.hex()}" '
                    f'data-parent="{span.parent_span_id.hex()}">{html.escape(span.name)}<ul>{links}</ul></div>')
    return f'<html><body><h1 id="trace">{trace_id}</h1>{"".join(rows)}</body></html>'.encode()


def serve(config: dict[str, object]) -> None:
    ports = config["ports"]
    assert isinstance(ports, dict)
    tap = OtlpGrpcTap([], port=int(ports["otlp_grpc"]))
    tap.__enter__()
    reads, search, ui = str(config.get("reads", "ok")), str(config.get("search", "ok")), str(config.get("ui", "ok"))
    given = config.get("ui_breaks") or {}
    assert isinstance(given, dict)
    breaks = {str(name): str(how) for name, how in given.items()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/ready":
                return self._answer(200, b"ready")
            if url.path.startswith("/api/traces/"):
                return self._trace(url.path.rsplit("/", 1)[-1])
            if url.path == "/ui/":
                return self._answer(200, b"<html><body>fake UI</body></html>")
            if url.path.startswith("/ui/trace/"):
                return self._page(url.path.rsplit("/", 1)[-1])
            if url.path == "/api/search":
                query = {key: values[0] for key, values in parse_qs(url.query).items()}
                if search == "error":
                    return self._answer(500, b"search exploded")
                found = _search(tap, query.get("key", ""), query.get("value", ""), search == "control_miss",
                                search == "miss")
                return self._answer(200, json.dumps({"spans": found}).encode())
            return self._answer(404, b"")

        def _page(self, trace_id: str) -> None:
            asked = Path("ui-asked")
            first = not asked.exists()
            asked.touch()
            if first and ui == "die":
                os._exit(3)
            if first and ui == "stop":
                os.kill(os.getpid(), signal.SIGSTOP)
            if ui == "slow":
                time.sleep(float(str(config.get("ui_seconds", 1))))
            self._answer(200, _trace_page(tap, trace_id, breaks), "text/html")

        def _trace(self, trace_id: str) -> None:
            if reads == "refuse":
                self.close_connection = True
                return  # no answer at all: the client sees the connection dropped
            if reads == "slow":
                time.sleep(float(str(config.get("slow_seconds", 5))))
            if reads == "not_found":
                return self._answer(404, b"")
            if reads == "non_json":
                return self._answer(200, b"<html>this is not JSON</html>")
            found = [] if reads == "empty" else _resource_spans(tap, trace_id)
            if not found and reads != "empty":
                return self._answer(404, b"")
            body = json_format.MessageToJson(TracesData(resource_spans=found), indent=None)
            self._answer(200, body.encode())

        def _answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", int(ports["http"])), Handler)
    die_after = float(str(config.get("die_after", 0)))
    if die_after:
        threading.Timer(die_after, lambda: os._exit(3)).start()
    print(f"fake backend: OTLP on {tap.address}, HTTP on {ports['http']}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(json.loads(Path(sys.argv[1]).read_text()))
