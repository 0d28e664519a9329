"""A real Jaeger UI, given as assets (LINKMATRIX_JAEGER_UI_ASSETS) to the local Jaeger: the recorded
cases of tests/fixtures/jaeger-ui-1.76.0 are sent again as scenarios (jaeger_ui_cases/), and what
the live page shows must give the verdicts, and the facts, that the recorded page gives.
(d2, two roots in one trace, cannot be written as a scenario.)"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from harness.backends.jaeger._adapter import UI_ASSETS, UI_ASSETS_ENV
from harness.model._features import FEATURES
from harness.report import to_document
from harness.run._matrix import RunSettings, run_matrix
from harness.scenario._scenario import load_all

from ..browser import FOUND
from ..jaeger_ui_recorded import CASES, linking, read_recorded, verdict

CASE_SCENARIOS = Path(__file__).parent / "jaeger_ui_cases"
RENDER_FEATURES = [feature for feature, spec in FEATURES.items() if spec.is_render]
LIVE_CASES = [case for case in CASES if case != "d2_root_link_same_trace"]

pytestmark = pytest.mark.skipif(
    not os.environ.get(UI_ASSETS_ENV) or FOUND is None,
    reason=f"no Jaeger UI given: set {UI_ASSETS_ENV} to a folder of built jaeger-ui assets (and a browser)")


@pytest.fixture(scope="module")
def live(binaries: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = RunSettings(scenarios=load_all([CASE_SCENARIOS]), reports_dir=tmp_path_factory.mktemp("reports"),
                           backends=["jaeger"], runtime="local",
                           backend_options={"jaeger": {UI_ASSETS: os.environ[UI_ASSETS_ENV]}})
    document = to_document(run_matrix(settings, notify=lambda message: None))
    assert "jaeger/ui" not in document["run"].get("skipped", {}), document["run"]["skipped"]
    return document


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    return read_recorded()


def _cells(document: dict[str, Any], scenario: str) -> dict[str, dict[str, Any]]:
    return {cell["feature"]: cell for cell in document["cells"]
            if (cell["scenario"], cell["backend"], cell["read_path"], cell["pipeline"])
            == (scenario, "jaeger", "ui", "collector")}


@pytest.mark.parametrize("case", LIVE_CASES)
def test_the_live_jaeger_ui_gives_the_recorded_verdicts(case: str, live: dict[str, Any],
                                                        recorded: dict[str, Any]) -> None:
    cells = _cells(live, case.replace("_", "-"))
    assert cells, f"no Jaeger UI cells for {case}"
    for feature in RENDER_FEATURES:
        got = cells[feature]["verdict"] if feature in cells else "not judged"
        assert got == verdict(case, feature, recorded), f"{case} {feature}: {cells.get(feature)}"


@pytest.mark.parametrize("case", LIVE_CASES)
def test_the_live_jaeger_ui_shows_the_recorded_facts(case: str, live: dict[str, Any],
                                                     recorded: dict[str, Any]) -> None:
    expected = linking(case, recorded)
    name = CASES[case]["linking_span"]["name"]
    shown = next(span for label, span in _cells(live, case.replace("_", "-"))["render.link_shown"]["evidence"]
                 ["shown"].items() if label.endswith(f".{name}"))
    assert [(bool(link.names), bool(link.href), link.clickable, "another trace" in link.text)
            for link in expected.links] == \
        [(bool(link.get("names")), bool(link.get("href")), bool(link.get("clickable")),
          "another trace" in link["text"]) for link in shown["links"]]
    assert (shown["parent"] == "") == (expected.parent == "")
    assert not any(link.get("attributes") for link in shown["links"])  # the UI shows no link attributes
