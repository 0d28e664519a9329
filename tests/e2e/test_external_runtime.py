"""The external runtime against a stack someone else started (here: started by this test, with the
collector sending straight to the backends, as in compose/)."""

from __future__ import annotations

from pathlib import Path

from harness.backends import BACKENDS
from harness.report import to_document
from harness.run._matrix import RunSettings, run_matrix
from harness.scenario._scenario import load_all
from harness.stack import _collector as pipeline
from harness.stack.runtime._local import LocalRuntime

from .conftest import ROOT, processes_in


def test_external_stack_is_measured_and_left_running(binaries: dict[str, Path], tmp_path: Path) -> None:
    jaeger, zipkin = BACKENDS["jaeger"], BACKENDS["zipkin"]
    with LocalRuntime(tmp_path / "stack") as stack:
        jaeger_service, zipkin_service = stack.provide(jaeger), stack.provide(zipkin)
        exporters = {}
        for backend, service in [(jaeger, jaeger_service), (zipkin, zipkin_service)]:
            kind, config = backend.collector_exporter(service.address(backend.ingest_port))
            exporters[pipeline.exporter_id(kind, backend.name, pipeline.SHARED)] = config
        collector = stack.provide(pipeline.Collector((pipeline.Route(pipeline.SHARED, exporters),)))
        settings = RunSettings(
            scenarios=load_all([ROOT / "scenarios" / "cross-trace-attributes.yaml",
                                ROOT / "scenarios" / "fan-in-via-headers.yaml"]),
            reports_dir=tmp_path / "reports", backends=["jaeger", "zipkin"], runtime="external",
            external={"collector": collector.address("otlp_grpc"),
                      "jaeger": f"{jaeger_service.url('query_http')},otlp={jaeger_service.address('otlp_grpc')}",
                      "zipkin": zipkin_service.url("http")})
        document = to_document(run_matrix(settings, notify=lambda message: None))
        assert len(processes_in(tmp_path / "stack")) == 3  # not ours to stop
    assert document["run"]["runtime"] == "external" and document["run"]["problems"] == []
    cells = {(c["scenario"], c["pipeline"], c["feature"], c["backend"], c["read_path"]): c for c in document["cells"]}
    present = cells[("fan-in-via-headers", "collector", "link.present", "jaeger", "api_v3")]
    assert present["verdict"] == "preserved" and "collector" not in present["hops"]  # no tap in their pipeline
    trace_state = cells[("cross-trace-attributes", "collector", "link.trace_state", "zipkin", "api_v2")]
    assert (trace_state["verdict"], trace_state["hop"]) == ("lost", "wire")
    direct = cells[("cross-trace-attributes", "direct", "link.attribute.int", "jaeger", "api_v3")]
    assert direct["verdict"] == "preserved"
