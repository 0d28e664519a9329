"""`--collector-config`: a user's own collector config, its processors run as a pipeline named after
the file, gives the cells the same processors give as a pipelines.yaml variant (one run, both
pipelines side by side, real collector, Jaeger and Zipkin); its receivers and exporters are
ignored with one line saying so."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

# A deployment's config: its own receivers and exporters (ignored), a filter that drops the spans
# named `filtered-…` (a link to one then dangles: a verdict the processors change) and a batch.
COLLECTOR_CONFIG = """\
receivers:
  otlp:
    protocols: {grpc: {endpoint: 0.0.0.0:4317}}
processors:
  filter/drop-named:
    error_mode: ignore
    traces:
      span: ['IsMatch(name, "^filtered")']
  batch: {timeout: 200ms}
exporters:
  otlp/vendor: {endpoint: vendor.example:4317}
service:
  pipelines:
    traces: {receivers: [otlp], processors: [filter/drop-named, batch], exporters: [otlp/vendor]}
"""
SAME_AS_VARIANT = """\
variants:
  collector:
    default: true
    about: the plain pipeline
    processors:
      - batch: {timeout: 200ms}
  as-variant:
    about: the processors of my-collector.yaml, written as a variant
    processors:
      - filter:
          error_mode: ignore
          traces:
            span: ['IsMatch(name, "^filtered")']
      - batch: {timeout: 200ms}
"""
SCENARIOS = ("filtered-link-target", "cross-trace-attributes")


def _comparable(cell: dict[str, object]) -> tuple[object, ...]:
    # What a cell says, without the pipeline's own name (hop messages name the route).
    return (cell["verdict"], cell.get("hop"), cell.get("changed_at"),
            re.sub(r"my-collector|as-variant", "PIPELINE", str(cell.get("summary", ""))))


def test_a_collector_config_file_gives_the_cells_of_the_same_variant(binaries: dict[str, Path],
                                                                    tmp_path: Path) -> None:
    config, variants = tmp_path / "my-collector.yaml", tmp_path / "pipelines.yaml"
    config.write_text(COLLECTOR_CONFIG)
    variants.write_text(SAME_AS_VARIANT)
    run = subprocess.run([sys.executable, "-m", "harness", "run", "--runtime", "local", "--backend", "jaeger",
                          "--backend", "zipkin", "--pipelines-file", str(variants), "--pipelines", "as-variant",
                          "--collector-config", str(config), "--reports", str(tmp_path / "reports"),
                          *(str(ROOT / "scenarios" / f"{name}.yaml") for name in SCENARIOS)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    ignored = [line for line in run.stderr.splitlines() if "my-collector.yaml: its receivers and exporters" in line]
    assert len(ignored) == 1, run.stderr[-3000:]
    document = json.loads((tmp_path / "reports" / "latest" / "matrix.json").read_text())
    by_pipeline: dict[str, dict[tuple[str, ...], tuple[object, ...]]] = {}
    for cell in document["cells"]:
        key = (cell["scenario"], cell["backend"], cell["feature"], cell["read_path"])
        by_pipeline.setdefault(cell["pipeline"], {})[key] = _comparable(cell)
    assert {"collector", "as-variant", "my-collector"} <= set(by_pipeline)
    assert len(by_pipeline["my-collector"]) > 20
    assert by_pipeline["my-collector"] == by_pipeline["as-variant"]
    # The processors did run: the filtered target's link dangles there, and not on the plain pipeline.
    dangling = [key for key, said in by_pipeline["my-collector"].items()
                if key[2] == "link.target_arrived" and said[0] == "lost"]
    assert dangling
    assert all(by_pipeline["collector"][key][0] != "lost" for key in dangling)


def test_a_processor_the_built_collector_lacks_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "mine.yaml"
    config.write_text("processors:\n  groupbytrace: {}\n  batch: {}\n"
                      "service:\n  pipelines:\n    traces: {processors: [groupbytrace, batch]}\n")
    run = subprocess.run([sys.executable, "-m", "harness", "run", "--runtime", "local", "--collector-config",
                          str(config), str(ROOT / "scenarios" / f"{SCENARIOS[0]}.yaml")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "mine.yaml:2: processors.groupbytrace: the collector linkmatrix builds has no groupbytrace" in lines[0]
    assert "it has: attributes, batch, filter" in lines[0]
