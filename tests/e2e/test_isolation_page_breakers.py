"""No verdict depends on which other scenarios ran in the same run, not even beside trace pages that
break: the shipped catalog goes through the real collector, Jaeger and Zipkin (Lens in a real
Chromium) once alone and once beside page-breaking scenarios (tests/e2e/page_breakers), and every
catalog cell must keep its verdict and hop.

Two flavours, each two whole runs:
- fake UI (always): the fake backend (tests/fakes) is one more table entry, with a UI that breaks
  only the breakers' trace pages (the page of a trace holding a span named `page-throws` is blank
  after its script threw; one holding `page-hangs` hangs its tab when a link is followed), so the
  render stage meets a broken page beside the real catalog wherever no Jaeger UI is given (CI).
- Jaeger UI (when LINKMATRIX_JAEGER_UI_ASSETS names one): the real UI and the shapes that break it
  (tests/fixtures/jaeger-ui-1.76.0-shapes: a root linking its own child and two roots linking
  each other leave the page blank, following a self-link hangs the tab).

The breakers come first in the run, so every catalog page is rendered after a broken one, on the
same browser and the same pool of tabs. A run cannot share another's stack (the collector is
configured with a pipeline per scenario of the run), so each flavour costs two whole runs."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from harness.backends import BACKENDS
from harness.backends.jaeger._adapter import UI_ASSETS, UI_ASSETS_ENV
from harness.report import to_document, validate, write
from harness.run._matrix import RunSettings, run_matrix
from harness.scenario._scenario import load_all
from harness.stack._backend import Backend

from ..browser import requires_browser
from ..fakes.adapter import FakeBackend
from .conftest import ROOT, processes_in

pytestmark = requires_browser

CATALOG = load_all([ROOT / "scenarios"])
BREAKERS = load_all([Path(__file__).parent / "page_breakers"])
KEY = ("scenario", "feature", "backend", "read_path", "pipeline")
Cells = dict[tuple[str, ...], tuple[str, str | None]]


@dataclass(frozen=True)
class Flavour:
    ui: tuple[str, str]  # (backend, read path) whose pages the breakers break
    backends: list[str]  # the broken UI's backend first: its pages are rendered first, the other UI's after them
    table: Mapping[str, Backend] = field(default_factory=lambda: BACKENDS)
    options: dict[str, dict[str, str]] = field(default_factory=dict)
    blank: tuple[str, ...] = ()  # breakers whose page is blank
    hung: tuple[str, ...] = ()  # breakers whose tab hangs once a link is followed


def fake_ui() -> Flavour:
    fake = FakeBackend(ui="ok", ui_breaks={"page-throws": "blank", "page-hangs": "hang"})
    return Flavour(("fake", "ui"), ["fake", "jaeger", "zipkin"], {**BACKENDS, "fake": fake},
                   blank=("fake-ui-blank-page",), hung=("fake-ui-hung-tab",))


def jaeger_ui() -> Flavour:
    assets = os.environ.get(UI_ASSETS_ENV, "")
    if not assets:
        pytest.skip(f"no Jaeger UI given: set {UI_ASSETS_ENV} to a folder of built jaeger-ui assets to run the "
                    "catalog beside the shapes that break the real UI (the fake UI flavour runs without it)")
    return Flavour(("jaeger", "ui"), ["jaeger", "zipkin"], options={"jaeger": {UI_ASSETS: assets}},
                   blank=("jaeger-ui-root-links-child", "jaeger-ui-two-roots-cycle"), hung=("jaeger-ui-self-link",))


FLAVOURS: dict[str, Callable[[], Flavour]] = {"fake UI": fake_ui, "Jaeger UI": jaeger_ui}


@dataclass
class Run:
    document: dict[str, Any]
    seconds: float
    left_running: list[str]

    def cells(self, names: set[str]) -> Cells:
        return {tuple(c[k] for k in KEY): (c["verdict"], c.get("hop")) for c in self.document["cells"]
                if c["scenario"] in names}

    def cell(self, scenario: str, feature: str, ui: tuple[str, str]) -> dict[str, Any]:
        (found,) = [c for c in self.document["cells"] if (c["scenario"], c["feature"], c["backend"], c["read_path"],
                                                          c["pipeline"]) == (scenario, feature, *ui, "collector")]
        return dict(found)

    def errors(self) -> list[tuple[str, ...]]:
        return [tuple(c[k] for k in KEY) for c in self.document["cells"] if c["verdict"] == "error"]


def left_running(folder: Path) -> list[str]:
    """The run's services (they work in its folder) and any browser this test process still has."""
    browsers = [f"{p.pid} {p.name()}" for p in psutil.Process().children(recursive=True)
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE and "chrom" in p.name()]
    return processes_in(folder) + browsers


def run(flavour: Flavour, scenarios: list[Any], folder: Path) -> Run:
    settings = RunSettings(scenarios=scenarios, reports_dir=folder, runtime="local", runtime_reason="a test",
                           backends=flavour.backends, table=flavour.table, backend_options=flavour.options)
    started = time.monotonic()
    result = run_matrix(settings, notify=lambda message: None)
    seconds = time.monotonic() - started
    write(result, folder)  # a failure can be read in its report
    document = to_document(result)
    validate(document)
    assert result.problems == [], result.problems
    assert "/".join(flavour.ui) not in document["run"].get("skipped", {}), document["run"]["skipped"]
    return Run(document, seconds, left_running(folder))


@pytest.fixture(scope="module", params=list(FLAVOURS))
def runs(request: pytest.FixtureRequest, binaries: dict[str, Path],
         tmp_path_factory: pytest.TempPathFactory) -> tuple[Flavour, Run, Run]:
    flavour = FLAVOURS[request.param]()
    alone = run(flavour, CATALOG, tmp_path_factory.mktemp("alone"))
    beside = run(flavour, BREAKERS + CATALOG, tmp_path_factory.mktemp("beside"))
    print(f"\n{request.param}: catalog alone {alone.seconds:.1f} s, beside the page breakers {beside.seconds:.1f} s")
    return flavour, alone, beside


def test_every_catalog_cell_is_the_same_beside_page_breakers(runs: tuple[Flavour, Run, Run]) -> None:
    flavour, alone, beside = runs
    names = {scenario.name for scenario in CATALOG}
    before, after = alone.cells(names), beside.cells(names)
    assert before.keys() == after.keys(), (sorted(before.keys() - after.keys()), sorted(after.keys() - before.keys()))
    changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    assert changed == {}
    assert alone.errors() == [] and beside.errors() == []  # an error equal to an error would prove nothing
    on_the_broken_ui = [key for key in before if key[2:4] == flavour.ui]
    print(f"{len(before)} catalog cells compared, {len(on_the_broken_ui)} of them on {'/'.join(flavour.ui)}")
    # Not vacuous: the catalog's own pages on that UI were read, and showed links.
    assert any(before[key][0] == "preserved" for key in on_the_broken_ui)


def test_the_breakers_have_cells_of_their_own(runs: tuple[Flavour, Run, Run]) -> None:
    _, alone, beside = runs
    for scenario in BREAKERS:
        assert beside.cells({scenario.name}), scenario.name
        assert not alone.cells({scenario.name}), scenario.name


def test_each_breaking_page_really_broke(runs: tuple[Flavour, Run, Run]) -> None:
    flavour, _, beside = runs
    for scenario in flavour.blank:
        shown = beside.cell(scenario, "render.trace_shown", flavour.ui)
        assert shown["verdict"] == "lost" and "the page is blank: its script threw" in str(shown), shown
    for scenario in flavour.hung:
        navigable = beside.cell(scenario, "render.target_navigable", flavour.ui)
        assert navigable["verdict"] == "lost" and "the tab stopped answering after following it" in str(navigable), \
            navigable
        pages = beside.cell(scenario, "render.trace_shown", flavour.ui)["evidence"]["pages"]
        assert any("closed, a fresh page opened" in page.get("after", "") for page in pages.values()), pages


def test_nothing_is_left_running(runs: tuple[Flavour, Run, Run]) -> None:
    _, alone, beside = runs
    assert alone.left_running == [] and beside.left_running == []
