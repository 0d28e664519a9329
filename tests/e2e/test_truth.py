"""Truth under hostile values and faults, on the real collector, Jaeger and Zipkin: a verdict never
depends on which scenarios ran together, a loss a hop's own record proves is that hop's loss (and
is not waited for), and a backend that cannot be read is an error, never a finding."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil
import pytest

from harness.backends import BACKENDS
from harness.model import RunResult
from harness.model import _jsonio as jsonio
from harness.model._columns import SearchReadPath
from harness.report import to_document, write
from harness.run._matrix import RunSettings, run_matrix
from harness.scenario._scenario import load_all

from .conftest import ROOT, processes_in

HOSTILE = [ROOT / "scenarios" / "cross-trace-attributes.yaml",
           ROOT / "scenarios" / "non-finite-double-attributes.yaml",
           ROOT / "tests" / "fixtures" / "scenarios" / "edge-values.yaml"]


def run(paths: list[Path], reports: Path, notify=lambda message: None, **settings: Any) -> RunResult:
    settings = {"backends": ["jaeger", "zipkin"], **settings}
    result = run_matrix(RunSettings(scenarios=load_all(paths), reports_dir=reports, runtime="local", **settings),
                        notify=notify)
    write(result, reports)
    return result


def verdicts(result: RunResult) -> dict[tuple[str, ...], tuple[Any, ...]]:
    return {(c["scenario"], c["pipeline"], c["feature"], c["backend"], c["read_path"]):
            (c["verdict"], c.get("hop"), tuple(c.get("changed_at", ())), c.get("summary", ""))
            for c in to_document(result)["cells"]}


@pytest.fixture(scope="module")
def together(binaries: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run(HOSTILE, tmp_path_factory.mktemp("together"))


def test_each_scenario_alone_gives_the_cells_it_gives_among_the_others(together: RunResult, tmp_path: Path) -> None:
    expected = verdicts(together)
    for path in HOSTILE:
        alone = verdicts(run([path], tmp_path / path.stem))
        (name,) = {key[0] for key in alone}
        assert alone == {key: value for key, value in expected.items() if key[0] == name}, path.name


def test_a_batch_the_zipkin_exporter_cannot_encode_is_lost_at_the_collector(together: RunResult) -> None:
    cells = verdicts(together)
    present = cells[("non-finite-double-attributes", "collector", "link.present", "zipkin", "api_v2")]
    assert present[:3] == ("lost", "collector", ("collector",))
    document = to_document(together)
    cell = next(c for c in document["cells"] if (c["scenario"], c["feature"], c["backend"], c["read_path"])
                == ("non-finite-double-attributes", "link.present", "zipkin", "api_v2"))
    (message,) = cell["evidence"]["hop_messages"]["collector"]
    assert "zipkin/zipkin.non-finite-double-attributes" in message and "unsupported value: NaN" in message
    assert "The collector dropped these spans" in cell["meaning"]
    # The other scenarios' Zipkin cells are untouched by it: their batches were their own.
    assert cells[("cross-trace-attributes", "collector", "link.present", "zipkin", "api_v2")][0] == "preserved"
    # Proven by the hop's record, so nobody waited for the visibility deadline.
    assert together.stage_detail["visibility"]["zipkin/api_v2"] < 20
    assert not [c for c in document["cells"] if c["verdict"] == "error"]
    assert document["run"]["problems"] == []


def test_non_finite_doubles_come_back_as_themselves_from_jaeger(together: RunResult) -> None:
    cells = verdicts(together)
    double = cells[("non-finite-double-attributes", "collector", "link.attribute.double", "jaeger", "api_v3")]
    assert double[0] == "preserved"
    edge = {key[2]: value[0] for key, value in cells.items()
            if key[0] == "edge-values" and key[3:] == ("jaeger", "api_v3")}
    assert {edge["link.attribute.int"], edge["link.attribute.string"], edge["link.attribute.double"],
            edge["link.attribute.bool_array"], edge["link.attribute.mixed_array"]} == {"preserved"}
    assert "link.attribute.empty_array" in edge  # judged somewhere, whatever Jaeger does with it


def test_written_files_are_strict_json(together: RunResult) -> None:
    for name in ("matrix.json", "sent.json"):
        text = (together.run_dir / name).read_text()
        jsonio.loads_strictly(text)
        assert '"NaN"' in text and '"-Infinity"' in text  # the non-finite doubles, by name
    for answer in (together.run_dir / "raw").rglob("*.json"):
        jsonio.loads_strictly(answer.read_text())


def test_a_direct_scenario_on_zipkin_alone_is_not_a_problem(binaries: dict[str, Path], tmp_path: Path) -> None:
    result = run([ROOT / "scenarios" / "cross-trace-attributes.yaml"], tmp_path, backends=["zipkin"])
    assert result.problems == []
    direct = [c for c in to_document(result)["cells"] if c["pipeline"] == "direct"]
    assert direct and {c["verdict"] for c in direct} == {"n/a"}


def _kill(backend: str, under: Path) -> None:
    for process in psutil.process_iter(["pid", "cwd", "cmdline"]):
        if str(process.info.get("cwd") or "").startswith(str(under)) and backend in " ".join(process.info["cmdline"] or []):
            os.kill(process.info["pid"], signal.SIGKILL)
            return
    raise AssertionError(f"no {backend} process under {under}")


def test_a_backend_killed_before_the_reads_fails_its_columns_fast(binaries: dict[str, Path], tmp_path: Path) -> None:
    def notify(message: str) -> None:
        if message.startswith("waiting until every read path"):
            _kill("jaeger", tmp_path)
    started = time.monotonic()
    result = run([ROOT / "scenarios" / "fan-in-via-headers.yaml", ROOT / "scenarios" / "fan-out.yaml"], tmp_path,
                 notify=notify)
    assert time.monotonic() - started < 45  # not a --timeout (60 s) per trace
    cells = to_document(result)["cells"]
    jaeger = [c for c in cells if c["backend"] == "jaeger"]
    assert jaeger and all(c["verdict"] in ("error", "n/a") for c in jaeger)
    assert all("killed by signal 9" in c["reason"] for c in jaeger if c["verdict"] == "error")
    assert all(c["verdict"] != "error" for c in cells if c["backend"] == "zipkin")
    assert sum("jaeger was killed by signal 9" in problem for problem in result.problems) == 1
    assert processes_in(tmp_path) == []


def test_a_backend_killed_after_its_search_control_is_an_error_not_lost(binaries: dict[str, Path], tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    jaeger = BACKENDS["jaeger"]
    real_search = next(path for path in jaeger.read_paths if isinstance(path, SearchReadPath)).search

    def search_then_die(http: Any, base_url: str, query: Any) -> Any:
        answer = real_search(http, base_url, query)
        if query.kind == "control" and answer.found:
            _kill("jaeger", tmp_path)
        return answer
    monkeypatch.setattr(jaeger, "read_paths", tuple(
        replace(path, search=search_then_die) if path.name == "search" else path for path in jaeger.read_paths))
    result = run([ROOT / "scenarios" / "search-by-link.yaml"], tmp_path)
    cell = next(c for c in to_document(result)["cells"]
                if (c["feature"], c["backend"], c["read_path"]) == ("search.link_attribute", "jaeger", "search"))
    assert cell["verdict"] == "error", cell
    assert result.problems


def test_a_dead_collector_makes_errors_never_findings(binaries: dict[str, Path], tmp_path: Path) -> None:
    """Killed once ready, before anything is sent (a kill after sending may come after it forwarded
    everything, and then the verdicts are real ones)."""
    def notify(message: str) -> None:
        if message.strip().startswith("collector ready"):
            _kill("otelcol", tmp_path)
    result = run([ROOT / "scenarios" / "fan-in-via-headers.yaml"], tmp_path, notify=notify)
    cells = to_document(result)["cells"]
    assert {c["verdict"] for c in cells} <= {"error", "n/a"} and any(c["verdict"] == "error" for c in cells)
    assert all("collector was killed by signal 9" in c["reason"] for c in cells if c["verdict"] == "error")
    assert any(problem.startswith("collector was killed by signal 9") for problem in result.problems)
    assert processes_in(tmp_path) == []


def test_a_request_the_collector_refuses_is_its_loss_in_its_own_words(binaries: dict[str, Path],
                                                                       tmp_path: Path) -> None:
    """Over the collector's 4 MiB gRPC limit: its receiver answers RESOURCE_EXHAUSTED. The taps take
    any size, so the refusal is the collector's, and the cells say so instead of 'nothing emitted'."""
    big = tmp_path / "big.yaml"
    big.write_text("name: over-four-mib\nproblem: p\ntraces:\n  - id: src\n    spans:\n      - name: origin\n"
                   "  - id: dst\n    spans:\n      - name: sink\n        links:\n          - to: src.origin\n"
                   "            attributes: {big: {repeat: abcde, times: 1000000}}\n")
    result = run([big], tmp_path / "reports")
    present = next(c for c in to_document(result)["cells"]
                   if (c["feature"], c["backend"], c["read_path"]) == ("link.present", "jaeger", "api_v3"))
    assert (present["verdict"], present["changed_at"]) == ("lost", ["collector"])
    (message,) = present["evidence"]["hop_messages"]["collector"]
    assert "RESOURCE_EXHAUSTED" in message and "larger than max" in message
    assert result.problems == []
