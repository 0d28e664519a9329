"""A real Jaeger UI, given as assets (LINKMATRIX_JAEGER_UI_ASSETS) to the local Jaeger: the recorded
cases of tests/fixtures/jaeger-ui-1.76.0 are sent again as scenarios (jaeger_ui_cases/), and what
the live page shows must give the verdicts, and the facts, that the recorded page gives.
(d2, two roots in one trace, cannot be written as a scenario.) The link shapes that break the
trace page (tests/fixtures/jaeger-ui-1.76.0-shapes) are sent again too (jaeger_ui_shapes/): each
must give the verdicts recorded, and the page facts (drawn or not in the page's words, the links
shown with their labels, where following each led)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from harness.backends.jaeger._adapter import UI_ASSETS, UI_ASSETS_ENV
from harness.model._features import FEATURES
from harness.report import to_document
from harness.run._matrix import RunSettings, run_matrix
from harness.scenario._scenario import load_all

from ..browser import FOUND
from ..jaeger_ui_recorded import CASES, CASES_SHAPES, as_seen, linking, read_recorded, shape_scenario, verdict

CASE_SCENARIOS = Path(__file__).parent / "jaeger_ui_cases"
SHAPE_SCENARIOS = Path(__file__).parent / "jaeger_ui_shapes"
RENDER_FEATURES = [feature for feature, spec in FEATURES.items() if spec.is_render]
LIVE_CASES = [case for case in CASES if case != "d2_root_link_same_trace"]

pytestmark = pytest.mark.skipif(
    not os.environ.get(UI_ASSETS_ENV) or FOUND is None,
    reason=f"no Jaeger UI given: set {UI_ASSETS_ENV} to a folder of built jaeger-ui assets (and a browser)")


@pytest.fixture(scope="module")
def live(binaries: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = RunSettings(scenarios=load_all([CASE_SCENARIOS, SHAPE_SCENARIOS]),
                           reports_dir=tmp_path_factory.mktemp("reports"), backends=["jaeger"], runtime="local",
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


@pytest.mark.parametrize("case", sorted(CASES_SHAPES))
def test_the_live_jaeger_ui_gives_the_recorded_verdicts_of_a_shape(case: str, live: dict[str, Any]) -> None:
    cells = _cells(live, shape_scenario(case))
    assert cells, f"no Jaeger UI cells for {shape_scenario(case)}"
    recorded = CASES_SHAPES[case]["verdicts"]
    for feature in RENDER_FEATURES:
        got = cells[feature]["verdict"] if feature in cells else "not judged"
        assert got == recorded.get(feature, "not judged"), f"{case} {feature}: {cells.get(feature)}"


HEX_ID = re.compile(r"(?<![0-9a-f])([0-9a-f]{32}|[0-9a-f]{16})(?![0-9a-f])")


def _ids_in_order(facts: dict[str, Any]) -> dict[str, Any]:
    """Facts with each trace or span id written as the order it first appears in: a live run sends
    the same shape with new ids."""
    text = json.dumps(facts)
    order: dict[str, str] = {}
    return dict(json.loads(HEX_ID.sub(lambda found: order.setdefault(found[0], f"<id {len(order) + 1}>"), text)))


def _followed(link: dict[str, Any]) -> tuple[Any, str]:
    """Where following a link led, without the driver's own detail (its timeout message)."""
    return link.get("arrived"), str(link.get("after_following", "")).split(" (")[0]


@pytest.mark.parametrize("case", sorted(CASES_SHAPES))
def test_the_live_jaeger_ui_shows_the_recorded_facts_of_a_shape(case: str, live: dict[str, Any]) -> None:
    recorded = CASES_SHAPES[case]
    cells = _cells(live, shape_scenario(case))
    (recorded_page,) = recorded["pages"].values()
    (live_page,) = cells["render.trace_shown"]["evidence"]["pages"].values()
    for field in ("drawn", "words", "console_errors"):  # drawn or not, in the page's own words
        assert live_page.get(field) == recorded_page.get(field), field
    assert bool(live_page.get("after")) == bool(recorded_page.get("after"))  # the tab closed after a hang
    shown = cells["render.link_shown"]["evidence"].get("shown", {})
    assert set(shown) == set(recorded["shown"])
    for label, facts in recorded["shown"].items():  # the links with their labels, names, ways to the target
        assert _ids_in_order(as_seen(shown[label])) == _ids_in_order(as_seen(facts)), label
        assert [_followed(link) for link in shown[label]["links"]] == [_followed(link) for link in facts["links"]]
