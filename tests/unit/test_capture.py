"""Captures: what is accepted (the collector's own `file` export as it is, Jaeger's and Tempo's trace
answers), how a replay mints its ids and times, and one line for each bad capture."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.emit import emit
from harness.model import CAPTURE, RUN_ID_ATTRIBUTE, InputError
from harness.scenario import load_all

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FORWARDED = FIXTURES / "recorded" / "collector-forwarded.jsonl"  # the collector's own `file` exporter wrote it
JAEGER_V3 = sorted((FIXTURES / "recorded" / "raw" / "jaeger" / "api_v3").glob("*.json"))[0]
TEMPO = FIXTURES / "tempo-3.0.3"


def _copy(source: Path, folder: Path, name: str) -> Path:
    return Path(shutil.copy(source, folder / name))


def test_the_collectors_own_file_export_is_accepted_as_it_is(tmp_path: Path) -> None:
    (scenario,) = load_all([_copy(FORWARDED, tmp_path, "forwarded.jsonl")])
    assert scenario.is_capture and scenario.name == "forwarded" and scenario.capture_format == "OTLP JSON"
    lines = [line for line in FORWARDED.read_text().splitlines() if line.strip()]
    assert len(scenario.capture) == len(lines)


@pytest.mark.parametrize(("source", "kind"), [
    (JAEGER_V3, "Jaeger /api/v3 trace"),
    (TEMPO / "cross_trace_attrs.v1.json", "Tempo /api/traces trace"),
    (TEMPO / "cross_trace_attrs.v2.json", "Tempo /api/v2/traces trace"),
])
def test_a_trace_as_a_backend_answers_it_is_accepted(tmp_path: Path, source: Path, kind: str) -> None:
    (scenario,) = load_all([_copy(source, tmp_path, "answer.json")])
    assert scenario.capture_format == kind
    emission = emit(scenario, "run-a", None)
    assert emission.sdk and emission.linking_spans


def _capture(folder: Path) -> Path:
    """Two traces: a consumer linking a producer inside the capture and one outside it."""
    def span(trace: str, span_id: str, name: str, start: int, links: list[dict[str, str]] | None = None,
             parent: str = "") -> dict[str, object]:
        return {"traceId": trace, "spanId": span_id, "parentSpanId": parent, "name": name, "kind": 5,
                "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 1_000_000),
                "attributes": [{"key": "order.id", "value": {"stringValue": "o-1"}}],
                "events": [{"timeUnixNano": str(start + 10), "name": "received"}],
                "status": {"code": 2, "message": "boom"}, "links": links or []}
    producer, consumer, elsewhere = "0a" * 16, "c1" * 16, "e7" * 16
    line = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}},
                                    {"key": RUN_ID_ATTRIBUTE, "value": {"stringValue": "an-earlier-run"}}]},
        "scopeSpans": [{"scope": {"name": "shop.lib", "version": "1.2"}, "spans": [
            span(producer, "01" * 8, "publish", 1_000),
            span(consumer, "02" * 8, "consume", 5_000, links=[
                {"traceId": producer, "spanId": "01" * 8, "attributes": [
                    {"key": "messaging.message.id", "value": {"stringValue": "m-1"}}]},
                {"traceId": elsewhere, "spanId": "03" * 8}]),
            span(consumer, "04" * 8, "child", 6_000, parent="02" * 8),
        ]}]}]}
    path = folder / "shop.jsonl"
    path.write_text(json.dumps(line) + "\n" + json.dumps({"resourceSpans": []}) + "\n")
    return path


def test_a_replay_mints_every_id_afresh_and_keeps_the_rest(tmp_path: Path) -> None:
    (scenario,) = load_all([_capture(tmp_path)])
    first, second = emit(scenario, "run-1", None), emit(scenario, "run-2", None)
    assert first.first_hop == CAPTURE
    spans = {span.name: span for span in first.sdk}
    assert {span.key for span in first.sdk}.isdisjoint(span.key for span in second.sdk)
    publish, consume, child = spans["publish"], spans["consume"], spans["child"]
    assert publish.trace_id not in ("0a" * 16,) and publish.trace_id.startswith("0")  # a leading 0 stays one
    assert consume.links[0].target == publish.key  # inside the capture: remapped with it
    assert consume.links[0].attributes == {"messaging.message.id": "m-1"}
    assert consume.links[1].target == ("e7" * 16, "03" * 8)  # outside: kept, and said
    assert first.outside_targets == {("e7" * 16, "03" * 8)}
    assert child.parent_span_id == consume.span_id and child.trace_id == consume.trace_id
    assert child.attributes == {"order.id": "o-1"}
    assert first.labels[consume.key] == "shop/consume" and first.service_of(consume.key) == "shop"


def test_a_replay_moves_times_to_now_keeping_offsets_and_tags_the_run(tmp_path: Path) -> None:
    from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

    from harness.emit._replay import _remap

    (scenario,) = load_all([_capture(tmp_path)])
    documents = [TracesData.FromString(document) for document in scenario.capture]
    resources, _ = _remap(documents, "run-9", 10**18)
    spans = [span for resource in resources for scope in resource.scope_spans for span in scope.spans]
    assert [span.start_time_unix_nano for span in spans] == [10**18, 10**18 + 4_000, 10**18 + 5_000]
    assert spans[0].events[0].time_unix_nano == 10**18 + 10 and spans[0].events[0].name == "received"
    assert (spans[0].status.code, spans[0].status.message, spans[0].kind) == (2, "boom", 5)
    assert resources[0].scope_spans[0].scope.version == "1.2"
    run_ids = [kv.value.string_value for kv in resources[0].resource.attributes if kv.key == RUN_ID_ATTRIBUTE]
    assert run_ids == ["run-9"]


def _error(path: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        load_all([path])
    assert "\n" not in str(caught.value) and caught.value.exit_code == 2
    return caught.value


def test_malformed_json_is_one_line_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(FORWARDED.read_text().splitlines()[0] + "\n{\"resourceSpans\": [}\n")
    error = _error(path)
    assert error.line == 2 and "not valid JSON" in error.message


def test_an_id_of_the_wrong_length_is_named_by_line_and_field(tmp_path: Path) -> None:
    line = json.loads(FORWARDED.read_text().splitlines()[0])
    line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = "abc123"
    path = tmp_path / "short-id.jsonl"
    path.write_text(FORWARDED.read_text().splitlines()[0] + "\n" + json.dumps(line) + "\n")
    error = _error(path)
    assert (error.line, error.field) == (2, "$.resourceSpans[0].scopeSpans[0].spans[0].traceId")
    assert "32 hex digits" in error.message


def test_a_link_id_of_the_wrong_length_in_a_tempo_answer(tmp_path: Path) -> None:
    answer = json.loads((TEMPO / "cross_trace_attrs.v1.json").read_text())
    answer["batches"][0]["scopeSpans"][0]["spans"][0]["links"][0]["spanId"] = "AAAA"
    path = tmp_path / "tempo.json"
    path.write_text(json.dumps(answer))
    error = _error(path)
    assert error.field == "$.batches[0].scopeSpans[0].spans[0].links[0].spanId" and "8 bytes" in error.message


def test_a_capture_with_no_spans(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text('{"resourceSpans": []}\n{"resourceSpans": []}\n')
    assert "holds no spans" in _error(path).message


def test_something_else_is_not_a_capture(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"data": []}')
    assert "not a capture" in _error(path).message


def test_a_1_gb_capture_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    with open(path, "wb") as file:
        file.truncate(1 << 30)  # sparse: nothing is written, and nothing is read
    error = _error(path)
    assert "1,073,741,824 bytes; capture files are at most" in error.message


def test_replay_says_a_bad_capture_in_one_line_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("not json\n")
    done = subprocess.run([sys.executable, "-m", "harness", "replay", str(path), "--reports", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "bad.jsonl:1" in done.stderr
    assert not (tmp_path / "r").exists()  # nothing started, nothing written
