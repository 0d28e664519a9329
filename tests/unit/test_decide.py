"""The page that decides in a minute, from cells alone: which losses count against a backend, the
best read path of a backend, counts against the run's best, recipes, settings, what was not
measured, the order of the findings, and every link of matrix.md landing on an anchor."""

from __future__ import annotations

import re
from typing import Any

from harness.report.decide import (
    NO,
    PARTLY,
    UNMEASURED,
    YES,
    Cells,
    findings,
    not_measured,
    recipes,
    scorecard,
    settings,
)
from harness.report.markdown import render_markdown

COLUMNS = [
    {"backend": "jaeger", "read_path": "api_v3", "label": "Jaeger /api/v3", "cannot_carry": []},
    {"backend": "jaeger", "read_path": "api_traces", "label": "Jaeger /api/traces",
     "cannot_carry": ["attributes", "dropped_links_count"]},
    {"backend": "jaeger", "read_path": "search", "label": "Jaeger search", "cannot_carry": []},
    {"backend": "tempo", "read_path": "search", "label": "Tempo TraceQL", "cannot_carry": []},
    {"backend": "tempo", "read_path": "api_v1", "label": "Tempo (fresh)", "cannot_carry": [], "age": "fresh",
     "twin": "api_v1_settled"},
    {"backend": "tempo", "read_path": "api_v1_settled", "label": "Tempo (settled)", "cannot_carry": [],
     "age": "settled", "twin": "api_v1"},
    {"backend": "zipkin", "read_path": "api_v2", "label": "Zipkin /api/v2", "cannot_carry": ["dropped_links_count"]},
    {"backend": "zipkin", "read_path": "lens", "label": "Zipkin Lens", "cannot_carry": [],
     "how": "click the span; each link is a tag `otlp.link.<i>`"},
]


def cell(scenario: str, feature: str, path: str, verdict: str, hop: str = "", pipeline: str = "collector",
         **extra: Any) -> dict[str, Any]:
    backend, read_path = path.split("/")
    record: dict[str, Any] = {"scenario": scenario, "feature": feature, "backend": backend, "read_path": read_path,
                              "pipeline": pipeline, "verdict": verdict, "hops": {}, **extra}
    record["evidence"] = {"difference": [], **record.get("evidence", {})}
    if hop:
        record.update(hop=hop, changed_at=extra.get("changed_at", [hop]))
    return record


def document(cells: list[dict[str, Any]], skipped: dict[str, str] | None = None) -> dict[str, Any]:
    return {"run": {"id": "r", "started": "s", "ended": "e", "runtime": "local", "pipelines": ["collector"],
                    "versions": {}, "stages": {}, "skipped": skipped or {}, "problems": [], "data_age": {},
                    "stage_detail": {}, "releases_compared": {}},
            "scenarios": [{"name": "s", "file": "s.yaml", "problem": "p"}], "columns": COLUMNS,
            "features": [], "cells": cells, "between_versions": []}


def answers(doc: dict[str, Any], question: str) -> dict[str, Any]:
    card = scorecard(Cells(doc))
    row = next(r for r in card["rows"] if r["id"] == question)
    return dict(zip(card["backends"], row["answers"], strict=True))


def test_a_loss_in_the_sdk_does_not_count_against_a_backend() -> None:
    sdk_loss = {"sdk": "degraded", "wire": "degraded", "collector": "degraded", "backend": "degraded"}
    doc = document([
        cell("s", "link.attribute.int", "jaeger/api_v3", "preserved"),
        cell("t", "link.attribute.int", "jaeger/api_v3", "degraded", "sdk", hops=sdk_loss,
             evidence={"difference": [{"kind": "missing"}]}),
        cell("s", "link.attribute.double", "zipkin/api_v2", "degraded", "collector",
             hops={"collector": "degraded"}, meaning="The collector's exporter for Zipkin changes the value's type "
             "(type double → int: JSON text); do not rely on it.",
             evidence={"difference": [{"kind": "type_changed"}]}),
        cell("s", "link.attribute.double", "jaeger/api_v3", "preserved", hops={"collector": "preserved"}),
    ])
    mine = answers(doc, "attribute_types")
    assert mine["jaeger"].mark == YES
    # the same data passed the collector towards Jaeger: the Zipkin exporter's change is Zipkin's own
    assert mine["zipkin"].mark == PARTLY or mine["zipkin"].mark == NO
    assert "changes the value's type" in mine["zipkin"].caveat and "(" not in mine["zipkin"].caveat


def test_the_best_read_path_answers_and_the_worse_one_is_named() -> None:
    doc = document([
        cell("s", "span.dropped_links_count", "jaeger/api_v3", "preserved"),
        cell("s", "span.dropped_links_count", "jaeger/api_traces", "n/a", reason="cannot carry"),
        cell("s", "span.dropped_links_count", "zipkin/api_v2", "n/a", reason="cannot carry"),
        cell("s", "link.dropped_attributes_count", "zipkin/api_v2", "preserved"),
    ])
    mine = answers(doc, "drop_counted")
    assert mine["jaeger"].mark == YES and "Jaeger /api/traces: ❌ its API has no field" in mine["jaeger"].caveat
    assert mine["zipkin"].mark == PARTLY and "dropped links count: ❌" in mine["zipkin"].caveat
    assert mine["tempo"] is None


def test_a_search_that_cannot_be_asked_is_a_no_and_a_miss_is_a_no_with_its_meaning() -> None:
    doc = document([
        cell("s", "search.link_span_id", "jaeger/search", "n/a", reason="Jaeger search has no such query: none"),
        cell("s", "search.link_attribute", "jaeger/search", "lost", "backend",
             meaning="Jaeger search cannot find spans by this link field; use another."),
        cell("s", "search.link_attribute", "tempo/search", "preserved",
             evidence={"received": {"{ link.k = 3 }": "found"}}),
    ])
    assert answers(doc, "search_target")["jaeger"].mark == NO
    attribute = answers(doc, "search_attribute")
    assert attribute["jaeger"].mark == NO and attribute["jaeger"].caveat == "Jaeger search cannot find spans by this link field"
    assert attribute["tempo"].mark == YES
    assert [r["how"] for r in recipes(Cells(doc))] == ["{ link.k = 3 }"]


def test_a_count_below_the_runs_best_is_partly() -> None:
    doc = document([
        cell("big", "link.present", "jaeger/api_v3", "preserved", evidence={"sent": {"a": 1000}}),
        cell("small", "link.present", "jaeger/api_v3", "preserved", evidence={"sent": {"b": 3}}),
        cell("small", "link.present", "zipkin/api_v2", "preserved", evidence={"sent": {"b": 3}}),
        cell("big", "link.present", "zipkin/api_v2", "lost", "backend", evidence={"sent": {"a": 1000}}),
    ])
    mine = answers(doc, "most_links")
    assert (mine["jaeger"].mark, mine["jaeger"].count) == (YES, 1000)
    assert (mine["zipkin"].mark, mine["zipkin"].count) == (PARTLY, 3)
    assert "fewer than the 1000" in mine["zipkin"].caveat
    lens = document([
        cell("big", "link.present", "zipkin/api_v2", "preserved", evidence={"sent": {"a": 6}}),
        cell("small", "render.link_shown", "zipkin/lens", "preserved", evidence={"sent": {"b": 2}}),
    ])
    # one backend's other read path, below its best, is not a ✅ of its own
    assert "⚠️ 2 (small)" in answers(lens, "most_links")["zipkin"].caveat


def test_a_ui_not_run_or_not_rendered_is_not_measured_never_a_no() -> None:
    doc = document([
        cell("s", "render.link_shown", "zipkin/lens", "preserved"),
        cell("s", "render.link_shown", "tempo/api_v1_settled", "n/a",
             reason="Grafana (Tempo's UI) is not rendered: Grafana was not run here"),
    ], skipped={"jaeger/ui": "this Jaeger serves a placeholder page, not its UI: give its assets"})
    mine = answers(doc, "ui_targets")
    assert mine["zipkin"].mark == YES
    assert mine["jaeger"].mark == UNMEASURED and "placeholder" in mine["jaeger"].caveat
    assert mine["tempo"].mark == UNMEASURED
    told = not_measured(doc)
    assert any(item.startswith("jaeger/ui: this Jaeger serves a placeholder page") for item in told)
    assert any("Grafana" in item for item in told)
    # every earlier release not in the run is named: a backend's, the SDK's and the collector's
    releases = next(item for item in told if item.startswith("earlier releases"))
    assert all(name in releases for name in ("zipkin-2.27.0", "python-sdk-1.22.0", "otelcol-0.158.0"))


def test_a_fresh_read_with_a_settled_twin_does_not_decide() -> None:
    doc = document([
        cell("s", "link.attribute.string", "tempo/api_v1", "degraded", "backend",
             evidence={"difference": [{"kind": "value_changed"}]}),
        cell("s", "link.attribute.string", "tempo/api_v1_settled", "preserved"),
    ])
    assert answers(doc, "attribute_types")["tempo"].mark == YES


def test_settings_name_the_setting_and_the_cells_that_showed_the_loss() -> None:
    doc = document([
        cell("limit", "link.present", "jaeger/api_v3", "degraded", "sdk", summary="128 of 200 links kept",
             evidence={"difference": [{"kind": "missing", "expected": 200, "actual": 128}]}),
        cell("zip", "link.present", "zipkin/api_v2", "lost", "wire", pipeline="sdk-zipkin", summary="0 of 1"),
    ])
    box = settings(Cells(doc))
    assert [item["setting"].split(" ")[0] for item in box] == ["`OTEL_SPAN_LINK_COUNT_LIMIT`", "send"]
    assert box[0]["example"] == "limit: 128 of 200 links kept" and box[0]["cell"] == 0


def test_findings_that_tell_backends_apart_come_first() -> None:
    common = [cell(f"s{i}", "link.flags", "jaeger/api_v3", "degraded", "wire", meaning="exporter") for i in range(5)]
    own = cell("s", "render.target_navigable", "zipkin/lens", "lost", "render", meaning="Lens has no link")
    error = cell("s", "link.present", "zipkin/api_v2", "error", reason="refused", meaning="Not measured: refused")
    ordered = findings(Cells(document([*common, error, own])))
    assert [f["meaning"] for f in ordered] == ["Lens has no link", "Not measured: refused", "exporter"]
    assert ordered[2]["positions"] == [0, 1, 2, 3, 4]


def test_every_link_of_the_markdown_lands_on_an_anchor() -> None:
    doc = document([
        cell("s", "link.present", "jaeger/api_v3", "preserved", evidence={"sent": {"a": 2}}),
        cell("s", "link.present", "zipkin/api_v2", "lost", "backend", meaning="gone", summary="0 of 2",
             evidence={"sent": {"a": 2}}),
        cell("s", "render.link_shown", "zipkin/lens", "preserved"),
        cell("s", "search.link_attribute", "tempo/search", "preserved", evidence={"received": {"q": "found"}}),
    ])
    doc["features"] = [{"id": f, "title": f, "question": "?"} for f in
                       ("link.present", "render.link_shown", "search.link_attribute")]
    markdown = render_markdown(doc)
    assert markdown.index("## Decide in a minute") < markdown.index("## Findings") < markdown.index("## Matrix")
    targets = set(re.findall(r"\]\(#([^)]+)\)", markdown))
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', markdown))
    assert targets and targets <= anchors, targets - anchors
    assert "Zipkin Lens — see a span's links: click the span" in markdown


def test_a_backend_that_kept_all_that_reached_it_answers_yes_and_one_that_got_nothing_is_not_measured() -> None:
    doc = document([
        # the SDK dropped 372 of 500 links; the UI showed the 128 it got, each one clickable
        cell("limit", "render.target_navigable", "zipkin/lens", "degraded", "sdk",
             hops={"sdk": "degraded", "backend": "degraded", "render": "degraded"}),
        # every link was lost before the backend: nothing tells the UI apart
        cell("gone", "render.target_navigable", "tempo/api_v1_settled", "lost", "wire"),
        # lost at the SDK and, of what arrived, at the UI too: the UI's own part is what is told
        cell("limit", "render.target_identified", "zipkin/lens", "lost", "sdk", changed_at=["sdk", "render"],
             summary="0 of 500 targets shown", meaning="The SDK changed these links before export."),
    ])
    assert answers(doc, "ui_click")["zipkin"].mark == YES
    assert answers(doc, "ui_click")["tempo"].mark == UNMEASURED
    targets = answers(doc, "ui_targets")["zipkin"]
    assert targets.mark == NO and targets.caveat == "lost at render too: 0 of 500 targets shown"


def test_text_from_scenarios_and_backends_stays_text_in_the_markdown() -> None:
    hostile = 'a` [x](javascript:alert(1)) <script>alert(2)</script> |b'
    doc = document([
        cell("s", "search.link_attribute", "tempo/search", "preserved",
             evidence={"received": {f'{{ link.k = "{hostile}" }}': "found"}}),
        cell("s", "link.attribute.string", "zipkin/api_v2", "degraded", "backend", meaning=f"changed {hostile}",
             evidence={"difference": [{"path": f"spans[{hostile}]", "expected": hostile, "actual": "b",
                                       "note": hostile, "kind": "value_changed"}]}),
    ])
    doc["scenarios"][0]["problem"] = hostile
    doc["features"] = [{"id": f, "title": f, "question": "?"} for f in ("search.link_attribute", "link.attribute.string")]
    markdown = render_markdown(doc)
    outside_code = re.sub(r"(`+) .*? \1|`[^`]*`", "", markdown)  # a code span's content is shown as text
    assert "<script>" not in outside_code and not re.search(r"(?<!\\)\]\(javascript", outside_code)
    # the query that worked is one code span, whatever backticks it holds
    assert '`` { link.k = "a` [x](javascript:alert(1))' in markdown
