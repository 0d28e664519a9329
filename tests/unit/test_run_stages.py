"""The whole run — stack, send, observe, judge, report — against a fake backend made of the
project's own parts (tests/fakes), with no Go, Java or Docker: every fault path of the middle of
a run, measured through the real code."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness.backends import BACKENDS
from harness.model import RunResult
from harness.model import _jsonio as jsonio
from harness.report import to_document, validate, write
from harness.run._matrix import RunSettings, run_matrix
from harness.scenario._scenario import load_scenario
from harness.stack._http import Http
from tests.fakes.adapter import FakeBackend

SCENARIO = """\
name: direct-to-fake
problem: A consumer links a producer; both are sent straight to the backend's own receiver.
pipelines: [direct]
traces:
  - id: producer
    spans:
      - name: publish
  - id: consumer
    spans:
      - name: consume
        links:
          - to: producer.publish
            attributes: {reason: batch, n: 7}
checks: [link.present, link.target_ids, link.attribute, search.link_attribute]
"""


@pytest.fixture(autouse=True)
def no_go_or_java(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only Python on PATH: nothing here may need the collector's, Jaeger's or Zipkin's toolchain."""
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))


def run(tmp_path: Path, timeout: float = 5.0, http: Http | None = None, **faults: Any) -> RunResult:
    tmp_path.mkdir(parents=True, exist_ok=True)
    scenario_file = tmp_path / "direct-to-fake.yaml"
    scenario_file.write_text(textwrap.dedent(SCENARIO))
    settings = RunSettings(scenarios=[load_scenario(scenario_file)], reports_dir=tmp_path / "reports",
                           backends=["fake"], runtime="local", runtime_reason="a test", visibility_timeout=timeout,
                           http=http, table={**BACKENDS, "fake": FakeBackend(**faults)})  # one entry, nothing global
    result = run_matrix(settings, notify=lambda message: None)
    assert "fake" not in BACKENDS
    write(result, tmp_path / "reports")
    return result


def cells(result: RunResult) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["feature"], c["read_path"]): c for c in to_document(result)["cells"]}


def test_run_stage_a_healthy_backend_gives_preserved_cells_and_a_valid_report(tmp_path: Path) -> None:
    result = run(tmp_path)
    found = cells(result)
    assert result.problems == []
    for feature in ("link.present", "link.target_ids", "link.attribute.string", "link.attribute.int"):
        assert found[(feature, "api")]["verdict"] == "preserved", feature
    assert found[("search.link_attribute", "search")]["verdict"] == "preserved"
    document = to_document(result)
    validate(document)
    jsonio.loads_strictly((result.run_dir / "matrix.json").read_text())
    assert list((result.run_dir / "raw" / "fake" / "api").glob("*.json"))  # the raw answers are kept
    assert result.versions["fake"] == "0 (fake)"
    assert set(result.stages) >= {"startup", "emit", "visibility", "read", "check"}


@pytest.mark.parametrize("fault", ["not_found", "empty", "non_json", "refuse"])
def test_run_stage_a_backend_that_never_shows_a_span_is_an_error_not_a_loss(tmp_path: Path, fault: str) -> None:
    result = run(tmp_path, timeout=2.0, reads=fault)
    read_cells = [c for (feature, path), c in cells(result).items() if path == "api"]
    assert read_cells and {c["verdict"] for c in read_cells} == {"error"}
    assert all("still not there after 2s" in c["reason"] for c in read_cells), read_cells[0]["reason"]
    assert any("Fake /api/traces" in problem for problem in result.problems)


def test_run_stage_a_read_that_times_out_is_an_error(tmp_path: Path) -> None:
    result = run(tmp_path, timeout=2.0, http=Http(timeout=0.5), reads="slow", slow_seconds=3)
    present = cells(result)[("link.present", "api")]
    assert present["verdict"] == "error" and "Timeout" in present["reason"]


def test_run_stage_a_search_that_fails_its_control_query_is_not_judged(tmp_path: Path) -> None:
    search = cells(run(tmp_path, search="control_miss"))[("search.link_attribute", "search")]
    assert search["verdict"] == "error" and "did not find the span even by its run id" in search["reason"]


def test_run_stage_a_search_miss_is_a_loss_but_an_error_status_is_not(tmp_path: Path) -> None:
    missed = cells(run(tmp_path / "miss", search="miss"))[("search.link_attribute", "search")]
    assert (missed["verdict"], missed["hop"]) == ("lost", "backend")
    failing = cells(run(tmp_path / "error", search="error"))[("search.link_attribute", "search")]
    assert failing["verdict"] == "error" and "HTTP 500" in failing["reason"]


def test_run_stage_a_backend_that_dies_is_named_at_once(tmp_path: Path) -> None:
    result = run(tmp_path, timeout=30.0, reads="not_found", die_after=1.0)
    present = cells(result)[("link.present", "api")]
    assert present["verdict"] == "error" and "fake exited with code 3 during the run" in present["reason"]
    assert result.stages["visibility"] < 15  # not the 30 s deadline
    assert sum("fake exited with code 3" in problem for problem in result.problems) == 1


def test_the_floor_is_the_slowest_readiness_then_the_longer_of_visibility_and_indexing() -> None:
    from harness.run._matrix import floor

    detail = {"startup": {"jaeger": 0.1, "zipkin": 4.5}, "visibility": {"jaeger/api_v3": 0.7},
              "indexing": {"zipkin/search": 0.3, "jaeger/search": 0.1}, "search": {"jaeger/search": 18.0}}
    assert floor(detail) == 5.2  # the 18 s of searches that found nothing are not part of it
    # reads and searches wait side by side: a slow index is the floor, not added to the reads
    detail["indexing"]["tempo/search"] = 33.0
    assert floor(detail) == 37.5
    assert floor({}) == 0.0


def test_the_floor_counts_the_slowest_page_after_the_reads_it_needs() -> None:
    from harness.run._matrix import floor

    detail = {"startup": {"zipkin": 3.0}, "visibility": {"zipkin/api_v2": 1.0},
              "page": {"zipkin/lens": 0.8, "jaeger/ui": 1.5}}
    assert floor(detail) == 5.5  # 3.0 + 1.0 + the slowest page of any UI (pages could open side by side)
    detail["indexing"] = {"tempo/search": 33.0}  # pages open while an index catches up: not added to it
    assert floor(detail) == 36.0


def test_the_run_says_the_cpu_its_parts_used_and_the_machine_was_busy(tmp_path: Path) -> None:
    stages = run(tmp_path).stages
    assert stages["cpu_harness"] > 0 and stages["cpu_total"] >= stages["cpu_harness"]
    assert stages["cpu_backends"] > 0  # the fake backend is a process of the run's own
    assert stages["cpu_machine"] >= stages["cpu_total"] * 0.5  # the machine saw at least most of it
