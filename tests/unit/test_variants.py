"""Pipeline variants are data: the shipped file loads, every variant becomes its own pipeline per
scenario in the collector config, and a broken file is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.model import PLAIN, Variant
from harness.model._errors import InputError, ScenarioError, UsageError
from harness.model._vocabulary import COLLECTOR, route_id
from harness.observe import _processor_counts as processor_counts
from harness.stack import _collector as pipeline
from harness.stack import _variants as variants

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "pipelines.yaml"


def test_the_shipped_file_has_the_plain_variant_first_and_the_processors_users_run() -> None:
    loaded = variants.load(SHIPPED)
    assert loaded[0].name == COLLECTOR and loaded[0].processors == PLAIN.processors
    kinds = {kind for variant in loaded for kind, _ in variant.processors}
    assert {"batch", "memory_limiter", "attributes", "transform", "filter", "probabilistic_sampler",
            "tail_sampling", "redaction"} <= kinds
    assert [v.name for v in variants.select(loaded, "default")] == [v.name for v in loaded if v.default]
    assert variants.select(loaded, "all") == loaded
    picked = variants.select(loaded, "filter-drop-named")
    assert [v.name for v in picked] == [COLLECTOR, "filter-drop-named"]  # the plain one always comes along
    with pytest.raises(UsageError, match="no variant 'nope'"):
        variants.select(loaded, "nope")


def test_every_variant_is_a_pipeline_of_its_own_per_scenario() -> None:
    loaded = {v.name: v for v in variants.load(SHIPPED)}
    routes = [pipeline.Route(route_id("fan-out", name), {pipeline.exporter_id("zipkin", "zipkin",
                                                                                 route_id("fan-out", name)): {}},
                             loaded[name].processor_configs(route_id("fan-out", name)))
              for name in (COLLECTOR, "filter-drop-named")]
    ports = {"health": 1, "otlp_grpc.fan-out": 2, "otlp_grpc.fan-out.filter-drop-named": 3}
    config = pipeline.collector_config(ports, routes, None)
    plain, filtered = config["service"]["pipelines"]["traces/fan-out"], \
        config["service"]["pipelines"]["traces/fan-out.filter-drop-named"]
    assert plain["processors"] == ["batch/fan-out"]
    assert filtered["processors"] == ["filter/fan-out.filter-drop-named", "batch/fan-out.filter-drop-named"]
    assert filtered["exporters"] == ["zipkin/zipkin.fan-out.filter-drop-named"]
    assert config["processors"]["filter/fan-out.filter-drop-named"]["traces"]["span"] == ['IsMatch(name, "^filtered")']
    assert config["receivers"]["otlp/fan-out.filter-drop-named"]["protocols"]["grpc"]["endpoint"] == "127.0.0.1:3"


def test_a_kind_used_twice_gets_two_ids() -> None:
    twice = Variant("two", "x", (("batch", {}), ("batch", {"timeout": "1s"})))
    assert twice.processor_ids("r") == ["batch/r", "batch/r-1"]


@pytest.mark.parametrize(("text", "says"), [
    ("variants: {}\n", "variants: a mapping"),
    ("variants:\n  Bad_Name: {about: x, processors: [batch: {}]}\n", "lower-case letters"),
    ("variants:\n  collector: {about: x, processors: []}\n", "processors: a non-empty list"),
    ("variants:\n  collector: {about: x, processors: [{batch: {}, filter: {}}]}\n", "one `kind: {config}`"),
    ("variants:\n  collector: {about: x, processors: [batch: 3]}\n", "must be a mapping"),
    ("variants:\n  collector: {processors: [batch: {}]}\n", "about: one line"),
    ("variants:\n  collector: {about: x, processors: [batch: {}], colour: red}\n", "colour: not a variant field"),
    ("variants:\n  collector: {about: x, processors: [batch: {}], gateway: maybe}\n", "gateway: true or false"),
    ("variants:\n  collector: {about: x, processors: [nonexistent_processor: {}]}\n",
     "processors[0]: the pinned collector has no 'nonexistent_processor' processor (it has: attributes, batch"),
    ("variants:\n  collector: {about: x, processors: [batch: {}], exporter_protocol: thrift}\n",
     "exporter_protocol: one of grpc, http/protobuf, http/json"),
    ("variants:\n  other: {about: x, processors: [batch: {}]}\n", "the plain variant `collector`"),
    ("variants:\n  otelcol-old: {about: x, processors: [batch: {}]}\n", "names of earlier releases"),
    ("variants:\n  collector: {about: x\n", "not valid YAML"),
    (b"\xff\xfe", "is not UTF-8 text"),
])
def test_a_broken_variants_file_is_one_line_naming_the_field(tmp_path: Path, text: str | bytes, says: str) -> None:
    file = tmp_path / "pipelines.yaml"
    file.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(InputError) as raised:
        variants.load(file)
    assert says in str(raised.value) and str(file) in str(raised.value)
    assert "\n" not in str(raised.value)


# As collector 0.161.0 printed them (/metrics, level detailed) after a filter and a tail sampler ran.
METRICS = """# HELP otelcol_processor_incoming_items Number of items passed to the processor. [Alpha]
# TYPE otelcol_processor_incoming_items counter
otelcol_processor_incoming_items{otel_signal="traces",processor="filter/job.filter-drop-named"} 3
otelcol_processor_incoming_items{otel_signal="traces",processor="filter/other.filter-drop-named"} 4
# TYPE otelcol_processor_outgoing_items counter
otelcol_processor_outgoing_items{otel_signal="traces",processor="filter/job.filter-drop-named"} 1
otelcol_processor_outgoing_items{otel_signal="traces",processor="filter/other.filter-drop-named"} 4
# TYPE otelcol_processor_tail_sampling_count_traces_sampled counter
otelcol_processor_tail_sampling_count_traces_sampled{decision="not_sampled",policy="p.tail-sampling.keep",sampled="false"} 2
otelcol_processor_tail_sampling_count_traces_sampled{decision="sampled",policy="p.tail-sampling.keep",sampled="true"} 1
"""


def test_the_collectors_own_counts_say_what_each_routes_processors_dropped() -> None:
    counts = processor_counts.parse(METRICS)
    job = processor_counts.drops(counts, ["filter/job.filter-drop-named", "batch/job.filter-drop-named"])
    assert job.spans == 2 and "filter/job.filter-drop-named dropped 2 span(s)" in job.messages[0]
    assert processor_counts.drops(counts, ["filter/other.filter-drop-named"]).spans == 0  # its own counts only
    tail = processor_counts.drops(counts, ["tail_sampling/p.tail-sampling", "batch/p.tail-sampling"])
    assert (tail.spans, tail.traces_sampled_out) == (0, 2) and "sampled out 2 trace(s)" in tail.messages[0]
    assert processor_counts.drops(counts, ["tail_sampling/q.tail-sampling"]).traces_sampled_out is None


def test_a_variant_may_have_the_sdk_send_over_otlp_http(tmp_path: Path) -> None:
    http = next(v for v in variants.load(SHIPPED) if v.name == "sdk-otlp-http")
    assert http.protocol == "http/protobuf"
    route = pipeline.Route("s.sdk-otlp-http", {"debug": {}}, http.processor_configs("s.sdk-otlp-http"),
                           protocol=http.protocol)
    assert route.port == "otlp_http.s.sdk-otlp-http"
    config = pipeline.collector_config({"health": 1, route.port: 2}, [route], None)
    assert config["receivers"]["otlp/s.sdk-otlp-http"] == {"protocols": {"http": {"endpoint": "127.0.0.1:2"}}}
    broken = tmp_path / "pipelines.yaml"
    broken.write_text("variants:\n  collector: {about: x, processors: [batch: {}], sdk_protocol: http/json}\n")
    with pytest.raises(ScenarioError, match="sdk_protocol: one of grpc, http/protobuf"):
        variants.load(broken)


def test_a_variant_may_put_its_processors_on_a_gateway_behind_an_agent() -> None:
    shipped = {variant.name: variant for variant in variants.load(ROOT / "pipelines.yaml")}
    assert shipped["agent-gateway"].gateway and shipped["gateway-tail-sampling"].gateway
    assert not shipped["collector"].gateway
    # the agent's way to the gateway is not recorded as forwarded: the gateway's is the hop's record
    agent = pipeline.Route("s.agent-gateway", {"otlp_grpc/gateway.s.agent-gateway": {"endpoint": "127.0.0.1:9"}},
                           {"batch/s.agent-gateway.agent": {}}, recorded=False)
    config = pipeline.collector_config({"health": 1, "otlp_grpc.s.agent-gateway": 2}, [agent], Path("f.jsonl"))
    assert config["service"]["pipelines"]["traces/s.agent-gateway"]["exporters"] == [
        "otlp_grpc/gateway.s.agent-gateway"]
    spec = pipeline.collector_service(Path("otelcol"), {"health": 1}, [], None, name=pipeline.GATEWAY)
    assert spec.name == "collector-gateway" and list(spec.config_files) == ["collector-gateway.yaml"]


def test_a_variant_may_have_the_collector_export_over_otlp_http_as_protobuf_or_json() -> None:
    shipped = {variant.name: variant for variant in variants.load(ROOT / "pipelines.yaml")}
    assert (shipped["collector-otlp-http"].exports_http, shipped["collector-otlp-http"].http_encoding) == (True, "proto")
    assert shipped["collector-otlp-http-json"].http_encoding == "json"
    assert not shipped["collector"].exports_http
