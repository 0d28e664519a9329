"""The render stage on traces bigger than a screen, in the real Zipkin Lens: a linking span far
down a long span list is found (Lens draws only the rows in view), and a page is opened for at
most MAX_SPANS_PER_TRACE linking spans of a trace — the others are left out of the render cells,
which say how many they looked at, and never counted as "not on the page"."""

from __future__ import annotations

from pathlib import Path

from harness.render._stage import MAX_SPANS_PER_TRACE
from harness.report import to_document
from harness.run._matrix import RunSettings, run_matrix
from harness.scenario._scenario import load_all

PLAIN = 48  # spans before the linking ones: they push them out of the first screen of the list
LINKING = 12


def scenario(folder: Path) -> Path:
    plain = "".join(f"      - name: p{i}\n" for i in range(PLAIN))
    linking = "".join(f"      - name: w{i}\n        links:\n          - to: target.origin\n"
                      f"            attributes: {{n: {i}}}\n" for i in range(LINKING))
    path = folder / "long-trace.yaml"
    path.write_text("name: long-trace\nproblem: linking spans below the first screen of a long trace.\n"
                    "traces:\n  - id: target\n    spans:\n      - name: origin\n"
                    f"  - id: work\n    spans:\n{plain}{linking}")
    return path


def test_rows_below_the_first_screen_are_found_and_the_rest_left_out_said_so(binaries: dict[str, Path],
                                                                               tmp_path: Path) -> None:
    settings = RunSettings(scenarios=load_all([scenario(tmp_path)]), reports_dir=tmp_path / "reports",
                           runtime="local", backends=("zipkin",))
    document = to_document(run_matrix(settings, notify=lambda message: None))
    cells = {c["feature"]: c for c in document["cells"] if c["read_path"] == "lens"}
    shown = cells["render.link_shown"]
    assert shown["verdict"] == "preserved", shown
    assert shown["evidence"]["looked_at"].startswith(f"{MAX_SPANS_PER_TRACE} of {LINKING} linking spans")
    assert len(shown["evidence"]["shown"]) == MAX_SPANS_PER_TRACE
    assert all(span["found"] for span in shown["evidence"]["shown"].values())
    assert cells["render.attributes_shown"]["verdict"] == "preserved"
    assert cells["render.target_navigable"]["verdict"] == "lost"  # what Lens does, on every span looked at
