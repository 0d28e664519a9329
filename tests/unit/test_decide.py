"""The page that decides in a minute, from cells alone: which losses count against a backend, the
best read path of a backend, counts against the run's best, recipes, settings, what was not
measured, the order of the findings, and every link of matrix.md landing on an anchor."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness.backends import BACKENDS
from harness.model._features import REPRESENTATIVE_SCENARIOS
from harness.report.decide import (
    NO,
    PARTLY,
    QUESTIONS,
    UNMEASURED,
    YES,
    Cells,
    findings,
    not_measured,
    scorecard,
    settings,
)
from harness.report.html import render_html
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


JAEGER_UI = {"backend": "jaeger", "read_path": "ui", "label": "Jaeger UI", "cannot_carry": [],
             "how": "open `/trace/<trace id>`, open the span's References; click a row to go to the target"}


def document(cells: list[dict[str, Any]], skipped: dict[str, str] | None = None,
             columns: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"run": {"id": "r", "started": "s", "ended": "e", "runtime": "local", "pipelines": ["collector"],
                    "versions": {}, "stages": {}, "skipped": skipped or {}, "problems": [], "data_age": {},
                    "stage_detail": {}, "releases_compared": {},
                    # what a run writes of its backends: their adapters' notes
                    "backends": {name: backend.notes() for name, backend in BACKENDS.items()}},
            "scenarios": [{"name": "s", "file": "s.yaml", "problem": "p"}], "columns": columns or COLUMNS,
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
    assert mine["jaeger"].mark == YES and "Jaeger /api/traces: ❌ its API has no field" in mine["jaeger"].plain
    assert mine["zipkin"].mark == PARTLY and "dropped links count: ❌" in mine["zipkin"].plain
    # each count is named on its own: "a drop is counted" never stands for the attributes count alone
    assert mine["zipkin"].caveat == "dropped attributes count only"
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
    # the recipe: the query for your own key, and the one this run sent that found the span
    assert [line.code for line in attribute["tempo"].recipe if line.code] == ['{ link.<your key> = "…" }',
                                                                              "{ link.k = 3 }"]
    assert attribute["jaeger"].recipe == []  # nothing to copy from a search that does not work


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
    assert "⚠️ 2 (small)" in answers(lens, "most_links")["zipkin"].plain


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


def test_settings_are_grouped_by_where_they_are_set_and_name_the_cell_that_tried_them() -> None:
    doc = document([
        cell("link-count-over-default-limit", "link.present", "jaeger/api_v3", "degraded", "sdk",
             summary="128 of 200 links kept", evidence={"difference": [{"kind": "missing", "expected": 200,
                                                                        "actual": 128}]}),
        cell("link-count-limit-raised-by-env", "link.present", "jaeger/api_v3", "preserved"),
        cell("zip", "link.present", "zipkin/api_v2", "lost", "wire", pipeline="sdk-zipkin", summary="0 of 1"),
        cell("long", "link.attribute.string", "tempo/api_v1_settled", "degraded", "backend",
             evidence={"difference": [{"kind": "truncated"}]}),
    ])
    box = settings(Cells(doc))
    assert [group["where"] for group in box] == ["sdk", "pipeline", "backend"]
    sdk, pipeline, backend = (group["items"] for group in box)
    assert sdk[0]["setting"].startswith("`OTEL_SPAN_LINK_COUNT_LIMIT`")
    assert sdk[0]["example"] == "link-count-over-default-limit: 128 of 200 links kept" and sdk[0]["cell"] == 0
    assert "link-count-limit-raised-by-env" in sdk[0]["tried"] and sdk[0]["tried_cell"] == 1
    assert pipeline[0]["setting"].startswith("send to Zipkin through a collector")
    assert pipeline[0]["tried"] == ""  # its trying scenario is not in this run: not said as tried
    # a backend's limit is under the backend, never under "no backend choice avoids these"
    assert "max_attribute_bytes" in backend[0]["setting"] and backend[0]["tried"] == ""
    assert "no backend choice" not in box[2]["title"]


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
    assert "*click path:* click the span" in markdown


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
    # the UI's own part, in its own words (not "lost at render too")
    assert targets.mark == NO and targets.caveat == "Zipkin Lens does not fully say which span a link points at"


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


def differ(kind: str) -> dict[str, Any]:
    """A cell's evidence with one difference of this kind."""
    return {"difference": [{"kind": kind, "path": "links[0]", "expected": 1, "actual": None, "note": kind}]}


ZERO_TARGET = differ("missing_invalid_target")
NAN_DROP = "The collector dropped these spans on their way to Zipkin and said why (exporter: NaN)."


def test_edge_cases_are_caveat_lines_under_the_mark_and_never_flip_it() -> None:
    doc = document([
        cell("cross-trace-attributes", "render.target_navigable", "jaeger/ui", "preserved"),
        cell("messaging-batch", "render.target_navigable", "jaeger/ui", "preserved"),
        # the SDK dropped the bare all-zero link, Jaeger's store the ones with data
        cell("invalid-context-links", "render.target_navigable", "jaeger/ui", "lost", "sdk",
             changed_at=["sdk", "backend"], summary="0 of 3 links shown", evidence=ZERO_TARGET,
             meaning="The SDK changed these links before export."),
        cell("cross-trace-attributes", "render.target_navigable", "zipkin/lens", "preserved"),
        cell("non-finite-double-attributes", "render.target_navigable", "jaeger/ui", "preserved",
             hops={"collector": "preserved"}),
        cell("non-finite-double-attributes", "render.target_navigable", "zipkin/lens", "lost", "collector",
             hops={"collector": "lost"}, meaning=NAN_DROP),
    ], columns=[*COLUMNS, JAEGER_UI])
    mine = answers(doc, "ui_click")
    jaeger, zipkin = mine["jaeger"], mine["zipkin"]
    assert (jaeger.mark, jaeger.caveat) == (YES, "2 scenario(s)")  # the representative ones
    # said as what the store does, not as a flaw of the UI ("lost at backend too")
    assert [line.text for line in jaeger.exceptions] == [
        "Jaeger removes every link whose trace id is all zeros, even one that carries attributes "
        "(invalid-context-links)"]
    assert jaeger.exceptions[0].cell == 2
    assert [line.label for line in jaeger.recipe] == ["click path"] and "References" in jaeger.recipe[0].text
    assert zipkin.mark == YES
    assert zipkin.exceptions[0].text == ("The collector dropped these spans on their way to Zipkin and said why "
                                         "(non-finite-double-attributes)")


def test_a_search_that_works_says_the_query_for_your_key_and_how_long_to_wait() -> None:
    doc = document([
        cell("search-by-link", "search.link_attribute", "tempo/search", "preserved",
             evidence={"received": {"{ link.link.attempt = 3 }": "found",
                                    '{ link.link.reason = "batch_origin" }': "found"}}),
        cell("search-by-link", "search.link_attribute", "jaeger/search", "lost", "backend",
             meaning="Jaeger search cannot find spans by this link field; use another."),
    ])
    doc["run"]["stage_detail"] = {"indexing": {"tempo/search": 12.34, "jaeger/search": 0.04}}
    tempo = answers(doc, "search_attribute")["tempo"]
    query = tempo.recipe[0]
    assert query.code == '{ link.<your key> = "…" }'
    # the scoping rule, spelled out on this run's own key: `link.link.attempt` is not a typo
    assert "`link.` is the scope" in query.text and "`link.attempt` is asked as `link.link.attempt`" in query.text
    assert [line.code for line in tempo.recipe[1:3]] == ["{ link.link.attempt = 3 }",
                                                         '{ link.link.reason = "batch_origin" }']
    wait = tempo.recipe[-1]
    assert wait.label == "wait" and "12.3 s" in wait.text


def test_storages_of_one_backend_share_its_column_and_are_said_where_they_differ() -> None:
    stored = "Jaeger on {} storage keeps a link's target but not its attributes or flags (they reached it intact)."
    titles = {"jaeger": "Jaeger", "jaeger-badger": "Jaeger-Badger", "jaeger-opensearch": "Jaeger-OpenSearch",
              "jaeger-elasticsearch": "Jaeger-Elasticsearch"}
    columns = [{"backend": b, "read_path": "api_v3", "label": f"{t} /api/v3", "cannot_carry": []}
               for b, t in titles.items()]
    lost = differ("missing")
    doc = document([
        cell("cross-trace-attributes", "link.attribute.string", "jaeger/api_v3", "preserved"),
        cell("cross-trace-attributes", "link.attribute.string", "jaeger-badger/api_v3", "lost", "backend",
             meaning=stored.format("Badger"), evidence=lost),
        cell("cross-trace-attributes", "link.attribute.string", "jaeger-opensearch/api_v3", "lost", "backend",
             meaning=stored.format("OpenSearch"), evidence=lost),
        cell("cross-trace-attributes", "link.attribute.string", "jaeger-elasticsearch/api_v3", "preserved"),
    ], columns=columns)
    card = scorecard(Cells(doc))
    assert card["backends"] == ["jaeger"] and "Badger, OpenSearch, Elasticsearch" in card["titles"][0]
    jaeger = next(r for r in card["rows"] if r["id"] == "attribute_types")["answers"][0]
    assert (jaeger.mark, jaeger.scope) == (YES, "in memory")
    assert [(line.label, line.mark, line.text) for line in jaeger.storages] == [
        ("on Badger, OpenSearch", NO,
         "Jaeger on Badger/OpenSearch storage keeps a link's target but not its attributes or flags"),
        ("on Elasticsearch", YES, "the same")]
    assert jaeger.storages[0].cell == 1
    assert "on Badger, OpenSearch:* [❌]" in render_markdown(doc)


def test_a_finding_that_sets_a_mark_comes_before_a_larger_one_that_does_not() -> None:
    flags = [cell(f"s{i}", "link.flags", "tempo/api_v1_settled", "degraded", "backend", meaning="Tempo flags")
             for i in range(8)]
    doc = document([
        *flags,
        cell("cross-trace-attributes", "render.target_navigable", "zipkin/lens", "lost", "render",
             meaning="Lens has no link"),
        cell("cross-trace-attributes", "render.target_navigable", "jaeger/ui", "preserved"),
        *[cell(f"s{i}", "link.flags", "jaeger/api_v3", "degraded", "wire", meaning="exporter") for i in range(8)],
    ], columns=[*COLUMNS, JAEGER_UI])
    assert [f["meaning"] for f in findings(Cells(doc))] == ["Lens has no link", "Tempo flags", "exporter"]


def test_every_representative_scenario_is_a_shipped_scenario() -> None:
    shipped = {path.stem for path in Path(__file__).parents[2].joinpath("scenarios").glob("*.yaml")}
    assert {question.id for question in QUESTIONS} == set(REPRESENTATIVE_SCENARIOS)
    named = {name for names in REPRESENTATIVE_SCENARIOS.values() for name in names}
    assert named <= shipped, named - shipped


def _deployed() -> dict[str, Any]:
    """A run as a person choosing would read it: a UI that works but for an edge case, a search
    that works, one that does not, a UI not rendered, and storages that differ."""
    doc = document([
        cell("cross-trace-attributes", "render.link_shown", "jaeger/ui", "preserved"),
        cell("cross-trace-attributes", "render.target_identified", "jaeger/ui", "preserved"),
        cell("cross-trace-attributes", "render.target_navigable", "jaeger/ui", "preserved"),
        cell("invalid-context-links", "render.target_navigable", "jaeger/ui", "lost", "sdk",
             changed_at=["sdk", "backend"], evidence=ZERO_TARGET, meaning="The SDK changed these links."),
        cell("cross-trace-attributes", "render.link_shown", "tempo/api_v1_settled", "n/a",
             reason="Grafana (Tempo's UI) is not rendered: Grafana was not run here"),
        cell("cross-trace-attributes", "render.target_navigable", "zipkin/lens", "lost", "render",
             meaning="Zipkin Lens shows the link, but nothing on the page leads to the linked span."),
        cell("search-by-link", "search.link_attribute", "tempo/search", "preserved",
             evidence={"received": {"{ link.link.attempt = 3 }": "found"}}),
        cell("search-by-link", "search.link_trace_id", "tempo/search", "preserved",
             evidence={"received": {'{ link:traceID = "0af7651916cd43dd8448eb211c80319c" }': "found"}}),
        cell("search-by-link", "search.link_attribute", "jaeger/search", "lost", "backend",
             meaning="Jaeger search cannot find spans by this link field."),
        cell("search-by-link", "search.link_trace_id", "jaeger/search", "n/a", reason="Jaeger has no such query: x"),
        cell("link-count-over-default-limit", "span.dropped_links_count", "jaeger/api_v3", "preserved"),
        cell("thousand-links", "link.present", "zipkin/api_v2", "preserved", evidence={"sent": {"a": 1000}}),
        cell("cross-trace-attributes", "link.attribute.double", "zipkin/api_v2", "degraded", "collector",
             hops={"collector": "degraded"}, meaning="The collector's exporter for Zipkin changes the type.",
             evidence=differ("type_changed")),
        cell("cross-trace-attributes", "link.attribute.double", "jaeger/api_v3", "preserved",
             hops={"collector": "preserved"}),
    ], columns=[*COLUMNS, JAEGER_UI, {"backend": "tempo", "read_path": "grafana", "label": "Grafana",
                                      "cannot_carry": []}])
    doc["run"]["stage_detail"] = {"indexing": {"tempo/search": 8.5}}
    doc["features"] = [{"id": f, "title": f, "question": "?"} for f in dict.fromkeys(c["feature"] for c in doc["cells"])]
    return doc


def _markdown_row(markdown: str, question: str) -> list[str]:
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {question}"))
    return [part.strip() for part in re.split(r"(?<!\\)\|", line)[2:-1]]


def test_each_answer_is_in_one_table_cell_with_its_mark_recipe_caveats_and_cells() -> None:
    doc = _deployed()
    markdown = render_markdown(doc)
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', markdown))
    card = scorecard(Cells(doc))
    assert "What worked, to copy" not in markdown  # the recipes live in the answers, not in a box of their own
    for row in card["rows"]:
        cells = _markdown_row(markdown, row["question"])
        assert len(cells) == len(card["backends"])
        for answer, text in zip(row["answers"], cells, strict=True):
            if answer is None:
                assert text == "— not in this run"
                continue
            mark = "*not measured*" if answer.mark == UNMEASURED else answer.mark
            assert text.startswith((mark, f"[{mark}]")), (row["id"], text)
            assert set(re.findall(r"\]\(#([^)]+)\)", text)) <= anchors
            if answer.cells:
                assert text.startswith(f"[{mark}](#"), text  # the mark links to the cells behind it
            for line in (*answer.recipe, *answer.exceptions, *answer.parts, *answer.storages):
                assert (line.code or line.text)[:30].replace("|", "\\|") in text.replace("&lt;", "<").replace("&gt;", ">"), line
    tempo = dict(zip(card["backends"], _markdown_row(markdown, "Can I search by link attribute?"), strict=True))["tempo"]
    assert '`{ link.<your key> = "…" }`' in tempo and "*wait:*" in tempo and "8.5 s" in tempo
    jaeger = dict(zip(card["backends"], _markdown_row(markdown, "Can I click through to the linked span?"),
                      strict=True))["jaeger"]
    assert "*click path:*" in jaeger and "*except:* Jaeger removes every link whose trace id is all zeros" in jaeger
    grafana = dict(zip(card["backends"], _markdown_row(markdown, "Are link targets visible in the UI?"),
                       strict=True))["tempo"]
    assert grafana.startswith("*not measured*:") and "*to measure:* Grafana in the run" in grafana


def test_the_html_answers_carry_drawn_marks_and_open_the_cells_behind_them() -> None:
    page = render_html(_deployed())
    table = page[page.index('<table id="decide">'):page.index("</table>", page.index('<table id="decide">'))]
    ids = set(re.findall(r'id="(c\d+)"', page))
    # no emoji anywhere: a machine without an emoji font would show empty boxes
    assert not re.search("[\u2600-\u27bf\U0001f000-\U0001faff]", page)
    for row in table.split("<tr>")[2:]:
        for answer in row.split("<td>")[2:]:
            if "not in this run" in answer:
                continue
            assert re.search(r'<span class="mark (yes|partly|no|unmeasured)">', answer), answer
            assert set(re.findall(r'href="#(c\d+)"', answer)) <= ids
    assert "<svg" in table and '{ link.&lt;your key&gt; = "…" }' in table.replace("&#34;", '"')


def test_search_completeness_row_gives_the_limits_that_found_all_and_what_the_defaults_returned() -> None:
    received = {'{ link.batch.id = "b" } with the API\'s defaults': "20 of 150",
                '{ link.batch.id = "b" } with limit=310&spss=100': "found"}
    doc = document([
        cell("search-every-match", "search.link_attribute_all", "tempo/search", "preserved",
             evidence={"received": received}),
        cell("search-every-match", "search.link_attribute_all", "jaeger/search", "lost", "backend",
             meaning="Jaeger search cannot find spans by this link field."),
    ])
    tempo = answers(doc, "search_all")["tempo"].plain
    assert '`{ link.<your key> = "…" } with limit=310&spss=100`' in tempo
    assert "fewer this run: `{ link.batch.id = \"b\" } with the API's defaults` — 20 of 150" in tempo
    assert answers(doc, "search_all")["jaeger"].mark == "❌"


def test_a_link_shape_a_ui_cannot_draw_marks_it_in_plain_words() -> None:
    from harness.judge import meaning

    blank = cell("root-links-own-child", "render.trace_shown", "jaeger/ui", "lost", "render",
                 evidence={"difference": [{"kind": "not_drawn", "note": "not drawn: the page is blank: its script "
                                                                         "threw TypeError: x"}],
                           "link_shapes": ["a root span that links its own child"]})
    blank["meaning"] = meaning(blank, "Jaeger UI", {})
    doc = document([blank, *(cell(s, "render.trace_shown", "jaeger/ui", "preserved")
                             for s in ("fan-out", "same-trace-link", "span-links-itself")),
                    *(cell(s, "render.trace_shown", "zipkin/lens", "preserved")
                      for s in ("fan-out", "root-links-own-child", "span-links-itself"))],
                   columns=[*COLUMNS, JAEGER_UI])
    drawn = answers(doc, "ui_drawn")
    assert drawn["jaeger"].mark == PARTLY
    assert drawn["jaeger"].caveat.startswith("A root span that links its own child makes the trace page blank in "
                                             "Jaeger UI — 1 of 4 scenarios, e.g. root-links-own-child")
    assert drawn["zipkin"].mark == YES
    card = scorecard(Cells(doc))
    row = next(r for r in card["rows"] if r["id"] == "ui_drawn")
    assert row["marked_by"] == ("ordinary valid links (2 scenarios) and the link shapes root-links-own-child, "
                                "span-links-itself")
