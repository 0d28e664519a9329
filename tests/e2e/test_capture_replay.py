"""A real service's spans, captured by `linkmatrix capture` and replayed: every linking span of the
capture is judged, with the verdicts of the same pattern written as YAML, and the collector's own
`file` export of that run is a capture too, as it is."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SERVICE = '''
import sys
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, SpanKind

provider = TracerProvider(resource=Resource.create({"service.name": "orders"}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=sys.argv[1])))
tracer = provider.get_tracer("orders")
published = []
for _ in range(3):  # three separate traces, as three producers would make
    with tracer.start_as_current_span("publish", context=trace.set_span_in_context(trace.INVALID_SPAN),
                                      kind=SpanKind.PRODUCER) as span:
        published.append(span.get_span_context())
with tracer.start_as_current_span("consume-batch", context=trace.set_span_in_context(trace.INVALID_SPAN),
                                  kind=SpanKind.CONSUMER,
                                  links=[Link(context, {"messaging.message.id": f"msg-{index}"})
                                         for index, context in enumerate(published)]):
    pass
provider.shutdown()
'''

TWIN = """name: orders-twin
problem: The service's pattern written as a scenario (three producers, one consumer linking them).
traces:
  - id: producer
    repeat: 3
    spans:
      - name: publish
        kind: producer
  - id: consumer
    spans:
      - name: consume-batch
        kind: consumer
        links:
          - to: producer[*].publish
            attributes: {messaging.message.id: "msg-{index}"}
"""

LINKMATRIX = [sys.executable, "-m", "harness"]


def _capture_from_service(folder: Path) -> Path:
    capture = folder / "orders.jsonl"
    receiver = subprocess.Popen([*LINKMATRIX, "capture", str(capture), "--for", "20s"], stderr=subprocess.PIPE,
                                text=True)
    assert receiver.stderr is not None
    started = receiver.stderr.readline()
    http = started.split("HTTP ")[1].split(" ")[0]  # http://127.0.0.1:PORT/v1/traces
    (folder / "service.py").write_text(SERVICE)
    subprocess.run([sys.executable, str(folder / "service.py"), http], check=True, timeout=60)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and "4 span(s), 3 link(s)" not in receiver.stderr.readline():
        pass
    receiver.send_signal(2)  # Ctrl-C: the usual end of a capture
    rest = receiver.communicate(timeout=30)[1]
    assert receiver.returncode == 0, rest
    assert "wrote" in rest and "4 span(s), 3 link(s)" in rest
    return capture


def test_a_service_capture_replayed_agrees_with_its_yaml_twin(tmp_path: Path) -> None:
    capture = _capture_from_service(tmp_path)
    twin = tmp_path / "orders-twin.yaml"
    twin.write_text(TWIN)
    reports = tmp_path / "reports"
    done = subprocess.run([*LINKMATRIX, "run", str(twin), str(capture), "--reports", str(reports), "--runtime", "local",
                           "--backend", "jaeger", "--backend", "zipkin"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads((reports / "latest" / "matrix.json").read_text())
    cells = {scenario: {(c["feature"], c["backend"], c["read_path"], c["pipeline"]): (c["verdict"], c.get("hop"))
                        for c in document["cells"] if c["scenario"] == scenario}
             for scenario in ("orders", "orders-twin")}
    assert cells["orders"].keys() == cells["orders-twin"].keys()
    # A capture starts where the service's exporter ended: what its SDK or exporter lost (link flags:
    # the exporter writes the is-remote bits, not the sampled one) is not in it, and so not a loss.
    before_capture = {key for key, (_, hop) in cells["orders-twin"].items() if hop in ("sdk", "wire")}
    assert {key: cells["orders"][key] for key in before_capture} == {key: ("preserved", None) for key in before_capture}
    assert {key: cell for key, cell in cells["orders"].items() if key not in before_capture} == \
        {key: cell for key, cell in cells["orders-twin"].items() if key not in before_capture}
    assert len(cells["orders"]) > 20
    replayed = [c for c in document["cells"] if c["scenario"] == "orders" and c["feature"] == "link.present"
                and c["read_path"] == "api_v3"]
    assert replayed[0]["hops"]["capture"] == "preserved" and "sdk" not in replayed[0]["hops"]
    _your_links_agree_with_the_cells(document, reports / "latest")
    # The collector's own file export of this run is a capture as it is.
    forwarded = reports / "latest" / "collector-forwarded.jsonl"
    check = subprocess.run([*LINKMATRIX, "validate", str(forwarded)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "collector-forwarded" in check.stdout, check.stderr


def _your_links_agree_with_the_cells(document: dict[str, Any], report: Path) -> None:
    """The capture's one linking span is listed, and what each column showed of its links says what
    the cells say: every link where link.present was preserved, the message ids where the string
    link attribute was, none of them where it was lost."""
    (yours,) = document["your_links"]
    assert (yours["scenario"], yours["linking_spans"], yours["links"]) == ("orders", 1, 3)
    assert yours["outside_targets"] == {"links": 0, "listed": []}
    (span,) = yours["spans"]
    assert (span["service"], span["name"], span["links"], span["link_attribute_keys"], span["outside_links"]) == \
        ("orders", "consume-batch", 3, ["messaging.message.id"], 0)
    verdicts = {(c["feature"], c["backend"], c["read_path"], c["pipeline"]): c["verdict"] for c in document["cells"]
                if c["scenario"] == "orders"}
    columns = {(c["backend"], c["read_path"], c["pipeline"]): c for c in span["columns"]}
    assert columns.keys() == {key[1:] for key in verdicts if key[0].startswith("link.")}
    for key, column in columns.items():
        if verdicts.get(("link.present", *key)) == "preserved":
            assert column["links"] == 3, (key, column)
        message_ids = column["fields_lost"].get("attributes[messaging.message.id]", 0)
        attribute = verdicts.get(("link.attribute.string", *key))
        assert message_ids == {"preserved": 0, "lost": 3}.get(attribute or "", message_ids), (key, column)
    markdown = (report / "matrix.md").read_text()
    assert "## Your links" in markdown and "| orders | consume-batch | 3 | 0 | messaging.message.id | 0 |" in markdown
    assert '<h2 id="your-links">Your links</h2>' in (report / "matrix.html").read_text()
