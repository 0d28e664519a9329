"""The external runtime against a stack someone else started (here: started by this test, with the
collector sending straight to the backends, as in compose/)."""

from __future__ import annotations

from pathlib import Path

from harness import pipeline
from harness.backends import BACKENDS
from harness.matrix import MatrixRun, RunSettings
from harness.report import to_document
from harness.runtime.local import LocalRuntime
from harness.scenario import load_all

from .conftest import ROOT, processes_in


def test_external_stack_is_measured_and_left_running(binaries: dict[str, Path], tmp_path: Path) -> None:
    jaeger, zipkin = BACKENDS["jaeger"], BACKENDS["zipkin"]
    with LocalRuntime(tmp_path / "stack") as stack:
        jaeger_service = stack.start(jaeger.service(binaries["jaeger"], stack.allocate_ports(jaeger.ports)))
        zipkin_service = stack.start(zipkin.service(binaries["zipkin"], stack.allocate_ports(zipkin.ports)))
        exporters = {}
        for backend, target in [(jaeger, jaeger_service.address("otlp_grpc")), (zipkin, zipkin_service.url("http"))]:
            kind, config = backend.collector_exporter(target)
            exporters[pipeline.exporter_id(kind, backend.name, pipeline.SHARED)] = config
        collector = stack.start(pipeline.collector_service(
            binaries["otelcol-linkmatrix"], stack.allocate_ports(pipeline.ports([pipeline.SHARED])),
            [pipeline.Route(pipeline.SHARED, exporters)], None))
        settings = RunSettings(
            scenarios=load_all([ROOT / "scenarios" / "cross-trace-attributes.yaml",
                                ROOT / "scenarios" / "fan-in-via-headers.yaml"]),
            reports_dir=tmp_path / "reports", backends=["jaeger", "zipkin"], runtime="external",
            external={"collector": collector.address("otlp_grpc"),
                      "jaeger": f"{jaeger_service.url('query_http')},otlp={jaeger_service.address('otlp_grpc')}",
                      "zipkin": zipkin_service.url("http")})
        document = to_document(MatrixRun(settings, notify=lambda message: None).run())
        assert len(processes_in(tmp_path / "stack")) == 3  # not ours to stop
    assert document["run"]["runtime"] == "external" and document["run"]["problems"] == []
    cells = {(c["scenario"], c["pipeline"], c["feature"], c["backend"], c["read_path"]): c for c in document["cells"]}
    present = cells[("fan-in-via-headers", "collector", "link.present", "jaeger", "api_v3")]
    assert present["verdict"] == "preserved" and "collector" not in present["hops"]  # no tap in their pipeline
    trace_state = cells[("cross-trace-attributes", "collector", "link.trace_state", "zipkin", "api_v2")]
    assert (trace_state["verdict"], trace_state["hop"]) == ("lost", "wire")
    direct = cells[("cross-trace-attributes", "direct", "link.attribute.int", "jaeger", "api_v3")]
    assert direct["verdict"] == "preserved"
