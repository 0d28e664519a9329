"""The stack file, the candidates and what they plan: each malformed stack file is one line naming
the file, the line and the field (exit 2, nothing started); a valid one plans the run it describes."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.backends import BY_BACKEND, BY_PIPELINE, load_stack_file, parse_candidate, plan
from harness.model import PLAIN, InputError, UsageError
from harness.report.candidates import CANDIDATE_REGRESSED, compare
from harness.stack import toolchain

BUILT = toolchain.built_processors()


def _stack(tmp_path: Path, text: str, **files: str) -> Path:
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    path = tmp_path / "linkmatrix.stack.yaml"
    path.write_text(text)
    return path


COLLECTOR_CONFIG = """\
receivers: {otlp: {protocols: {grpc: {}}}}
processors:
  batch: {timeout: 1s}
  filter/drop-health: {traces: {span: ['name == "health"']}}
exporters: {otlp: {endpoint: "jaeger:4317"}}
service:
  pipelines:
    traces: {receivers: [otlp], processors: [filter/drop-health, batch], exporters: [otlp]}
"""


def test_a_valid_stack_file(tmp_path: Path) -> None:
    path = _stack(tmp_path, """\
jaeger: {version: 2.11.0, storage: opensearch, storage_version: 2.18.0}
tempo: {image: grafana/tempo:2.9.0, config: tempo-overrides.yaml}
collector: {config: gateway.yaml}
python_sdk: {version: 1.40.0}
""", **{"tempo-overrides.yaml": "server: {log_level: debug}\n", "gateway.yaml": COLLECTOR_CONFIG})
    stack = load_stack_file(path, BUILT)
    assert stack.describe()["jaeger"] == "2.11.0 on opensearch 2.18.0"
    assert stack.config_overrides == {"tempo": {"server": {"log_level": "debug"}}}
    variant = stack.collector_variant
    assert variant is not None and variant.name == "gateway"
    assert [kind for kind, _ in variant.processors] == ["filter", "batch"]  # in its pipeline's order
    assert stack.notes and "receivers and exporters are not used" in stack.notes[0]


@pytest.mark.parametrize(("text", "where"), [
    ("jaeger:\n  version: 2.12\n", "linkmatrix.stack.yaml:2: jaeger.version: 2.12 is not of type string"),
    ("jaeger:\n  version: '2.12'\n", "linkmatrix.stack.yaml:2: jaeger.version: '2.12' is not a release"),
    ("jaeger:\n  versoin: 2.12.0\n", "linkmatrix.stack.yaml:2: jaeger.versoin: not a field"),
    ("jager: {}\n", "linkmatrix.stack.yaml:1: jager: not a field"),
    ("jaeger:\n  storage: cassandra\n", "linkmatrix.stack.yaml:2: jaeger.storage: 'cassandra' is not one of"),
    ("jaeger:\n  storage: badger\n  storage_version: 1.0.0\n",
     "linkmatrix.stack.yaml:3: jaeger.storage_version: only a search engine storage"),
    ("tempo:\n  config: missing.yaml\n", "linkmatrix.stack.yaml:2: tempo.config: no file 'missing.yaml'"),
    ("python_sdk: {}\n", "linkmatrix.stack.yaml:1: python_sdk.version: is required"),
    ("- jaeger\n", "linkmatrix.stack.yaml:1: (file): a mapping of components"),
    ("jaeger: {version: 2.12.0}\njaeger: {version: 2.11.0}\n", "linkmatrix.stack.yaml:2: jaeger: is written twice"),
    ("jaeger: [\n", "linkmatrix.stack.yaml:1: (file): not valid YAML"),
])
def test_each_malformed_stack_file_is_one_line(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(InputError) as raised:
        load_stack_file(_stack(tmp_path, text), BUILT)
    message = str(raised.value)
    assert "\n" not in message and raised.value.exit_code == 2
    assert message.split(str(tmp_path) + "/", 1)[-1].startswith(where), message


def test_a_collector_config_with_processors_the_build_lacks_is_refused_naming_them(tmp_path: Path) -> None:
    config = COLLECTOR_CONFIG.replace("batch: {timeout: 1s}", "batch: {}\n  groupbytrace: {}").replace(
        "[filter/drop-health, batch]", "[groupbytrace, batch]")
    path = _stack(tmp_path, "collector: {config: gateway.yaml}\n", **{"gateway.yaml": config})
    with pytest.raises(InputError) as raised:
        load_stack_file(path, BUILT)
    assert "processors.groupbytrace: the collector linkmatrix builds has no groupbytrace processor (it has: " \
           "attributes, batch, filter, memory_limiter" in str(raised.value)
    # Given as an image, the collector is not the one built here: its processors are its own business.
    path.write_text("collector: {config: gateway.yaml, image: otel/opentelemetry-collector-contrib:0.161.0}\n")
    assert load_stack_file(path, BUILT).collector_variant is not None


@pytest.mark.parametrize(("text", "expected"), [
    ("jaeger=2.14.0", ("jaeger", "2.14.0", "")),
    ("python-sdk=1.40.0", ("python_sdk", "1.40.0", "")),
    ("tempo=grafana/tempo:2.9.0", ("tempo", "2.9.0", "grafana/tempo:2.9.0")),
])
def test_candidates(text: str, expected: tuple[str, str, str]) -> None:
    candidate = parse_candidate(text)
    assert (candidate.component, candidate.version, candidate.image) == expected


@pytest.mark.parametrize("text", ["jaeger", "prometheus=1.0.0", "jaeger=latest", "tempo=2.9.0"])
def test_a_malformed_candidate_is_one_line(text: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_candidate(text)
    assert "\n" not in str(raised.value) and str(raised.value).startswith(f"--candidate {text!r}")


def test_planning_a_stack_and_its_candidates(tmp_path: Path) -> None:
    path = _stack(tmp_path, "jaeger: {version: 2.12.0, storage: opensearch, storage_version: 2.18.0}\n"
                            "collector: {version: 0.161.0}\n")
    planned = plan(load_stack_file(path, BUILT),
                   [parse_candidate("jaeger=2.11.0"), parse_candidate("collector=0.158.0")],
                   [PLAIN], ["jaeger", "tempo", "zipkin"])
    # The stack's Jaeger under its usual name, its candidate beside it, on the same (versioned) storage.
    assert planned.backends == ["jaeger-opensearch", "jaeger-opensearch-2.11.0"]
    current, candidate = planned.table["jaeger-opensearch"], planned.table["jaeger-opensearch-2.11.0"]
    assert current.build is not None and candidate.build is not None
    assert (current.build.version, candidate.build.version) == ("2.12.0", "2.11.0")
    assert [f"{need.build.name}@{need.build.version}" for need in candidate.needs if need.build] == ["opensearch@2.18.0"]
    assert planned.images["opensearch"] == "opensearchproject/opensearch:2.18.0"
    assert "otelcol-0.158.0" in {v.name for v in planned.variants}
    assert planned.record["candidates"] == [
        {"component": "jaeger", "version": "2.11.0", "by": BY_BACKEND,
         "pairs": [{"current": "jaeger-opensearch", "candidate": "jaeger-opensearch-2.11.0"}]},
        {"component": "collector", "version": "0.158.0", "by": BY_PIPELINE,
         "pairs": [{"current": "collector", "candidate": "otelcol-0.158.0"}]}]
    # Built as the pinned ones are: a release the table does not list is made from its key.
    assert candidate.build.source.endswith("@v1.74.0 (Go module proxy)")
    assert [need.build.source for need in candidate.needs if need.build] == [
        "org.opensearch.distribution.integ-test-zip:opensearch:2.18.0@zip (Maven Central)"]


def test_without_a_stack_file_the_pinned_stack_is_current() -> None:
    planned = plan(None, [parse_candidate("jaeger=2.11.0")], [PLAIN], ["jaeger", "tempo", "zipkin"])
    assert planned.backends == ["jaeger", "tempo", "zipkin", "jaeger-2.11.0"]
    with pytest.raises(UsageError, match="already has"):
        plan(None, [parse_candidate("jaeger=2.12.0")], [PLAIN], ["jaeger"])


def _cell(backend: str, verdict: str, feature: str = "link.present", hop: str = "") -> dict[str, str]:
    return {"scenario": "fan-in", "pipeline": "collector", "feature": feature, "backend": backend,
            "read_path": "api_v3", "verdict": verdict, **({"hop": hop} if hop else {})}


def test_a_candidate_that_loses_what_the_current_release_kept_is_a_regression() -> None:
    run = {"stack": {"candidates": [{"component": "jaeger", "version": "2.14.0", "by": "backend",
                                     "pairs": [{"current": "jaeger", "candidate": "jaeger-2.14.0"}]}]}}
    cells = [_cell("jaeger", "preserved"), _cell("jaeger-2.14.0", "lost", hop="backend"),
             _cell("jaeger", "lost", "link.flags"), _cell("jaeger-2.14.0", "preserved", "link.flags"),
             _cell("jaeger", "preserved", "link.order"), _cell("jaeger-2.14.0", "error", "link.order")]
    beside = compare({"run": run, "cells": cells})
    assert beside is not None and CANDIDATE_REGRESSED == 5
    assert beside.lines() == [
        "candidate regressed: jaeger 2.14.0 · fan-in · link.present · collector · api_v3: preserved (jaeger) → "
        "lost at backend (jaeger-2.14.0)",
        "candidate could not be measured: 1 cell(s) in error beside the current release's (not counted as "
        "regressions)"]
    assert compare({"run": {}, "cells": cells}) is None


def test_each_backend_makes_its_own_release_of_a_stack_files_entry(tmp_path: Path) -> None:
    """Jaeger picks its storage and image, Zipkin its release, Tempo its image and settings (adapters' `as_given`)."""
    path = _stack(tmp_path, """\
jaeger: {storage: elasticsearch, storage_image: mirror/elasticsearch:8.19.4, image: mirror/jaeger:2.12.0}
zipkin: {version: 2.27.0}
tempo: {image: grafana/tempo:2.9.0, config: tempo-overrides.yaml}
""", **{"tempo-overrides.yaml": "server: {log_level: debug}\n"})
    planned = plan(load_stack_file(path, BUILT), [], [PLAIN], ["jaeger", "tempo", "zipkin"])
    assert planned.backends == ["jaeger-elasticsearch", "zipkin", "tempo"]
    assert planned.images == {"elasticsearch": "mirror/elasticsearch:8.19.4",
                              "jaeger-elasticsearch": "mirror/jaeger:2.12.0", "tempo": "grafana/tempo:2.9.0"}
    zipkin = planned.table["zipkin"]
    assert (zipkin.release, zipkin.image, zipkin.build and zipkin.build.version) == (
        "", "openzipkin/zipkin:2.27.0", "2.27.0")
    assert planned.options == {"tempo": {"config_overrides": "server:\n  log_level: debug\n"}}
    assert planned.table["tempo"].options == planned.options["tempo"]


def test_candidates_run_beside_the_backends_linkmatrix_builds_and_tempo_is_refused() -> None:
    planned = plan(None, [parse_candidate("zipkin=2.27.0")], [PLAIN], ["jaeger", "tempo", "zipkin"])
    assert planned.backends[-1] == "zipkin-2.27.0"
    with pytest.raises(UsageError, match="a Tempo candidate is not run yet"):
        plan(None, [parse_candidate("tempo=grafana/tempo:2.9.0")], [PLAIN], ["jaeger", "tempo", "zipkin"])


def test_candidate_names_and_the_tempo_rule_come_from_the_backends() -> None:
    with pytest.raises(UsageError, match="COMPONENT one of jaeger, zipkin, tempo, collector, python_sdk"):
        parse_candidate("prometheus=1.0.0")
    with pytest.raises(UsageError, match=r"never builds Tempo; give its image, e.g. tempo=grafana/tempo:2\.9\.0"):
        parse_candidate("tempo=2.9.0")
    with pytest.raises(UsageError, match="for jaeger, zipkin and tempo, an image"):
        parse_candidate("collector=otel/collector:0.158.0")
