"""`--redact`: a capture's attribute values, planted as secrets in its resource, span, event and
link attributes, are found nowhere in the run folder — reports, sent.json, raw answers, logs —
while the keys and the verdicts are kept and matrix.json still follows its schema."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from harness.report import load_report

from .conftest import ROOT

SECRET = "PLANTED"  # every planted value holds it; nothing else in a run does


def _string(key: str, value: str) -> dict[str, object]:
    return {"key": key, "value": {"stringValue": value}}


def _capture(path: Path) -> None:
    now = time.time_ns()
    producer, consumer = "0af7651916cd43dd8448eb211c80319c", "4bf92f3577b34da6a3ce929d0e0e4736"
    spans = [
        {"traceId": producer, "spanId": "b7ad6b7169203331", "name": "publish", "kind": 4,
         "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1_000_000),
         "attributes": [_string("messaging.destination.name", "orders-PLANTED-queue")],
         "events": [{"timeUnixNano": str(now), "name": "sent",
                     "attributes": [_string("note", 'a <"PLANTED"> note | with [brackets]')]}]},
        {"traceId": consumer, "spanId": "00f067aa0ba902b7", "name": "consume", "kind": 5,
         "startTimeUnixNano": str(now + 2_000_000), "endTimeUnixNano": str(now + 3_000_000),
         "attributes": [_string("user.email", "someone.PLANTED@example.com")],
         "links": [{"traceId": producer, "spanId": "b7ad6b7169203331",
                    "attributes": [_string("messaging.message.id", "sk-live-PLANTED-7f3a9c")]}]},
    ]
    line = {"resourceSpans": [{"resource": {"attributes": [_string("service.name", "orders"),
                                                           _string("deployment.secret", "PLANTED-resource")]},
                               "scopeSpans": [{"scope": {"name": "orders"}, "spans": spans}]}]}
    path.write_text(json.dumps(line) + "\n")


def test_a_redacted_run_folder_holds_none_of_the_capture_values(binaries: dict[str, Path], tmp_path: Path) -> None:
    capture = tmp_path / "orders.jsonl"
    _capture(capture)
    run = subprocess.run([sys.executable, "-m", "harness", "replay", str(capture), "--redact", "--runtime", "local",
                          "--backend", "jaeger", "--backend", "zipkin", "--reports", str(tmp_path / "reports")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "redacted: " in run.stderr
    folder = (tmp_path / "reports" / "latest").resolve()
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert {"matrix.json", "matrix.md", "matrix.html", "summary.md", "sent.json"} <= {path.name for path in files}
    assert any("raw" in path.relative_to(folder).parts for path in files)
    holding = [str(path.relative_to(folder)) for path in files if SECRET.encode() in path.read_bytes()]
    assert holding == []
    document = load_report(folder / "matrix.json")  # still valid against its schema
    assert document["cells"] and all(cell["verdict"] for cell in document["cells"])
    text = (folder / "matrix.md").read_text()
    assert "messaging.message.id" in text  # keys are kept
    assert "REDACTED-string-22-chars" in (folder / "sent.json").read_text()
