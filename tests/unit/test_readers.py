"""Each reader's normalization, on real answers recorded from a real run (tests/fixtures/recorded)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.backends.jaeger._adapter import normalize_api_traces, normalize_api_v3
from harness.backends.zipkin._adapter import decode_link_tag, normalize_api_v2
from harness.model._spans import Span
from harness.stack._collector import read_forwarded

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded"
SENT = json.loads((RECORDED / "sent.json").read_text())
NORMALIZERS = {
    ("jaeger", "api_v3"): normalize_api_v3,
    ("jaeger", "api_traces"): normalize_api_traces,
    ("zipkin", "api_v2"): normalize_api_v2,
}


EMISSIONS = {(e["scenario"], e["pipeline"]): e for e in SENT["emissions"]}
SCENARIOS = sorted({scenario for scenario, _ in EMISSIONS})


def sent_spans(scenario: str, pipeline: str = "collector") -> list[dict[str, Any]]:
    return EMISSIONS[(scenario, pipeline)]["sdk"]


def read_recorded(backend: str, read_path: str, scenario: str) -> dict[tuple[str, str], Span]:
    spans: dict[tuple[str, str], Span] = {}
    for trace_id in {span["trace_id"] for span in sent_spans(scenario)}:
        answer = json.loads((RECORDED / "raw" / backend / read_path / f"{trace_id}.json").read_text())
        spans.update({span.key: span for span in NORMALIZERS[(backend, read_path)](answer)})
    return spans


def typed_attributes(link: dict[str, Any]) -> dict[str, Any]:
    return link["attributes"]


@pytest.mark.parametrize("backend, read_path", list(NORMALIZERS))
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_sent_span_and_link_target_is_read_back(backend: str, read_path: str, scenario: str) -> None:
    received = read_recorded(backend, read_path, scenario)
    for span in sent_spans(scenario):
        got = received[(span["trace_id"], span["span_id"])]
        assert got.name == span["name"]
        targets = [(link["trace_id"], link["span_id"]) for link in span["links"]]
        if scenario == "invalid-context-links" and backend == "jaeger":
            assert got.links == () and got.warnings == ("Invalid span link removed",) * 2
            continue
        if scenario == "root-and-child-links" and read_path == "api_traces" and span["name"] == "retry-query":
            # The link to its own parent replaces the parent reference (refType FOLLOWS_FROM).
            assert got.parent_span_id == "" and [link.target for link in got.links] == targets
            continue
        assert got.parent_span_id == span["parent_span_id"]
        assert [link.target for link in got.links] == targets


@pytest.mark.parametrize("backend, read_path", [("jaeger", "api_v3"), ("zipkin", "api_v2")])
def test_typed_attributes_are_decoded_with_their_types(backend: str, read_path: str) -> None:
    received = read_recorded(backend, read_path, "cross-trace-attributes")
    (linking,) = [span for span in sent_spans("cross-trace-attributes") if span["links"]]
    (link,) = received[(linking["trace_id"], linking["span_id"])].links
    assert link.attributes == {"link.reason": "batch_origin", "link.int": 42, "link.float": 1.5,
                               "link.bool": True, "link.arr": ("a", "b")}
    assert type(link.attributes["link.int"]) is int and type(link.attributes["link.bool"]) is bool


def test_api_v3_keeps_link_flags_and_the_ui_model_has_none() -> None:
    (linking,) = [span for span in sent_spans("fan-in-via-headers") if span["links"]]
    key = (linking["trace_id"], linking["span_id"])
    v3 = read_recorded("jaeger", "api_v3", "fan-in-via-headers")[key]
    assert {link.flags for link in v3.links} == {0x300}  # has-is-remote + is-remote; no sampled bit
    ui = read_recorded("jaeger", "api_traces", "fan-in-via-headers")[key]
    assert {link.flags for link in ui.links} == {None}


def test_the_ui_model_tells_parent_from_links() -> None:
    received = read_recorded("jaeger", "api_traces", "same-trace-link")
    price = next(span for span in received.values() if span.name == "price-cart")
    load = next(span for span in received.values() if span.name == "load-cart")
    assert price.parent_span_id == load.parent_span_id != ""
    assert [link.span_id for link in price.links] == [load.span_id]


def test_collector_file_export_is_filtered_by_run() -> None:
    path = RECORDED / "collector-forwarded.jsonl"
    ours = read_forwarded(path, SENT["run_id"])
    assert len(ours) == sum(len(e["sdk"]) for e in SENT["emissions"] if e["pipeline"] == "collector")
    assert read_forwarded(path, "another-run") == []
    assert read_forwarded(RECORDED / "missing.jsonl", SENT["run_id"]) == []


def test_zipkin_link_tag_edge_cases() -> None:
    tricky = decode_link_tag("0af7651916cd43dd8448eb211c80319c|b7ad6b7169203331|a=1|b,c=x|{\"k\":\"v|{w\"}|3")
    assert tricky is not None
    assert tricky.trace_state == "a=1|b,c=x"
    assert tricky.attributes == {"k": "v|{w"}
    assert tricky.dropped_attributes_count == 3
    empty_ids = decode_link_tag("||||{}|0")
    assert empty_ids is not None and empty_ids.trace_id == "0" * 32 and empty_ids.trace_state == "|"
    assert decode_link_tag("garbage") is None
    assert decode_link_tag("a|b|no json here|0") is None


def test_not_found_answers_are_empty() -> None:
    assert normalize_api_v3({"error": {"httpCode": 404, "message": "No traces found"}}) == []
    assert normalize_api_traces({"data": None, "errors": [{"code": 404, "msg": "trace not found"}]}) == []
    assert normalize_api_v2(None) == []


def test_invalid_links_keep_all_zero_ids_where_they_survive() -> None:
    (linking,) = [span for span in sent_spans("invalid-context-links") if span["links"]]
    key = (linking["trace_id"], linking["span_id"])
    zipkin = read_recorded("zipkin", "api_v2", "invalid-context-links")[key]
    assert [link.target for link in zipkin.links] == [("0" * 32, "0" * 16)] * 2
    forwarded = {span.key: span for span in read_forwarded(RECORDED / "collector-forwarded.jsonl", SENT["run_id"])}
    assert [link.attributes for link in forwarded[key].links] == [{"why": "kept-by-spec"}, {}]
    assert forwarded[key].links[0].trace_id == "0" * 32  # proto3 JSON leaves empty ids out


def test_collector_egress_decodes_for_both_kinds_of_exporter() -> None:
    from harness.backends.zipkin._adapter import decode_egress
    from harness.emit._otlp import spans_from_json

    bodies = (RECORDED / "raw" / "zipkin" / "collector-egress.jsonl").read_bytes().splitlines()
    to_zipkin = {span.key: span for body in bodies for span in decode_egress(body, SENT["run_id"])}
    otlp_lines = (RECORDED / "raw" / "jaeger" / "collector-egress.jsonl").read_text().splitlines()
    to_jaeger = {span.key: span for line in otlp_lines
                 for span in spans_from_json(json.loads(line), ids="base64", run_id=SENT["run_id"])}
    for emission in SENT["emissions"]:
        if emission["pipeline"] != "collector":
            continue
        for span in emission["sdk"]:
            key = (span["trace_id"], span["span_id"])
            assert len(to_zipkin[key].links) == len(span["links"]) == len(to_jaeger[key].links)
    assert [span for body in bodies for span in decode_egress(body, "another-run")] == []
