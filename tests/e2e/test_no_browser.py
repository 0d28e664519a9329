"""A machine without a browser: the run still measures every API column, lists the render columns as
not measured ("no browser", with why), has no error cell, and exits 0 — as the README says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness.stack.toolchain._browser import CHROMIUM_ENV, ON_PATH

from .conftest import ROOT

SCENARIO = ROOT / "scenarios" / "cross-trace-attributes.yaml"


def path_without_browsers(folder: Path) -> str:
    """A PATH with every program of this one but the browsers: the machine as a newcomer has it."""
    folder.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        for entry in Path(directory).glob("*") if Path(directory).is_dir() else []:
            target = folder / entry.name
            if entry.name not in ON_PATH and not target.exists() and os.access(entry, os.X_OK):
                target.symlink_to(entry)
    return str(folder)


def test_without_a_browser_the_api_columns_are_measured_and_render_is_not(binaries: dict[str, Path],
                                                                          tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != CHROMIUM_ENV}
    env.update(PATH=path_without_browsers(tmp_path / "bin"), PLAYWRIGHT_BROWSERS_PATH=str(tmp_path / "no-browsers"))
    reports = tmp_path / "reports"
    done = subprocess.run([sys.executable, "-m", "harness", "run", str(SCENARIO), "--runtime", "local",
                           "--reports", str(reports)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "render columns not measured — no browser" in done.stderr
    assert "Traceback" not in done.stderr and "problem:" not in done.stderr
    document = json.loads((reports / "latest" / "matrix.json").read_text())
    columns = {(column["backend"], column["read_path"]) for column in document["columns"]}
    assert ("jaeger", "api_v3") in columns and ("zipkin", "api_v2") in columns, columns
    assert ("zipkin", "lens") not in columns and ("jaeger", "ui") not in columns, columns
    skipped = document["run"]["skipped"]
    assert skipped.get("zipkin/lens", "").startswith("no browser: "), skipped
    verdicts = {cell["verdict"] for cell in document["cells"]}
    assert "error" not in verdicts and "preserved" in verdicts
    assert not any(cell["feature"].startswith("render.") for cell in document["cells"])
    decide = (reports / "latest" / "matrix.md").read_text()
    assert "no browser" in decide


def test_a_named_browser_that_does_not_run_is_one_problem_line_and_the_api_report(binaries: dict[str, Path],
                                                                                  tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    done = subprocess.run([sys.executable, "-m", "harness", "run", str(SCENARIO), "--runtime", "local",
                           "--reports", str(reports)], cwd=ROOT, env={**os.environ, CHROMIUM_ENV: "/bin/false"},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    problems = [line for line in done.stderr.splitlines() if line.startswith("problem:")]
    assert len(problems) == 1 and "/bin/false" in problems[0] and "did not start" in problems[0], problems
    document = json.loads((reports / "latest" / "matrix.json").read_text())
    assert document["run"]["skipped"]["zipkin/lens"].startswith("the browser did not start")
    assert "error" not in {cell["verdict"] for cell in document["cells"]}
    assert {(cell["backend"], cell["read_path"]) for cell in document["cells"]} >= {("jaeger", "api_v3"),
                                                                                   ("zipkin", "api_v2")}
