"""Faults during the render stage, injected into a whole run against the fake backend and its UI
(tests/fakes): the backend dies, the backend is stopped (SIGSTOP), the browser is killed. Each
must end the run within a bound after the fault, name the component and how it ended in one
problem (exit code 1), leave the cells a healthy run has (each `error` where nothing could be
measured), and leave nothing running."""

from __future__ import annotations

import os
import signal
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from harness.backends import BACKENDS
from harness.model import RunResult
from harness.report import to_document, write
from harness.run._matrix import RunSettings, run_matrix
from harness.scenario._scenario import load_scenario
from tests.browser import requires_browser
from tests.fakes.adapter import FakeBackend

pytestmark = requires_browser

# Five traces with a linking span each (five pages), one of them linking a span of its own trace
# (its page is asked whether that target shows it is linked).
SCENARIO = """\
name: pages-to-render
problem: Consumers link a producer, and one of them a step of its own trace; what do the pages show?
pipelines: [direct]
traces:
  - id: producer
    spans:
      - name: publish
  - id: consumer
    repeat: 4
    spans:
      - name: consume
        links:
          - to: producer.publish
  - id: local
    spans:
      - name: prepare
      - name: handle
        links:
          - to: local.prepare
"""
BOUND = 60.0  # seconds from the fault to the end of the run


def run(folder: Path, on_render: Any = None, **faults: Any) -> RunResult:
    """A whole run against the fake; `on_render` is called (in a thread of its own) once the first
    trace page was asked for."""
    folder.mkdir(parents=True, exist_ok=True)
    scenario_file = folder / "pages-to-render.yaml"
    scenario_file.write_text(textwrap.dedent(SCENARIO))
    BACKENDS["fake"] = FakeBackend(**faults)
    stop = threading.Event()
    watcher = threading.Thread(target=_when_rendering, args=(folder, on_render, stop), daemon=True)
    if on_render:
        watcher.start()
    try:
        settings = RunSettings(scenarios=[load_scenario(scenario_file)], reports_dir=folder / "reports",
                               backends=["fake"], runtime="local", runtime_reason="a test", visibility_timeout=20.0)
        result = run_matrix(settings, notify=lambda message: None)
    finally:
        stop.set()
        del BACKENDS["fake"]
    write(result, folder / "reports")
    return result


def _when_rendering(folder: Path, act: Any, stop: threading.Event) -> None:
    while not stop.wait(0.05):
        if list(folder.glob("reports/*/config/ui-asked")) or list(folder.glob("reports/*/**/ui-asked")):
            act()
            return


def keys(result: RunResult) -> set[tuple[str, ...]]:
    return {(c["scenario"], c["feature"], c["backend"], c["read_path"], c["pipeline"])
            for c in to_document(result)["cells"]}


def render_cells(result: RunResult) -> list[dict[str, Any]]:
    return [c for c in to_document(result)["cells"] if c["read_path"] == "ui"]


def left_running(folder: Path) -> list[str]:
    """Processes of this test's own tree, or working in its folder: the fake, the browser."""
    mine = psutil.Process().children(recursive=True)
    return [f"{p.pid} {' '.join(p.cmdline())[:80]}" for p in mine
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE
            and ("chrom" in p.name() or str(folder) in (p.cwd() or ""))]


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    result = run(tmp_path_factory.mktemp("healthy"), ui="ok")
    assert result.problems == []
    assert {c["verdict"] for c in render_cells(result)} - {"preserved", "lost", "degraded", "n/a"} == set()
    return result


def test_a_healthy_run_renders_every_page_with_the_fake_ui(healthy: RunResult) -> None:
    cells = {(c["feature"], c["read_path"]): c for c in to_document(healthy)["cells"]
             if c["read_path"] == "ui"}
    assert cells[("render.link_shown", "ui")]["verdict"] == "preserved"
    assert cells[("render.target_marked", "ui")]["verdict"] == "preserved"


def _fault_checked(result: RunResult, healthy: RunResult, faulted_at: float, component: str, how: str,
                   folder: Path) -> None:
    ended = time.monotonic()
    assert ended - faulted_at <= BOUND
    said = [problem for problem in result.problems if component in problem and how in problem]
    assert len(said) == 1, result.problems  # named once, with how it ended; the CLI exits 1 on a problem
    assert keys(result) == keys(healthy)  # not one cell fewer, nor one more
    errors = [c for c in render_cells(result) if c["verdict"] == "error"]
    assert errors and all(how in c["reason"] for c in errors), [c["reason"] for c in errors]
    assert left_running(folder) == []


def test_a_backend_that_dies_while_its_pages_render_is_named_and_not_waited_for(healthy: RunResult,
                                                                                tmp_path: Path) -> None:
    faulted: list[float] = []
    result = run(tmp_path, on_render=lambda: faulted.append(time.monotonic()), ui="die")
    assert faulted
    _fault_checked(result, healthy, faulted[0], "fake", "exited with code 3", tmp_path)
    assert result.stages["render"] < 10  # no page waited out its 15 s


def test_a_backend_stopped_while_its_pages_render_is_found_by_its_health_probe(healthy: RunResult,
                                                                               tmp_path: Path) -> None:
    faulted: list[float] = []
    result = run(tmp_path, on_render=lambda: faulted.append(time.monotonic()), ui="stop")
    assert faulted
    _fault_checked(result, healthy, faulted[0], "fake", "stopped (SIGSTOP)", tmp_path)
    assert result.stages["render"] < 15  # found by the probe, not by each page's timeout


def _kill_the_browser(faulted: list[float]) -> None:
    """The browser's main process among this test's own children (never anyone else's)."""
    for process in psutil.Process().children(recursive=True):
        with_pipe = "--remote-debugging-pipe" in " ".join(process.cmdline())
        if with_pipe and "chrom" in process.name():
            faulted.append(time.monotonic())
            os.kill(process.pid, signal.SIGKILL)
            return


def test_a_browser_killed_while_rendering_is_named_with_its_signal(healthy: RunResult, tmp_path: Path) -> None:
    faulted: list[float] = []
    result = run(tmp_path, on_render=lambda: _kill_the_browser(faulted), ui="slow", ui_seconds=1)
    assert faulted, "no browser process found to kill"
    _fault_checked(result, healthy, faulted[0], "the browser", "killed by signal 9", tmp_path)
