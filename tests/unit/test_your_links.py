"""Your links, one by one: a replayed capture's linking spans in matrix.json, matrix.md and
matrix.html — what each column showed of their links and fields, and the links that point outside
the capture; a run of YAML scenarios has no such section; merged shards keep it."""

from __future__ import annotations

from pathlib import Path

from harness.backends import BACKENDS
from harness.emit import emit
from harness.model import Emission, RunResult
from harness.model._handoff import Cell
from harness.report import to_document, validate, write_document
from harness.report.html import render_html
from harness.report.markdown import render_markdown
from harness.report.merge import merge
from harness.scenario import load_all

from .test_capture import _capture

MESSAGE_ID = "spans[shop/consume].links[0].attributes[messaging.message.id]"


def _replayed(tmp_path: Path) -> tuple[RunResult, Emission]:
    (scenario,) = load_all([_capture(tmp_path)])
    emission = emit(scenario, "run-1", None)
    run = RunResult(run_id="20261205T000000Z-abcdef", run_dir=tmp_path / "run", started="2026-12-05T00:00:00+00:00",
                    ended="2026-12-05T00:00:09+00:00", stages={"startup": 1.0, "emit": 0.1, "visibility": 0.5,
                                                                "read": 0.1},
                    versions={"linkmatrix": "0.1.0", "opentelemetry-sdk": "1.45.2",
                              "opentelemetry-exporter-otlp-proto-grpc": "1.45.2", "collector": "0.161.0"},
                    scenarios=[scenario],
                    columns=[path for path in BACKENDS["jaeger"].read_paths], emissions=[emission])
    run.cells = [
        Cell(scenario.name, "link.present", "jaeger", "api_v3", "collector", "preserved",
             evidence={"sent": {"shop/consume": 2}, "received": {"shop/consume": 2}, "difference": []}),
        Cell(scenario.name, "link.present", "jaeger", "ui", "collector", "degraded", hop="backend",
             changed_at=["backend"], summary="1 of 2 links kept",
             evidence={"sent": {"shop/consume": 2}, "received": {"shop/consume": 1},
                       "difference": [{"path": "spans[shop/consume].links", "expected": 2, "actual": 1,
                                       "note": "missing: links[1]", "kind": "missing"}]}),
        Cell(scenario.name, "link.attribute.string", "jaeger", "ui", "collector", "lost", hop="backend",
             changed_at=["backend"], summary="0 of 1 attributes kept",
             evidence={"sent": None, "received": None,
                       "difference": [{"path": MESSAGE_ID, "expected": "m-1", "actual": None, "note": "missing",
                                       "kind": "missing"}]}),
    ]
    return run, emission


def test_each_linking_span_of_a_capture_is_listed_with_what_each_column_kept(tmp_path: Path) -> None:
    run, emission = _replayed(tmp_path)
    document = to_document(run)
    validate(document)
    (capture,) = document["your_links"]
    assert capture["scenario"] == "shop" and capture["linking_spans"] == 1 and capture["links"] == 2
    (span,) = capture["spans"]
    assert {key: span[key] for key in ("label", "service", "name", "links", "dropped_before_capture",
                                       "link_attribute_keys", "outside_links")} == {
        "label": "shop/consume", "service": "shop", "name": "consume", "links": 2, "dropped_before_capture": 0,
        "link_attribute_keys": ["messaging.message.id"], "outside_links": 1}
    columns = {(c["backend"], c["read_path"]): c for c in span["columns"]}
    assert columns[("jaeger", "api_v3")] == {"backend": "jaeger", "read_path": "api_v3", "pipeline": "collector",
                                             "verdict": "preserved", "links": 2, "fields_lost": {}}
    assert columns[("jaeger", "ui")]["links"] == 1
    assert columns[("jaeger", "ui")]["fields_lost"] == {"attributes[messaging.message.id]": 1}
    # The link that points outside the capture, by its ids as they were sent.
    (outside,) = emission.outside_targets
    assert capture["outside_targets"] == {"links": 1, "listed": [
        {"from": "shop/consume", "trace_id": outside[0], "span_id": outside[1]}]}


def test_the_pages_say_your_links(tmp_path: Path) -> None:
    run, _ = _replayed(tmp_path)
    document = to_document(run)
    markdown = render_markdown(document)
    assert "## Your links" in markdown and "### shop: 1 linking span(s), 2 link(s)" in markdown
    assert "| shop | consume | 2 | 0 | messaging.message.id | 1 |" in markdown
    assert "- Jaeger UI — degraded: 1 of 2 links; not kept: `attributes[messaging.message.id]` on 1 of 2" in markdown
    assert "- Jaeger /api/v3 — preserved: 2 of 2 links; every field checked kept\n- Jaeger UI — degraded" in markdown
    assert "1 link(s) point outside the capture" in markdown and "e7e7e7e7" in markdown
    html = render_html(document)
    assert '<h2 id="your-links">Your links</h2>' in html
    assert "Jaeger UI — degraded: 1 of 2 links; not kept: <code>attributes[messaging.message.id]</code> on 1 of 2" in html
    (tmp_path / "written").mkdir()
    paths = write_document(document, tmp_path / "written")  # valid against the schema, every file written
    assert "## Your links" in paths["markdown"].read_text()


def test_a_run_without_a_capture_has_no_such_section(tmp_path: Path) -> None:
    run, _ = _replayed(tmp_path)
    run.emissions = []
    document = to_document(run)
    assert "your_links" not in document
    assert "## Your links" not in render_markdown(document) and "your-links" not in render_html(document)


def test_merged_shards_keep_each_captures_section(tmp_path: Path) -> None:
    run, _ = _replayed(tmp_path)
    with_capture = to_document(run)
    other = {**with_capture, "run": {**with_capture["run"], "id": "20261205T000001Z-123456"},
             "scenarios": [{"name": "fan-out", "file": "fan-out.yaml", "problem": ""}], "cells": []}
    del other["your_links"]
    merged = merge([other, with_capture], ["a/matrix.json", "b/matrix.json"])
    assert merged["your_links"] == with_capture["your_links"]
