"""matrix.json follows its schema and a stable order; matrix.md links every finding to its evidence."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from harness.backends import BACKENDS
from harness.model import RunResult
from harness.model._handoff import Cell
from harness.report import to_document, validate, write
from harness.scenario._scenario import load_all

ROOT = Path(__file__).resolve().parents[2]


def result(tmp_path: Path) -> RunResult:
    scenarios = load_all([ROOT / "scenarios" / "cross-trace-attributes.yaml", ROOT / "scenarios" / "fan-out.yaml"])
    run = RunResult(run_id="20261125T000000Z-abcdef", run_dir=tmp_path / "20261125T000000Z-abcdef",
                    started="2026-11-25T00:00:00+00:00", ended="2026-11-25T00:00:09+00:00",
                    stages={"startup": 4.5, "emit": 0.1, "visibility": 0.5, "read": 0.1},
                    versions={"linkmatrix": "0.1.0", "opentelemetry-sdk": "1.45.2",
                              "opentelemetry-exporter-otlp-proto-grpc": "1.45.2", "collector": "0.161.0"},
                    scenarios=scenarios,
                    columns=[path for backend in BACKENDS.values() for path in backend.read_paths])
    lost = Cell(scenarios[0].name, "link.trace_state", "zipkin", "api_v2", "collector", "lost", hop="wire",
                summary="0 of 1 trace_states kept, 1 missing",
                evidence={"sent": {"x": "a=b"}, "received": {"x": ""},
                          "difference": [{"path": "spans[a.b].links[0].trace_state", "expected": "a=b",
                                          "actual": "", "note": "missing"}]},
                hops={"sdk": "preserved", "wire": "lost"}, changed_at=["wire", "backend"])
    lost.evidence["backend_warnings"] = {"a.b": ["clock skew adjusted"]}
    kept = Cell(scenarios[0].name, "link.present", "jaeger", "api_v3", "collector", "preserved")
    gap = Cell(scenarios[0].name, "link.trace_state", "jaeger", "api_traces", "collector", "n/a",
               reason="cannot carry link trace_state")
    run.cells = [lost, gap, kept]  # out of order on purpose
    return run


def test_document_is_valid_and_ordered(tmp_path: Path) -> None:
    document = to_document(result(tmp_path))
    validate(document)
    assert [(c["feature"], c["backend"], c["read_path"]) for c in document["cells"]] == [
        ("link.present", "jaeger", "api_v3"), ("link.trace_state", "jaeger", "api_traces"),
        ("link.trace_state", "zipkin", "api_v2")]
    assert document["schema_version"] == 1


def test_schema_rejects_a_loss_without_its_hop(tmp_path: Path) -> None:
    document = to_document(result(tmp_path))
    del document["cells"][2]["hop"]
    with pytest.raises(jsonschema.ValidationError):
        validate(document)


def test_write_creates_reports_and_latest(tmp_path: Path) -> None:
    run = result(tmp_path)
    run.run_dir.mkdir()
    paths = write(run, tmp_path)
    assert (tmp_path / "latest").resolve() == run.run_dir.resolve()
    assert json.loads(paths["json"].read_text())["run"]["id"] == run.run_id
    markdown = paths["markdown"].read_text()
    assert "### <a id=\"t-link.trace_state\"></a>trace_state\n\nDoes each link keep its W3C trace_state? (`link.trace_state`)" in markdown
    assert "| scenario | Jaeger UI model /api/traces | Zipkin /api/v2 |" in markdown  # only columns with cells
    assert "| cross-trace-attributes | ➖ n/a | [❌ lost · wire + backend](#d1) |" in markdown
    assert "## Findings" in markdown and "trace_state: it never leaves your process" in markdown
    assert "changed at `wire`, then `backend`" in markdown
    assert "Backend warnings: `a.b`: clock skew adjusted" in markdown
    assert '<a id="d1"></a>' in markdown and "`spans[a.b].links[0].trace_state`" in markdown
    assert "Per hop: sdk preserved → wire lost" in markdown
    # A second run moves `latest`.
    second = result(tmp_path)
    second.run_id, second.run_dir = "20261125T000100Z-fedcba", tmp_path / "20261125T000100Z-fedcba"
    second.run_dir.mkdir()
    write(second, tmp_path)
    assert (tmp_path / "latest").resolve() == second.run_dir.resolve()


def test_between_versions_sets_changed_cells_of_one_family_side_by_side() -> None:
    from harness.report import between_versions

    def cell(backend: str, verdict: str, feature: str = "link.present", hop: str | None = None) -> dict:
        return {"scenario": "s", "pipeline": "collector", "feature": feature, "backend": backend,
                "read_path": "api_v2", "verdict": verdict, **({"hop": hop} if hop else {})}

    cells = [cell("zipkin", "preserved"), cell("zipkin-2.27.0", "lost", hop="backend"),
             cell("zipkin", "preserved", "link.order"), cell("zipkin-2.27.0", "preserved", "link.order"),
             cell("jaeger", "preserved")]  # one release of jaeger only: nothing to compare
    (changed,) = between_versions(cells, {"zipkin": "3.6.1", "zipkin-2.27.0": "2.27.0"})
    assert (changed["family"], changed["feature"]) == ("zipkin", "link.present")
    assert [(r["backend"], r["version"], r["verdict"], r["hop"]) for r in changed["releases"]] == [
        ("zipkin", "3.6.1", "preserved", ""), ("zipkin-2.27.0", "2.27.0", "lost", "backend")]


def test_an_earlier_sdk_release_is_compared_by_pipeline_with_this_runs_sdk() -> None:
    from harness.report import between_versions, releases_compared

    def cell(pipeline: str, verdict: str, backend: str = "jaeger", hop: str | None = None) -> dict:
        return {"scenario": "s", "pipeline": pipeline, "feature": "link.present", "backend": backend,
                "read_path": "api_v3", "verdict": verdict, **({"hop": hop} if hop else {})}

    cells = [cell("collector", "preserved"), cell("python-sdk-1.22.0", "lost", hop="sdk"),
             cell("sdk-zipkin", "lost", "zipkin", hop="wire"), cell("sdk-zipkin", "n/a")]
    assert releases_compared({"jaeger", "zipkin"}, {"collector", "python-sdk-1.22.0", "sdk-zipkin"}) == {
        "opentelemetry-sdk": ["collector", "python-sdk-1.22.0"]}
    versions = {"opentelemetry-sdk": "1.45.2", "opentelemetry-sdk (python-sdk-1.22.0)": "1.22.0"}
    (changed,) = between_versions(cells, versions)
    assert changed["read_path"] == "jaeger/api_v3"
    assert [(r["version"], r["verdict"], r["hop"]) for r in changed["releases"]] == [
        ("opentelemetry-sdk 1.45.2", "preserved", ""), ("opentelemetry-sdk 1.22.0", "lost", "sdk")]


def test_an_earlier_collector_release_is_compared_by_pipeline_and_named_by_its_own_version() -> None:
    from harness.report import between_versions, releases_compared
    from harness.report.markdown import release_label

    def cell(pipeline: str, verdict: str, hop: str | None = None) -> dict:
        return {"scenario": "s", "pipeline": pipeline, "feature": "link.attribute.double", "backend": "zipkin",
                "read_path": "api_v2", "verdict": verdict, **({"hop": hop} if hop else {})}

    pipelines = {"collector", "collector-otlp-http", "otelcol-0.158.0", "python-sdk-1.22.0"}
    # A variant whose name begins with "collector-" is not a release.
    assert releases_compared({"zipkin"}, pipelines) == {
        "opentelemetry-sdk": ["collector", "python-sdk-1.22.0"],
        "opentelemetry-collector": ["collector", "otelcol-0.158.0"]}
    versions = {"collector": "0.161.0", "collector (otelcol-0.158.0)": "0.158.0"}
    (changed,) = between_versions([cell("collector", "degraded", "collector"), cell("otelcol-0.158.0", "preserved"),
                                   cell("collector-otlp-http", "lost", "collector")], versions)
    assert changed["family"] == "opentelemetry-collector"
    assert [(r["version"], r["verdict"]) for r in changed["releases"]] == [
        ("opentelemetry-collector 0.161.0", "degraded"), ("opentelemetry-collector 0.158.0", "preserved")]
    assert release_label("opentelemetry-collector", "otelcol-0.158.0", versions) == \
        "opentelemetry-collector 0.158.0 (pipeline `otelcol-0.158.0`)"
    assert release_label("zipkin", "zipkin-2.27.0", {"zipkin-2.27.0": "2.27.0"}) == "zipkin-2.27.0 2.27.0"


def test_an_earlier_collector_runs_each_chosen_variant_and_each_is_set_beside_its_own() -> None:
    from harness.report import between_versions
    from harness.stack import _variants as variants

    shipped = {v.name: v for v in variants.load(Path(__file__).parents[2] / "pipelines.yaml")}
    filtering = variants.collector_release("otelcol-linkmatrix@0.158.0", "0.158.0", shipped["filter-drop-named"])
    assert (filtering.name, filtering.processors, filtering.collector) == (
        "otelcol-0.158.0-filter-drop-named", shipped["filter-drop-named"].processors, "otelcol-linkmatrix@0.158.0")
    assert variants.released_from(filtering.name) == "filter-drop-named"
    assert variants.released_from("otelcol-0.158.0") == "collector"
    assert variants.released_from("collector-otlp-http") is None
    assert not variants.runs_on_release(shipped["agent-gateway"])  # its gateway would be a second process

    def cell(pipeline: str, verdict: str) -> dict:
        return {"scenario": "s", "pipeline": pipeline, "feature": "link.target_arrived", "backend": "jaeger",
                "read_path": "api_v3", "verdict": verdict}

    versions = {"collector": "0.161.0", "collector (otelcol-0.158.0)": "0.158.0",
                "collector (otelcol-0.158.0-filter-drop-named)": "0.158.0"}
    changed = between_versions([cell("collector", "preserved"), cell("otelcol-0.158.0", "preserved"),
                                cell("filter-drop-named", "lost"), cell("otelcol-0.158.0-filter-drop-named",
                                                                         "preserved")], versions)
    assert [(c["pipeline"], [(r["pipeline"], r["version"]) for r in c["releases"]]) for c in changed] == [
        ("filter-drop-named", [("filter-drop-named", "opentelemetry-collector 0.161.0"),
                               ("otelcol-0.158.0-filter-drop-named", "opentelemetry-collector 0.158.0")])]
