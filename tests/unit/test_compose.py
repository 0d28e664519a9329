"""compose/ is generated: what is committed must be what the generator writes today."""

from __future__ import annotations

from pathlib import Path

import yaml

from harness.backends import BACKENDS
from harness.backends._compose import generate
from harness.stack.toolchain._builds import IMAGES

COMPOSE = Path(__file__).resolve().parents[2] / "compose"


def test_committed_compose_files_are_up_to_date() -> None:
    for relative, content in generate().items():
        assert (COMPOSE / relative).read_text() == content, f"compose/{relative} is stale: run `linkmatrix compose`"


def test_compose_stack_uses_the_pinned_images_and_loopback_ports() -> None:
    stack = yaml.safe_load(generate()["docker-compose.yaml"])
    services = {name: service["image"] for name, service in stack["services"].items()}
    # the collector and the backends a run starts by default (storages: run only when asked)
    assert services == {"collector": IMAGES["collector"],
                        **{name: backend.image for name, backend in BACKENDS.items() if backend.default}}
    for service in stack["services"].values():
        assert all(port.startswith("127.0.0.1:") for port in service["ports"])
    collector = yaml.safe_load(generate()["config/collector.yaml"])
    assert collector["exporters"]["otlp_grpc/jaeger"]["endpoint"] == "jaeger:4317"
    assert collector["exporters"]["zipkin/zipkin"]["endpoint"] == "http://zipkin:9411/api/v2/spans"
    assert "file/forwarded" not in collector["exporters"]
