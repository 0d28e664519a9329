"""Pipeline variants on the real collector, Jaeger and Zipkin: every shipped variant is a config the
pinned collector accepts; a filter or a tail sampler that drops a link's target is a loss at the
collector hop, proven by the collector's own counts, on that variant only."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.model import RunResult
from harness.model._vocabulary import COLLECTOR, route_id
from harness.report import to_document, validate
from harness.run._matrix import RunSettings, run_matrix
from harness.scenario._scenario import load_all
from harness.stack import _collector as pipeline
from harness.stack import _variants as variants
from harness.stack.toolchain import _builds as toolchain

from .conftest import ROOT

SHIPPED = variants.load(ROOT / "pipelines.yaml")
DROPPING = ["filter-drop-named", "tail-sampling"]
SCENARIOS = [ROOT / "scenarios" / "filtered-link-target.yaml", ROOT / "scenarios" / "sampled-out-link-target.yaml"]


def test_every_shipped_variant_is_a_config_the_pinned_collector_accepts(binaries: dict[str, Path],
                                                                       tmp_path: Path) -> None:
    routes = [pipeline.Route(route_id("s", v.name), {"debug": {}}, v.processor_configs(route_id("s", v.name)),
                             v.may_drop) for v in SHIPPED]
    ports = {port: 20000 + i for i, port in enumerate((*pipeline.ports(r.name for r in routes), "metrics"))}
    config = pipeline.collector_config(ports, routes, None)
    (tmp_path / "collector.yaml").write_text(yaml.safe_dump(config))
    checked = subprocess.run([str(binaries[toolchain.COLLECTOR.name]), "validate", "--config", "collector.yaml"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr[-2000:]


def test_the_processor_kinds_pipelines_yaml_may_name_are_those_of_the_pinned_collector(
        binaries: dict[str, Path]) -> None:
    listed = subprocess.run([str(binaries[toolchain.COLLECTOR.name]), "components"], capture_output=True,
                            text=True, timeout=60)
    processors = {item["name"] for item in yaml.safe_load(listed.stdout)["processors"]}
    assert processors == set(variants.PROCESSOR_KINDS)


@pytest.fixture(scope="module")
def dropped(binaries: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    chosen = variants.select(SHIPPED, ",".join(DROPPING))
    settings = RunSettings(scenarios=load_all(SCENARIOS), reports_dir=tmp_path_factory.mktemp("variants"),
                           runtime="local", backends=["jaeger", "zipkin"], variants=chosen)
    return run_matrix(settings, notify=lambda message: None)


def cells(result: RunResult, feature: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(c["scenario"], c["pipeline"], f"{c['backend']}/{c['read_path']}"): c
            for c in to_document(result)["cells"] if c["feature"] == feature}


def test_a_dropped_link_target_is_lost_at_the_collector_on_the_dropping_variant_only(dropped: RunResult) -> None:
    document = to_document(dropped)
    validate(document)
    assert not dropped.problems
    assert document["run"]["pipelines"] == [COLLECTOR, *DROPPING]
    arrived = cells(dropped, "link.target_arrived")
    dropping = {"filtered-link-target": "filter-drop-named", "sampled-out-link-target": "tail-sampling"}
    for (scenario, pipeline_name, column), cell in arrived.items():
        if dropping[scenario] == pipeline_name:
            assert (cell["verdict"], cell["hop"]) == ("lost", "collector"), (scenario, column, cell)
            said = " ".join(cell["evidence"]["hop_messages"]["collector"])
            assert "its own count" in said and f"/{scenario}.{pipeline_name}" in said
            assert f"({pipeline_name} pipeline) dropped the span a link points at (collector processor" in cell["meaning"]
        else:
            assert cell["verdict"] == "preserved", (scenario, pipeline_name, column, cell)
    # The link itself is still there: it dangles, it is not lost.
    present = cells(dropped, "link.present")
    assert present[("filtered-link-target", "filter-drop-named", "jaeger/api_v3")]["verdict"] == "preserved"
    assert present[("sampled-out-link-target", "tail-sampling", "zipkin/api_v2")]["verdict"] == "preserved"


def test_the_sdks_own_zipkin_exporter_loses_every_link_on_the_wire(binaries: dict[str, Path],
                                                                   tmp_path: Path) -> None:
    settings = RunSettings(scenarios=load_all([ROOT / "scenarios" / "sdk-zipkin-exporter.yaml"]),
                           reports_dir=tmp_path, runtime="local", backends=["jaeger", "zipkin"])
    result = run_matrix(settings, notify=lambda message: None)
    assert not result.problems
    present = cells(result, "link.present")
    sdk = present[("sdk-zipkin-exporter", "sdk-zipkin", "zipkin/api_v2")]
    assert (sdk["verdict"], sdk["hop"], sdk["hops"]["sdk"]) == ("lost", "wire", "preserved")
    assert "opentelemetry-exporter-zipkin-json" in sdk["meaning"]
    assert present[("sdk-zipkin-exporter", "collector", "zipkin/api_v2")]["verdict"] == "preserved"
    assert present[("sdk-zipkin-exporter", "sdk-zipkin", "jaeger/api_v3")]["verdict"] == "n/a"


def test_otlp_over_http_from_the_sdk_is_recorded_on_the_wire_and_judged_like_grpc(binaries: dict[str, Path],
                                                                                  tmp_path: Path) -> None:
    chosen = variants.select(SHIPPED, "sdk-otlp-http")
    settings = RunSettings(scenarios=load_all([ROOT / "scenarios" / "cross-trace-attributes.yaml"]),
                           reports_dir=tmp_path, runtime="local", backends=["jaeger"], variants=chosen)
    result = run_matrix(settings, notify=lambda message: None)
    assert not result.problems
    by_pipeline: dict[str, dict[tuple[str, str], Any]] = {}
    for cell in to_document(result)["cells"]:
        by_pipeline.setdefault(cell["pipeline"], {})[(cell["feature"], cell["read_path"])] = cell
    http, grpc = by_pipeline["sdk-otlp-http"], by_pipeline[COLLECTOR]
    assert http[("link.attribute.int", "api_v3")]["hops"]["wire"] == "preserved"  # decoded off its HTTP body
    assert http[("link.trace_state", "api_v3")]["hop"] == "wire"  # the HTTP exporter drops it too
    assert {key: c["verdict"] for key, c in http.items()} == {key: c["verdict"] for key, c in grpc.items()}


def test_an_agent_and_its_gateway_are_two_collector_processes_and_the_gateway_drop_is_its_own(
        binaries: dict[str, Path], tmp_path: Path) -> None:
    chosen = variants.select(SHIPPED, "agent-gateway,gateway-tail-sampling")
    settings = RunSettings(scenarios=load_all([SCENARIOS[1], ROOT / "scenarios" / "cross-trace-attributes.yaml"]),
                           reports_dir=tmp_path, runtime="local", backends=["jaeger", "zipkin"], variants=chosen)
    result = run_matrix(settings, notify=lambda message: None)
    document = to_document(result)
    assert not result.problems, result.problems
    assert {"collector", "collector-gateway"} <= set(document["run"]["services"])
    by_key = {(c["scenario"], c["pipeline"], c["feature"], c["backend"], c["read_path"]): c for c in document["cells"]}
    # Through agent and gateway, every cell is what the one-collector pipeline gives.
    through = [(key, cell) for key, cell in by_key.items() if key[1] == "agent-gateway"]
    assert through
    for (scenario, _, feature, backend, read_path), cell in through:
        plain = by_key[(scenario, COLLECTOR, feature, backend, read_path)]
        assert (cell["verdict"], cell.get("hop")) == (plain["verdict"], plain.get("hop")), (scenario, feature)
    # Tail sampling on the gateway: the target is lost at the collector hop, by the gateway's own count.
    lost = by_key[("sampled-out-link-target", "gateway-tail-sampling", "link.target_arrived", "jaeger", "api_v3")]
    assert (lost["verdict"], lost["hop"]) == ("lost", "collector")
    assert "tail_sampling/sampled-out-link-target.gateway-tail-sampling" in lost["evidence"]["hop_messages"]["collector"][0]


def test_the_collectors_otlp_http_exporter_reaches_otlp_backends_as_protobuf_and_json(
        binaries: dict[str, Path], tmp_path: Path) -> None:
    chosen = variants.select(SHIPPED, "collector-otlp-http,collector-otlp-http-json")
    settings = RunSettings(scenarios=load_all([ROOT / "scenarios" / "cross-trace-attributes.yaml"]),
                           reports_dir=tmp_path, runtime="local", backends=["jaeger", "zipkin"], variants=chosen)
    result = run_matrix(settings, notify=lambda message: None)
    document = to_document(result)
    assert not result.problems, result.problems
    by_key = {(c["pipeline"], c["feature"], c["backend"], c["read_path"]): c for c in document["cells"]}
    for http in ("collector-otlp-http", "collector-otlp-http-json"):
        jaeger = [(key, cell) for key, cell in by_key.items() if key[0] == http and key[2] == "jaeger"]
        assert jaeger
        for (_, feature, backend, read_path), cell in jaeger:
            plain = by_key[(COLLECTOR, feature, backend, read_path)]
            assert (cell["verdict"], cell.get("hop")) == (plain["verdict"], plain.get("hop")), (http, feature)
        zipkin = by_key[(http, "link.present", "zipkin", "api_v2")]  # Zipkin has no OTLP receiver
        assert zipkin["verdict"] == "n/a" and "does not reach zipkin" in zipkin["reason"]
    # what the collector sent over HTTP went through the tap in front of Jaeger's OTLP/HTTP receiver
    bodies = (result.run_dir / "raw" / "jaeger" / "collector-egress-http.jsonl").read_bytes()
    assert b'"resourceSpans"' in bodies  # the JSON variant's requests, as sent
