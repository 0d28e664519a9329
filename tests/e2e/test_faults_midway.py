"""The collector killed while the scenarios are being sent, on the real collector, Jaeger and Zipkin:
the run ends within a bound, names the collector and its signal in one problem, leaves nothing
running, and has every cell a healthy run of the same scenarios has — those of the scenarios it
could not send `error`, saying why."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from harness.model import RunResult
from harness.report import to_document, write
from harness.run._matrix import RunSettings, run_matrix
from harness.scenario._scenario import load_all

from .conftest import ROOT, processes_in
from .test_truth import _kill

SCENARIOS = [ROOT / "scenarios" / name for name in
             ("fan-in-via-headers.yaml", "fan-out.yaml", "same-trace-link.yaml", "dangling-link.yaml")]
BOUND = 60.0  # seconds from the fault to the end of the run


def run(reports: Path, notify: Any = lambda message: None) -> RunResult:
    result = run_matrix(RunSettings(scenarios=load_all(SCENARIOS), reports_dir=reports, runtime="local",
                                    backends=["jaeger", "zipkin"]), notify=notify)
    write(result, reports)
    return result


def keys(result: RunResult) -> set[tuple[str, ...]]:
    return {(c["scenario"], c["feature"], c["backend"], c["read_path"], c["pipeline"])
            for c in to_document(result)["cells"]}


def test_a_collector_killed_mid_send_leaves_every_cell_of_a_healthy_run(binaries: dict[str, Path],
                                                                        tmp_path: Path) -> None:
    healthy = run(tmp_path / "healthy")
    assert healthy.problems == []
    faulted: list[float] = []

    def notify(message: str) -> None:
        if message.startswith("emitting fan-out") and not faulted:  # the first scenario is sent, the rest not
            _kill("otelcol", tmp_path / "faulted")
            faulted.append(time.monotonic())
    result = run(tmp_path / "faulted", notify)
    assert faulted and time.monotonic() - faulted[0] <= BOUND
    said = [problem for problem in result.problems if problem.startswith("collector was killed by signal 9")]
    assert len(said) == 1, result.problems
    assert keys(result) == keys(healthy)  # not one cell fewer, nor one more
    cells = to_document(result)["cells"]
    unsent = [c for c in cells if c["scenario"] in ("same-trace-link", "dangling-link") and c["verdict"] == "error"]
    assert unsent and all("not emitted: collector was killed by signal 9" in c["reason"] for c in unsent)
    assert processes_in(tmp_path) == []


@pytest.fixture(autouse=True)
def _no_stray_services(tmp_path: Path) -> Any:
    yield
    assert processes_in(tmp_path) == []
