"""A small stack file with a Jaeger candidate, through the CLI: the stack's Jaeger (2.12.0) and the
candidate (2.11.0, from the cache) run side by side; the report names the stack file and sets the
two releases side by side in Between versions, and the exit code says the candidate lost nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

SCENARIOS = ("fan-in-via-headers", "cross-trace-attributes")


def test_stack_file_with_a_jaeger_candidate(binaries: dict[str, Path], tmp_path: Path) -> None:
    stack = tmp_path / "linkmatrix.stack.yaml"
    stack.write_text("jaeger:\n  version: 2.12.0\n")
    run = subprocess.run([sys.executable, "-m", "harness", "run", "--runtime", "local", "--stack", str(stack),
                          "--candidate", "jaeger=2.11.0", "--reports", str(tmp_path / "reports"),
                          *(str(ROOT / "scenarios" / f"{name}.yaml") for name in SCENARIOS)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "candidate: no cell the current release kept was lost or degraded" in run.stderr
    document = json.loads((tmp_path / "reports" / "latest" / "matrix.json").read_text())
    assert document["run"]["stack"]["given"] == {"jaeger": "2.12.0"}
    assert document["run"]["stack"]["candidates"][0]["pairs"] == [{"current": "jaeger", "candidate": "jaeger-2.11.0"}]
    assert document["run"]["releases_compared"] == {"jaeger": ["jaeger", "jaeger-2.11.0"]}
    assert document["run"]["versions"]["jaeger"] == "2.12.0"
    assert document["run"]["versions"]["jaeger-2.11.0"] == "2.11.0"
    # Only the stack's backends run: Jaeger and its candidate, no Zipkin or Tempo.
    assert {cell["backend"] for cell in document["cells"]} == {"jaeger", "jaeger-2.11.0"}
    cells = {(c["scenario"], c["feature"], c["read_path"], c["backend"]): c["verdict"] for c in document["cells"]}
    twins = [(key, verdict, cells[(*key[:3], "jaeger-2.11.0")]) for key, verdict in cells.items()
             if key[3] == "jaeger"]
    assert len(twins) > 20
    changed = {(key[0], key[1], key[2]) for key, ours, theirs in twins if ours != theirs}
    assert {(c["scenario"], c["feature"], c["read_path"]) for c in document["between_versions"]} == changed
    markdown = (tmp_path / "reports" / "latest" / "matrix.md").read_text()
    assert "**From the stack file `linkmatrix.stack.yaml`:** jaeger 2.12.0" in markdown
    assert "**Candidates** (`--candidate` jaeger=2.11.0)" in markdown
