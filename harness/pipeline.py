"""The collector hop: a generated collector config, its service spec, and what it forwarded.

OTLP in; out to every backend through the exporter its adapter names; plus a `file` exporter in
the same pipeline that records exactly what the collector forwarded (the "collector" hop).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .model import Span
from .otlp import spans_from_json_lines
from .runtime import LOOPBACK, Readiness, ServiceSpec
from .toolchain import IMAGES

NAME = "collector"
PORTS = ("otlp_grpc", "health")
FORWARDED_FILE = "collector-forwarded.jsonl"


def collector_config(ports: dict[str, int], exporters: dict[str, dict[str, Any]], forwarded: Path | None,
                     listen: str = LOOPBACK) -> dict[str, Any]:
    all_exporters = dict(exporters)
    if forwarded is not None:
        all_exporters["file/forwarded"] = {"path": str(forwarded), "format": "json", "flush_interval": "100ms"}
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"{listen}:{ports['otlp_grpc']}"}}}},
        # A short batch timeout keeps a run fast; batching itself is what users run, so it stays.
        "processors": {"batch": {"timeout": "200ms"}},
        "exporters": all_exporters,
        "extensions": {"health_check": {"endpoint": f"{listen}:{ports['health']}"}},
        "service": {
            "extensions": ["health_check"],
            # No metrics listener: the default 8888 could clash with anything else running.
            "telemetry": {"metrics": {"level": "none"}, "logs": {"level": "info"}},
            "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["batch"],
                                     "exporters": list(all_exporters)}},
        },
    }


def collector_service(binary: Path | None, ports: dict[str, int], exporters: dict[str, dict[str, Any]],
                      forwarded: Path | None, listen: str = LOOPBACK) -> ServiceSpec:
    config = collector_config(ports, exporters, forwarded, listen)
    return ServiceSpec(
        name=NAME,
        command=(str(binary), "--config", "collector.yaml"),
        image=IMAGES[NAME],
        readiness=Readiness(port="health", path="/"),
        ports=ports,
        config_files={"collector.yaml": yaml.safe_dump(config, sort_keys=False)},
    )


def read_forwarded(path: Path, run_id: str) -> list[Span]:
    """Spans the collector forwarded in this run (the file may not exist until the first flush)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    # The exporter may be mid-write: only complete lines count.
    complete = text[: text.rfind("\n") + 1]
    return spans_from_json_lines(complete, run_id)
