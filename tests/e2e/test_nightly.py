"""The nightly workflow's steps, run here as the workflow runs them (`python -m harness.nightly`):
two shards (local processes, three scenarios, Jaeger and Zipkin), merged, judged against no
baseline, a baseline with a planted regression, a waiver, an expired waiver, a malformed waivers
file, a missing shard, cells left in error, an upgrade candidate that lost what the current release
kept — each with its exit code and the step summary's text."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT

SCENARIOS = ("same-trace-link", "fan-out", "dangling-link")
RUN_OPTIONS = ("--runtime", "local", "--backend", "jaeger", "--backend", "zipkin")


@dataclass
class Night:
    code: int
    output: str  # stdout and stderr, as a workflow log shows them
    summary: str  # what reached the step summary
    outputs: dict[str, str]  # the step's outputs
    reports: Path


def nightly(tmp: Path, *args: str) -> tuple[int, str, dict[str, str]]:
    """One step, in the environment a GitHub runner gives it."""
    tmp.mkdir(parents=True, exist_ok=True)
    summary, outputs = tmp / "step-summary.md", tmp / "github-output"
    env = {**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
           "GITHUB_OUTPUT": str(outputs)}
    done = subprocess.run([sys.executable, "-m", "harness.nightly", *args], cwd=ROOT, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    said = dict(line.split("=", 1) for line in outputs.read_text().splitlines()) if outputs.exists() else {}
    return done.returncode, done.stdout + (summary.read_text() if summary.exists() else ""), said


def judge(tmp: Path, shards: list[Path], *options: str) -> Night:
    reports = tmp / "merged"
    code, output, outputs = nightly(tmp, "judge", *map(str, shards), "--expect-shards", "2", "--reports",
                                    str(reports), *options)
    summary = (tmp / "step-summary.md").read_text() if (tmp / "step-summary.md").exists() else ""
    return Night(code, output, summary, outputs, reports)


@pytest.fixture(scope="module")
def shards(binaries: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Each shard's report, as the shard jobs upload it."""
    base = tmp_path_factory.mktemp("shards")
    scenarios = [arg for name in SCENARIOS for arg in ("--scenarios", str(ROOT / "scenarios" / f"{name}.yaml"))]
    reports = []
    for index in (1, 2):
        code, output, _ = nightly(base / f"s{index}", "shard", f"{index}/2", "--reports", str(base / f"s{index}"),
                                  *scenarios, "--", *RUN_OPTIONS)
        assert code == 0, output[-3000:]
        assert f"shard {index}/2: report in" in output
        reports.append(base / f"s{index}" / "shard" / "matrix.json")
    return reports


def plant_regression(report: Path, baseline: Path) -> dict[str, Any]:
    """A copy of `report` where a cell tonight's run lost (or degraded) was preserved: tonight regressed it."""
    document = json.loads(report.read_text())
    planted = next(cell for cell in document["cells"] if cell["verdict"] in ("lost", "degraded")
                   and cell["pipeline"] == "collector")
    kept = {key: value for key, value in planted.items() if key not in ("hop", "changed_at", "meaning", "summary")}
    baseline.parent.mkdir(parents=True, exist_ok=True)
    baseline.write_text(json.dumps({**document, "cells": [
        {**kept, "verdict": "preserved"} if cell is planted else cell for cell in document["cells"]]}))
    return planted


def where(cell: dict[str, Any]) -> str:
    return f"{cell['scenario']} · pipeline collector · {cell['feature']} · {cell['backend']}/{cell['read_path']}"


def test_without_a_baseline_the_night_says_so_and_the_merged_evidence_resolves(shards: list[Path],
                                                                               tmp_path: Path) -> None:
    night = judge(tmp_path, shards, "--baseline", str(tmp_path / "no-such-baseline.json"),
                  "--next-baseline", str(tmp_path / "next"))
    assert night.code == 0, night.output[-3000:]
    assert "::warning::⚠️ No baseline" in night.output
    assert "> ⚠️ No baseline" in night.summary and "becomes the next night's baseline without having been compared" \
        in night.summary
    assert night.summary.startswith("## linkmatrix nightly: ✅ nothing got worse (exit 0)")
    assert night.outputs == {"outcome": "clean", "exit_code": "0"}
    assert (tmp_path / "next" / "matrix.json").is_file()
    merged = night.reports / "latest"
    assert (merged / "night.md").read_text() == night.summary
    # Every evidence link of the merged page resolves: screenshots of both shards, in the merged folder.
    links = re.findall(r'href="([^"#][^"]*)"', (merged / "matrix.html").read_text())
    assert len(links) >= 2 and all((merged / link).is_file() for link in links), links
    assert {link.split("/")[1] for link in links} == {json.loads(s.read_text())["run"]["id"] for s in shards}
    for shard in shards:
        run_id = json.loads(shard.read_text())["run"]["id"]
        assert (merged / "shards" / run_id / "logs" / "collector.log").is_file()
        assert any((merged / "shards" / run_id / "raw" / "jaeger" / "api_v3").iterdir())


def test_a_planted_regression_fails_the_night_until_a_waiver_covers_it_and_again_once_it_expired(
        shards: list[Path], tmp_path: Path) -> None:
    # The baseline: tonight's own merged cells with one of its losses planted as preserved.
    first = judge(tmp_path / "tonight", shards)
    baseline = tmp_path / "baseline" / "matrix.json"
    planted = plant_regression(first.reports / "latest" / "matrix.json", baseline)

    night = judge(tmp_path / "regressed", shards, "--baseline", str(baseline), "--next-baseline",
                  str(tmp_path / "regressed" / "next"))
    assert night.code == 3, night.output[-3000:]
    assert night.outputs["outcome"] == "regressed"
    assert night.summary.startswith("## linkmatrix nightly: ❌ regressed")
    assert f"- ❌ regressed: {where(planted)}: preserved → {planted['verdict']} at {planted['hop']}" in night.summary
    assert f"::error::regressed: {where(planted)}: preserved → {planted['verdict']}" in night.output
    assert not (tmp_path / "regressed" / "next").exists()  # a red night is no one's baseline
    merged = night.reports / "latest"
    assert json.loads((merged / "diff.json").read_text())["regressed"][0]["feature"] == planted["feature"]
    junit = (merged / "junit.xml").read_text()
    assert junit.count("<failure") == 1 and "regressed against the baseline: preserved →" in junit

    waivers = tmp_path / "waivers.yaml"
    until = date.today() + timedelta(days=30)
    waivers.write_text(f"waivers:\n  - cell: {{scenario: {planted['scenario']}, feature: '{planted['feature']}', "
                       f"backend: {planted['backend']}}}\n    reason: known, fixed upstream\n    expires: {until}\n"
                       f"  - cell: {{backend: 'nothing-*'}}\n    reason: long fixed\n    expires: 2020-01-31\n")
    night = judge(tmp_path / "waived", shards, "--baseline", str(baseline), "--waivers", str(waivers),
                  "--next-baseline", str(tmp_path / "waived" / "next"))
    assert night.code == 0, night.output[-3000:]
    assert f"- ⚠️ waived: {where(planted)}: preserved → {planted['verdict']}" in night.summary
    assert f"waived until {until}: known, fixed upstream" in night.summary
    assert f"::warning::waived until {until}: {where(planted)}" in night.output
    assert "- ⌛ expired waiver: backend=nothing-* — expired 2020-01-31, waives nothing: long fixed" in night.summary
    kept = json.loads((tmp_path / "waived" / "next" / "matrix.json").read_text())
    assert next(c for c in kept["cells"] if where(c) == where(planted))["verdict"] == "preserved"  # not the new normal

    waivers.write_text(waivers.read_text().replace(f"expires: {until}", f"expires: {date.today() - timedelta(days=1)}"))
    night = judge(tmp_path / "expired", shards, "--baseline", str(baseline), "--waivers", str(waivers))
    assert night.code == 3 and f"- ❌ regressed: {where(planted)}" in night.summary
    assert "- ⌛ expired waiver: scenario=" in night.summary

    waivers.write_text("waivers:\n  - cell: {backend: jaeger}\n    reason: no date\n")
    night = judge(tmp_path / "malformed", shards, "--baseline", str(baseline), "--waivers", str(waivers))
    assert night.code == 2
    assert f"error: {waivers}: $.waivers[0].expires: is required" in night.output


def test_cells_left_in_error_or_a_missing_shard_are_could_not_measure_not_a_regression(
        shards: list[Path], tmp_path: Path) -> None:
    # A shard whose cell stayed in error after its re-run, against a baseline where that cell was preserved.
    flaky = tmp_path / "flaky-shard"
    shutil.copytree(shards[0].resolve().parent, flaky)
    document = json.loads((flaky / "matrix.json").read_text())
    broken = next(cell for cell in document["cells"] if cell["verdict"] == "preserved")
    broken.update(verdict="error", reason="read timed out")
    broken.pop("hop", None)
    (flaky / "matrix.json").write_text(json.dumps(document))
    baseline = judge(tmp_path / "tonight", shards).reports / "latest" / "matrix.json"
    night = judge(tmp_path / "flaky", [flaky / "matrix.json", shards[1]], "--baseline", str(baseline))
    assert night.code == 4, night.output[-3000:]
    assert night.outputs["outcome"] == "could not measure"
    assert night.summary.startswith("## linkmatrix nightly: 💥 could not measure")
    assert f"- 💥 could not measure: {where(broken)}: preserved → error (read timed out)" in night.summary
    assert "0 regressed" in night.summary and "❌ regressed" not in night.summary

    night = judge(tmp_path / "missing", [shards[0], tmp_path / "shard-2-never-uploaded" / "matrix.json"],
                  "--baseline", str(baseline))
    assert night.code == 4 and "1 shard report(s) missing" in night.summary
    assert "::error::💥 1 shard report(s) missing" in night.output


def test_a_shard_reruns_its_error_cells_once_and_keeps_what_is_left(binaries: dict[str, Path],
                                                                    tmp_path: Path) -> None:
    """A visibility deadline of 1 ms: the first attempt has error cells, the re-run too."""
    code, output, _ = nightly(tmp_path, "shard", "1/1", "--reports", str(tmp_path),
                              "--scenarios", str(ROOT / "scenarios" / "fan-out.yaml"),
                              "--", "--runtime", "local", "--backend", "jaeger", "--timeout", "0.001")
    assert code == 0, output[-3000:]
    if "run once more" not in output:
        pytest.skip("every read answered within 1 ms: no error cell to re-run")
    assert "::notice::shard 1/1: 1 scenario(s) with error cells, run once more: fan-out" in output
    report = json.loads((tmp_path / "shard" / "matrix.json").read_text())
    assert report["run"]["reruns"]["scenarios"] == ["fan-out"]
    assert any(p.startswith("first attempt, before the re-run: ") for p in report["run"]["problems"])
    left = sum(cell["verdict"] == "error" for cell in report["cells"])
    assert f"({left} error cell(s) left)" in output


def plant_candidate_regression(report: Path, planted: Path) -> dict[str, Any]:
    """A copy of `report` as if Jaeger 9.9.9 had run beside the current Jaeger as a candidate: its
    columns and cells are the current ones', except one cell the current Jaeger kept, lost by it."""
    document = json.loads(report.read_text())
    candidate = "jaeger-9.9.9"
    kept = next(cell for cell in document["cells"] if cell["backend"] == "jaeger" and cell["verdict"] == "preserved"
                and cell["pipeline"] == "collector")
    twins = [{**cell, "backend": candidate} for cell in document["cells"] if cell["backend"] == "jaeger"]
    lost = next(twin for twin in twins if where(twin) == where(kept).replace("· jaeger/", f"· {candidate}/"))
    lost.update(verdict="lost", hop="backend", changed_at=["backend"], summary="planted: the candidate lost it")
    document["columns"] += [{**column, "backend": candidate, "label": f"Jaeger 9.9.9 {column['read_path']}"}
                            for column in document["columns"] if column["backend"] == "jaeger"]
    document["cells"] += twins
    document["run"]["stack"] = {"candidates": [{"component": "jaeger", "version": "9.9.9", "by": "backend",
                                                "pairs": [{"current": "jaeger", "candidate": candidate}]}]}
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_text(json.dumps(document))
    return kept


def test_a_candidate_that_lost_a_cell_the_current_release_kept_fails_the_night_with_5_and_a_regression_wins(
        shards: list[Path], tmp_path: Path) -> None:
    tonight = judge(tmp_path / "tonight", shards)
    report = tmp_path / "candidate" / "matrix.json"
    kept = plant_candidate_regression(tonight.reports / "latest" / "matrix.json", report)
    line = f"candidate regressed: jaeger 9.9.9 · {kept['scenario']} · {kept['feature']} · collector · " \
           f"{kept['read_path']}: preserved (jaeger) → lost at backend (jaeger-9.9.9)"

    night = judge(tmp_path / "candidate-night", [report], "--expect-shards", "1", "--next-baseline",
                  str(tmp_path / "candidate-night" / "next"))
    assert night.code == 5, night.output[-3000:]
    assert night.outputs == {"outcome": "candidate regressed", "exit_code": "5"}
    assert night.summary.startswith("## linkmatrix nightly: 🧪 candidate regressed")
    assert f"> - {line}" in night.summary
    assert f"::error::{line}" in night.output
    assert not (tmp_path / "candidate-night" / "next").exists()  # a red night is no one's baseline

    # The same night against a baseline it regressed: what runs today comes first (3 wins over 5).
    baseline = tmp_path / "baseline" / "matrix.json"
    plant_regression(report, baseline)
    night = judge(tmp_path / "both", [report], "--expect-shards", "1", "--baseline", str(baseline))
    assert night.code == 3 and night.outputs["outcome"] == "regressed", night.output[-3000:]
    assert f"> - {line}" in night.summary and f"::error::{line}" in night.output

    # A candidate that kept everything: a clean night that says so.
    document = json.loads(report.read_text())
    document["cells"] = [cell for cell in document["cells"] if cell["backend"] != "jaeger-9.9.9" or
                         cell["verdict"] != "lost" or cell.get("summary") != "planted: the candidate lost it"]
    report.write_text(json.dumps(document))
    night = judge(tmp_path / "kept", [report], "--expect-shards", "1")
    assert night.code == 0, night.output[-3000:]
    assert "> 🧪 the candidates kept every cell the current releases kept" in night.summary
