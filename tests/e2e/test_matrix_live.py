"""Verdicts measured on the real stack. Each assertion is a claim about a real backend that a
release of it (or of the SDK, or of the collector) could break."""

from __future__ import annotations

import json
import math
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest

from harness.backends import BACKENDS
from harness.backends.jaeger._release import JAEGER
from harness.judge._hops import cell_for
from harness.model import RunResult
from harness.model import _jsonio as jsonio
from harness.model._columns import TraceReadPath
from harness.model._handoff import Emission
from harness.model._spans import Link, Span
from harness.report import to_document, validate, write
from harness.run._matrix import RunSettings, run_matrix
from harness.scenario._scenario import load_all
from harness.stack._http import Http
from harness.stack.runtime._base import ServiceSpec

from .conftest import ROOT, processes_in

COLUMNS = [("jaeger", "api_v3"), ("jaeger", "api_traces"), ("zipkin", "api_v2")]


def cell(document: dict[str, Any], scenario: str, feature: str, backend: str, read_path: str,
         pipeline: str = "collector") -> dict[str, Any]:
    matches = [c for c in document["cells"] if (c["scenario"], c["feature"], c["backend"], c["read_path"],
                                                c["pipeline"]) == (scenario, feature, backend, read_path, pipeline)]
    assert len(matches) == 1, f"no single cell for {scenario}/{feature}/{backend}/{read_path}/{pipeline}"
    return matches[0]


def _value(typed: dict[str, Any]) -> Any:
    (kind, value), = typed.items()
    number = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
    items = [number.get(item, item) if kind in ("double", "double_array", "mixed_array") else item
             for item in (value if isinstance(value, list) else [value])]
    return tuple(items) if isinstance(value, list) else items[0]


def _span(record: dict[str, Any]) -> Span:
    return Span(record["trace_id"], record["span_id"], record["name"], record["parent_span_id"],
                tuple(Link(link["trace_id"], link["span_id"], link["trace_state"],
                           {key: _value(value) for key, value in link["attributes"].items()},
                           link["dropped_attributes_count"], link["flags"]) for link in record["links"]),
                record["dropped_links_count"])


class RecordedHttp(Http):
    """Answers every trace read with the answer the run kept on disk for that trace id."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> tuple[int, Any]:
        answer = self.folder / f"{url.rstrip('/').rsplit('/', 1)[-1]}.json"
        return (200, jsonio.loads(answer.read_text())) if answer.exists() else (404, None)


def test_every_cell_comes_from_a_real_read(document: dict[str, Any], shipped_run: RunResult) -> None:
    """Each trace-read cell is judged again from nothing but the answers the backends gave (kept
    in raw/) and what was sent (sent.json): the same verdict must come out."""
    sent = json.loads((shipped_run.run_dir / "sent.json").read_text())
    paths = {(path.backend, path.name): path for path in shipped_run.columns if isinstance(path, TraceReadPath)}
    replayed = 0
    for record in sent["emissions"]:
        labels = {tuple(key.split("/")): label for key, label in record["labels"].items()}
        emission = Emission(record["scenario"], sent["run_id"], record["pipeline"],
                            [_span(s) for s in record["requested"]], [_span(s) for s in record["sdk"]], labels)
        for (backend, name), path in paths.items():
            mine = [c for c in document["cells"] if (c["scenario"], c["pipeline"], c["backend"], c["read_path"])
                    == (emission.scenario, emission.pipeline, backend, name) and c["verdict"] not in ("n/a", "error")]
            if not mine:
                continue
            folder = shipped_run.run_dir / "raw" / backend / name
            traces = {s.trace_id for s in emission.sdk}
            assert all((folder / f"{trace_id}.json").exists() for trace_id in traces), (emission.scenario, name)
            spans = [span for trace_id in traces for span in path.read(RecordedHttp(folder), "", trace_id).spans]
            for judged in mine:
                again = cell_for(emission, judged["feature"], path, {}, spans)
                assert again.verdict == judged["verdict"], (emission.scenario, judged["feature"], backend, name)
                replayed += 1
    judged = [c for c in document["cells"] if (c["backend"], c["read_path"]) in paths
              and c["verdict"] not in ("n/a", "error")]
    assert replayed == len(judged) > 0  # every judged trace-read cell, none left out
    assert document["run"]["problems"] == []
    expected = set(COLUMNS) | {("jaeger", "search"), ("zipkin", "search"), ("zipkin", "lens")}
    # Tempo's columns are there exactly when a Tempo was given to this test run, and said skipped otherwise.
    if BACKENDS["tempo"].unavailable("local") is None:
        expected |= {("tempo", "api_v1"), ("tempo", "api_v2"), ("tempo", "api_v1_settled"), ("tempo", "api_v2_settled"),
                     ("tempo", "search"), ("tempo", "grafana")}
    else:
        assert "tempo" in document["run"]["skipped"], document["run"]["skipped"]
    assert {(c["backend"], c["read_path"]) for c in document["cells"]} == expected
    assert not [c for c in document["cells"] if c["verdict"] == "error"]
    assert len({c["scenario"] for c in document["cells"]}) >= 19


def test_search_is_measured_with_a_working_search(document: dict[str, Any]) -> None:
    """Neither Jaeger's tag search nor Zipkin's annotationQuery finds a link attribute, while the
    same API finds the span by a resource attribute (the control query); link targets cannot be
    expressed at all."""
    for backend in ("jaeger", "zipkin"):
        attribute = cell(document, "search-by-link", "search.link_attribute", backend, "search")
        assert (attribute["verdict"], attribute["hop"]) == ("lost", "backend")
        assert attribute["summary"] == "0 of 3 queries found the linking span"
        by_trace = cell(document, "search-by-link", "search.link_trace_id", backend, "search")
        assert by_trace["verdict"] == "n/a" and "has no such query" in by_trace["reason"]


def test_report_is_valid_and_names_every_version(document: dict[str, Any], shipped_run: RunResult) -> None:
    validate(document)
    versions = document["run"]["versions"]
    assert versions["jaeger"] == JAEGER.version
    assert versions["zipkin"].startswith("3.")
    assert versions["collector"] == "0.161.0"
    assert versions["opentelemetry-sdk"] == "1.45.2"
    stages = document["run"]["stages"]
    for stage in ("startup", "emit", "render", "check"):  # each took time, and less than the run
        assert 0 < stages[stage] < stages["wall"], (stage, stages)
    assert stages["read"] > 0  # the sum of every read path's reads, which run side by side: it may pass the wall
    assert 0 <= stages["visibility"] < stages["wall"]
    run_dir = shipped_run.run_dir
    assert (run_dir / "matrix.md").read_text().count("|") > 50
    assert (run_dir.parent / "latest").resolve() == run_dir.resolve()
    for service in ("collector", "jaeger", "zipkin"):
        assert (run_dir / "logs" / f"{service}.log").stat().st_size > 0


@pytest.mark.parametrize("backend, read_path", COLUMNS)
@pytest.mark.parametrize("scenario", ["cross-trace-attributes", "same-trace-link", "fan-in-via-headers", "fan-out",
                                      "messaging-batch", "add-link-after-start", "dangling-link",
                                      "unsampled-target", "thousand-links", "root-and-child-links"])
def test_links_and_their_targets_survive_everywhere(document: dict[str, Any], scenario: str, backend: str,
                                                     read_path: str) -> None:
    for feature in ("link.present", "link.target_ids"):
        assert cell(document, scenario, feature, backend, read_path)["verdict"] == "preserved"


@pytest.mark.parametrize("kind", ["string", "int", "double", "bool", "string_array"])
def test_typed_link_attributes_survive_api_v3_and_zipkin_tags_but_not_the_ui_model(document: dict[str, Any],
                                                                                   kind: str) -> None:
    feature = f"link.attribute.{kind}"
    assert cell(document, "cross-trace-attributes", feature, "jaeger", "api_v3")["verdict"] == "preserved"
    ui_model = cell(document, "cross-trace-attributes", feature, "jaeger", "api_traces")
    assert ui_model["verdict"] == "n/a" and "cannot carry link attributes" in ui_model["reason"]
    # Zipkin has no link field: the values travel JSON-encoded inside the otlp.link.<i> tag.
    zipkin = cell(document, "cross-trace-attributes", feature, "zipkin", "api_v2")
    # ... where a whole double (2.0) is written as 2 by the collector's exporter: the one change.
    expected = ("degraded", "collector") if kind == "double" else ("preserved", None)
    assert (zipkin["verdict"], zipkin.get("hop")) == expected


def test_zipkin_tags_turn_a_whole_double_into_an_int_in_the_collector(document: dict[str, Any]) -> None:
    """1.5 survives the JSON in the otlp.link.<i> tag; 2.0 is written as 2 by the collector's
    zipkin exporter, and the egress tap shows it happened there, not in Zipkin."""
    double = cell(document, "cross-trace-attributes", "link.attribute.double", "zipkin", "api_v2")
    assert (double["verdict"], double["changed_at"]) == ("degraded", ["collector"])
    (difference,) = double["evidence"]["difference"]
    assert difference["path"].endswith("attributes[link.whole_float]")
    assert (difference["expected"], difference["actual"], difference["note"]) == ({"double": 2.0}, {"int": 2},
                                                                                  "type double → int")
    assert "exporter for Zipkin" in double["meaning"]


def test_trace_state_is_lost_on_the_wire_not_in_a_backend(document: dict[str, Any]) -> None:
    """opentelemetry-exporter-otlp-proto-grpc 1.45.2 does not encode Link.trace_state."""
    for backend, read_path in [("jaeger", "api_v3"), ("zipkin", "api_v2")]:
        trace_state = cell(document, "cross-trace-attributes", "link.trace_state", backend, read_path)
        assert (trace_state["verdict"], trace_state["hop"]) == ("lost", "wire")
        assert trace_state["hops"]["sdk"] == "preserved"
    assert cell(document, "cross-trace-attributes", "link.trace_state", "jaeger", "api_traces")["verdict"] == "n/a"


def test_sampled_flag_bit_is_dropped_by_the_exporter(document: dict[str, Any]) -> None:
    flags = cell(document, "cross-trace-attributes", "link.flags", "jaeger", "api_v3")
    assert (flags["verdict"], flags["hop"]) == ("degraded", "wire")
    assert "sampled" in flags["summary"]
    assert cell(document, "cross-trace-attributes", "link.flags", "zipkin", "api_v2")["verdict"] == "n/a"


def test_fan_in_keeps_three_links_in_order_from_extracted_contexts(document: dict[str, Any],
                                                                   shipped_run: RunResult) -> None:
    present = cell(document, "fan-in-via-headers", "link.present", "jaeger", "api_v3")
    assert present["evidence"]["received"] == {"consumer.consume-batch": 3}
    for backend, read_path in COLUMNS:
        assert cell(document, "fan-in-via-headers", "link.order", backend, read_path)["verdict"] == "preserved"
    # The contexts really travelled in headers: the SDK marked the links remote.
    sdk_flags = cell(document, "fan-in-via-headers", "link.flags", "jaeger", "api_v3")["evidence"]["sent"]
    assert all("is-remote" in bits for bits in sdk_flags.values())
    sent = (shipped_run.run_dir / "sent.json").read_text()
    assert "traceparent" in sent


def test_the_sdk_keeps_the_newest_128_links_and_says_how_many_it_dropped(document: dict[str, Any]) -> None:
    for backend, read_path in COLUMNS:
        present = cell(document, "link-count-over-default-limit", "link.present", backend, read_path)
        assert (present["verdict"], present["changed_at"]) == ("degraded", ["sdk"])
        assert present["evidence"]["received"] == {"consumer.consume-200": 128}
        note = present["evidence"]["difference"][0]["note"]
        if read_path == "api_traces":  # no attributes there: the 200 links to one span look alike
            assert note.startswith("72 links missing; which ones cannot be told here")
        else:
            assert note == "missing: links[0..71]"  # the SDK drops the oldest
        assert cell(document, "link-count-over-default-limit", "link.order", backend, read_path)["verdict"] == "preserved"
    dropped = cell(document, "link-count-over-default-limit", "span.dropped_links_count", "jaeger", "api_v3")
    assert dropped["verdict"] == "preserved" and dropped["evidence"]["sent"] == {"consumer.consume-200": 72}
    assert cell(document, "link-count-over-default-limit", "span.dropped_links_count", "zipkin", "api_v2")["verdict"] == "n/a"
    for backend, read_path in COLUMNS:  # the limit raised through the environment: everything arrives
        assert cell(document, "link-count-limit-raised-by-env", "link.present", backend, read_path)["verdict"] == "preserved"


def test_link_attribute_limit_keeps_the_newest_and_the_count_survives(document: dict[str, Any]) -> None:
    attributes = cell(document, "link-attributes-over-env-limit", "link.attribute.int", "jaeger", "api_v3")
    assert (attributes["verdict"], attributes["hop"]) == ("degraded", "sdk")
    missing = {d["path"].rsplit("[", 1)[-1].rstrip("]") for d in attributes["evidence"]["difference"]}
    assert missing == {"a", "b"}
    for backend, read_path in [("jaeger", "api_v3"), ("zipkin", "api_v2")]:
        dropped = cell(document, "link-attributes-over-env-limit", "link.dropped_attributes_count", backend, read_path)
        assert dropped["verdict"] == "preserved"
        assert list(dropped["evidence"]["sent"].values()) == [2]


def test_invalid_context_links(document: dict[str, Any]) -> None:
    """The SDK drops the bare one and keeps the two that carry data; Jaeger then removes both."""
    zipkin = cell(document, "invalid-context-links", "link.present", "zipkin", "api_v2")
    assert (zipkin["verdict"], zipkin["changed_at"]) == ("degraded", ["sdk"])
    assert zipkin["evidence"]["received"] == {"job.run-job": 2}
    jaeger = cell(document, "invalid-context-links", "link.present", "jaeger", "api_v3")
    assert (jaeger["verdict"], jaeger["changed_at"]) == ("lost", ["sdk", "backend"])
    assert jaeger["evidence"]["backend_warnings"] == {"job.run-job": ["Invalid span link removed"]}


def test_a_link_to_the_parent_costs_the_ui_model_its_parent(document: dict[str, Any]) -> None:
    ui = cell(document, "root-and-child-links", "span.parent_kept", "jaeger", "api_traces")
    assert (ui["verdict"], ui["hop"]) == ("lost", "backend")
    assert cell(document, "root-and-child-links", "span.parent_kept", "jaeger", "api_v3")["verdict"] == "preserved"
    assert cell(document, "root-and-child-links", "span.parent_kept", "zipkin", "api_v2")["verdict"] == "preserved"


def test_long_values_and_a_thousand_links_survive(document: dict[str, Any]) -> None:
    for backend, read_path in [("jaeger", "api_v3"), ("zipkin", "api_v2")]:
        assert cell(document, "long-link-attribute", "link.attribute.string", backend, read_path)["verdict"] == "preserved"
    for backend, read_path in COLUMNS:
        present = cell(document, "thousand-links", "link.present", backend, read_path)
        assert present["verdict"] == "preserved" and present["evidence"]["received"] == {"consumer.consume-1000": 1000}


def test_direct_pipeline_skips_the_collector_and_cannot_reach_zipkin(document: dict[str, Any]) -> None:
    direct = cell(document, "cross-trace-attributes", "link.attribute.int", "jaeger", "api_v3", pipeline="direct")
    assert direct["verdict"] == "preserved" and "collector" not in direct["hops"]
    zipkin = cell(document, "cross-trace-attributes", "link.present", "zipkin", "api_v2", pipeline="direct")
    assert zipkin["verdict"] == "n/a" and "no OTLP receiver" in zipkin["reason"]
    trace_state = cell(document, "cross-trace-attributes", "link.trace_state", "jaeger", "api_v3", pipeline="direct")
    assert (trace_state["verdict"], trace_state["hop"]) == ("lost", "wire")


def test_unsampled_target_keeps_its_not_sampled_flags(document: dict[str, Any]) -> None:
    flags = cell(document, "unsampled-target", "link.flags", "jaeger", "api_v3")
    assert flags["verdict"] == "preserved"
    assert list(flags["evidence"]["received"].values()) == [["has-is-remote", "is-remote"]]


def test_raw_answers_are_kept_as_evidence(shipped_run: RunResult) -> None:
    for backend, read_path in COLUMNS:
        assert list((shipped_run.run_dir / "raw" / backend / read_path).glob("*.json"))


def test_no_service_is_left_after_a_run(shipped_run: RunResult) -> None:
    assert processes_in(shipped_run.run_dir) == []


class _ZipkinThatCannotStart(type(BACKENDS["zipkin"])):  # type: ignore[misc]
    def service(self, binary: Path | None, ports: dict[str, int], listen: str = "127.0.0.1",
                data_dir: str | None = None) -> ServiceSpec:
        real = super().service(binary, ports, listen)
        return ServiceSpec(real.name, (sys.executable, "-c", "print('cannot open storage'); raise SystemExit(3)"),
                           real.readiness, real.ports)


def test_a_backend_that_fails_costs_only_its_own_columns(binaries: dict[str, Path], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "zipkin", _ZipkinThatCannotStart())
    scenarios = load_all([ROOT / "scenarios" / "fan-in-via-headers.yaml"])
    result = run_matrix(RunSettings(scenarios=scenarios, reports_dir=tmp_path, runtime="local"),
                        notify=lambda m: None)
    write(result, tmp_path)
    document = to_document(result)
    zipkin = [c for c in document["cells"] if c["backend"] == "zipkin"]
    jaeger = [c for c in document["cells"] if c["backend"] == "jaeger"]
    # Declared gaps stay n/a (a fact about the read path); everything measured is an error.
    assert zipkin and {c["verdict"] for c in zipkin} == {"error", "n/a"}
    failed = next(c for c in zipkin if c["verdict"] == "error")
    assert "Zipkin did not start" in failed["reason"] and "cannot open storage" in failed["reason"]
    assert jaeger and all(c["verdict"] != "error" for c in jaeger)
    assert cell(document, "fan-in-via-headers", "link.present", "jaeger", "api_v3")["verdict"] == "preserved"
    assert any("Zipkin did not start" in problem for problem in document["run"]["problems"])
    assert (tmp_path / "latest" / "matrix.md").exists()
    assert processes_in(tmp_path) == []


def test_zipkin_lens_shows_links_as_raw_tags_with_nothing_to_click(document: dict[str, Any],
                                                                    shipped_run: RunResult) -> None:
    """Rendered live in headless Chromium from the Lens inside the pinned jar; one screenshot per trace."""
    lens = [c for c in document["cells"] if (c["backend"], c["read_path"]) == ("zipkin", "lens")]
    assert lens and not [c for c in lens if c["verdict"] == "error"]
    for scenario in ("cross-trace-attributes", "fan-in-via-headers", "same-trace-link"):
        assert cell(document, scenario, "render.link_shown", "zipkin", "lens")["verdict"] == "preserved"
        assert cell(document, scenario, "render.target_identified", "zipkin", "lens")["verdict"] == "preserved"
        nothing_to_click = cell(document, scenario, "render.target_navigable", "zipkin", "lens")
        assert (nothing_to_click["verdict"], nothing_to_click["hop"]) == ("lost", "render")
    shown = cell(document, "cross-trace-attributes", "render.attributes_shown", "zipkin", "lens")
    assert shown["verdict"] == "preserved"  # as JSON text inside the tag
    for screenshot in shown["evidence"]["screenshots"]:
        assert (shipped_run.run_dir / screenshot).read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG
    # The Jaeger built from the Go module proxy serves a placeholder: its UI column says why it is not there.
    assert "placeholder page" in document["run"]["skipped"]["jaeger/ui"]
    assert document["run"]["stages"]["render"] < 30


def test_ci_files_have_a_test_case_per_cell_and_fail_only_what_a_scenario_expects(shipped_run: RunResult) -> None:
    root = ElementTree.parse(shipped_run.run_dir / "junit.xml").getroot()
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(shipped_run.cells)
    failed = [case for case in cases if case.find("failure") is not None]
    assert failed == []  # same-trace-link expects its links intact, and they are
    expecting = root.find("./testsuite[@name='same-trace-link (collector)']")
    assert expecting is not None and int(expecting.get("tests", "0")) > 0
    summary = (shipped_run.run_dir / "summary.md").read_text()
    assert summary.startswith(f"### linkmatrix `{shipped_run.run_id}`") and "**Findings**" in summary
