"""The collector config gives every scenario its own way through; the collector's own log is read
back as evidence; a hop's record says which spans a backend can still be waited for."""

from __future__ import annotations

import json
from pathlib import Path

from harness.model._records import HopRecord
from harness.model._spans import Span
from harness.stack import _collector as pipeline


def test_every_scenario_has_its_own_receiver_pipeline_and_exporters() -> None:
    routes = [pipeline.Route(name, {pipeline.exporter_id("zipkin", "zipkin", name): {"endpoint": "http://z"},
                                    pipeline.exporter_id("otlp_grpc", "jaeger", name): {"endpoint": "j:1"}})
              for name in ("fan-out", "nan")]
    ports = {"health": 1, "otlp_grpc.fan-out": 2, "otlp_grpc.nan": 3}
    config = pipeline.collector_config(ports, routes, Path("/tmp/forwarded.jsonl"))
    assert config["receivers"]["otlp/nan"]["protocols"]["grpc"]["endpoint"] == "127.0.0.1:3"
    nan = config["service"]["pipelines"]["traces/nan"]
    assert nan == {"receivers": ["otlp/nan"], "processors": ["batch/nan"],
                   "exporters": ["zipkin/zipkin.nan", "otlp_grpc/jaeger.nan", "file/forwarded"]}
    exporters = [set(p["exporters"]) - {"file/forwarded"} for p in config["service"]["pipelines"].values()]
    assert not exporters[0] & exporters[1]  # no exporter (and so no batch) is shared
    assert config["service"]["telemetry"]["logs"]["encoding"] == "json"
    assert pipeline.ports(["fan-out", "nan"]) == ("health", "otlp_grpc.fan-out", "otlp_grpc.nan")


def test_export_failures_are_read_from_the_collectors_json_log() -> None:
    failure = {"level": "error", "msg": "Exporting failed. Dropping data.", "otelcol.component.id": "zipkin/zipkin.nan",
               "otelcol.component.kind": "exporter", "error": "Permanent error: json: unsupported value: NaN",
               "dropped_items": 2}
    log = "\n".join([json.dumps({"level": "info", "msg": "Everything is ready."}), "not json dropped_items",
                     json.dumps(failure), '["dropped_items"]'])
    (found,) = pipeline.export_failures(log)
    assert (found.exporter, found.dropped) == ("zipkin/zipkin.nan", 2)
    assert "unsupported value: NaN" in found.describe()


A, B, C = ("1" * 32, "a" * 16), ("1" * 32, "b" * 16), ("1" * 32, "c" * 16)


def spans(*keys: tuple[str, str]) -> list[Span]:
    return [Span(trace, span, "s") for trace, span in keys]


def test_a_hop_record_settles_when_every_span_is_accounted_for() -> None:
    expected = {A, B, C}
    assert not HopRecord(spans(A)).settled(expected)
    assert HopRecord(spans(A), dropped=2).settled(expected)
    assert HopRecord(spans(A, B, C)).settled(expected)


def test_reads_wait_only_for_spans_that_reached_the_backend() -> None:
    expected = {A, B, C}
    record = HopRecord(spans(A, B), dropped=1, refused={B: "HTTP 400: bad span"})
    assert record.reaching_backend(expected) == {A}
    # Without a tap in front of the backend only a whole drop is certain.
    assert HopRecord(spans(A, B, C), dropped=3, exact=False).reaching_backend(expected) == set()
    assert HopRecord(spans(A, B, C), dropped=3, exact=False).view(expected) == []
    assert HopRecord(spans(A, B, C), dropped=1, exact=False).reaching_backend(expected) == expected
