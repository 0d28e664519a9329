"""The nightly run's steps, one command each, so the workflow and `make test` run the same ones.

    python -m harness.nightly images            the images a Docker run uses (the workflow's cache key)
    python -m harness.nightly shard 1/2 …       run a shard; re-run once the scenarios that had error cells
    python -m harness.nightly judge SHARDS…     merge, compare with the baseline (waivers), judge the night

`judge` exits 0 (nothing got worse), 3 (a cell regressed against the baseline and no waiver covers
it), 5 (an upgrade candidate lost or degraded a cell the current release kept), 4 (could not
measure: error cells left after the re-run, or a shard's report missing — a flaky night, not a
broken upgrade) or 2 (bad input); 3 wins over 5, 5 over 4. On a GitHub runner it writes the night's summary to
the step summary, warnings and errors as annotations, and `outcome` as a step output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from .model import ERROR, jsonio
from .report import candidates, load_report
from .report.candidates import CANDIDATE_REGRESSED
from .report.diff import REGRESSED_EXIT, UNMEASURED_EXIT, cell_key

ANNOTATIONS_SHOWN = 10  # GitHub shows ten error annotations per step; the rest are in the summary
OUTCOMES = {0: "clean", REGRESSED_EXIT: "regressed", UNMEASURED_EXIT: "could not measure",
            CANDIDATE_REGRESSED: "candidate regressed"}


def linkmatrix(*args: str) -> int:
    """The CLI as the workflow calls it, in this Python; its output goes where ours goes."""
    sys.stdout.flush()
    return subprocess.call([sys.executable, "-m", "harness", *args])


def on_github() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def annotate(level: str, message: str) -> None:
    """An annotation on the workflow run (GitHub), or a plain line elsewhere."""
    flat = " ".join(message.split())
    print(f"::{level}::{flat}" if on_github() else f"{level}: {flat}", flush=True)


def _append(variable: str, text: str) -> None:
    target = os.environ.get(variable)
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(text)


def _latest_report(reports: Path) -> Path | None:
    path = reports / "latest" / "matrix.json"
    return path if path.is_file() else None


@click.group()
def nightly() -> None:
    """The nightly workflow's steps."""


@nightly.command()
@click.option("--storages", "storage_choice", default="default", envvar="LINKMATRIX_STORAGES")
@click.option("--versions", "version_choice", default="default", envvar="LINKMATRIX_VERSIONS")
def images(storage_choice: str, version_choice: str) -> None:
    """The image references a Docker run with these options uses, one a line (sorted): the key of
    the workflow's image cache, and what it pulls once."""
    from .backends import BACKENDS
    from .cli import _choice, _default_backends, _releases
    from .stack import image_for, pipeline, toolchain

    wanted = {image_for("collector")}
    for name in _default_backends(storage_choice or "default", version_choice or "default"):
        backend = BACKENDS[name]
        if backend.unavailable("docker"):
            continue
        # An earlier release names its own image; a Jaeger on another storage runs Jaeger's.
        wanted.add(image_for(name, default=backend.image))
        wanted.update(image_for(need.name, default=need.image) for need in backend.needs)
    for release in _choice(version_choice or "default", _releases(), "--versions"):
        if release in toolchain.COLLECTOR_RELEASES:
            wanted.add(f"{pipeline.CONTRIB_IMAGE}:{toolchain.COLLECTOR_RELEASES[release].version}")
    click.echo("\n".join(sorted(reference for reference in wanted if reference)))


@nightly.command(context_settings={"ignore_unknown_options": True})
@click.argument("shard")
@click.option("--reports", "reports_dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True,
              help="first/ (the shard), retry/ (its re-run), merged/; shard/ points at the report to upload.")
@click.option("--scenarios", "scenario_paths", multiple=True, type=click.Path(path_type=Path),
              default=[Path("scenarios")], show_default=True, help="Scenario files or folders (repeatable).")
@click.argument("run_options", nargs=-1, type=click.UNPROCESSED)
def shard(shard: str, reports_dir: Path, scenario_paths: tuple[Path, ...], run_options: tuple[str, ...]) -> None:
    """Run shard I/N of the scenarios with RUN_OPTIONS (`linkmatrix run` options after `--`); then
    run once more the scenarios that had error cells, and merge that re-run over the first result.
    Exit 0 whenever a report was written (what is left in error is judged by `judge`)."""
    from .scenario import load_all

    scenarios = [str(path) for path in scenario_paths]
    code = linkmatrix("run", "--shard", shard, "--reports", str(reports_dir / "first"), *run_options, *scenarios)
    first = _latest_report(reports_dir / "first")
    # 5: a candidate lost what the current release kept — a measured report, judged like any other.
    if code not in (0, 1, CANDIDATE_REGRESSED) or first is None:  # bad input, interrupted, or no report at all
        sys.exit(code or 1)
    report = reports_dir / "shard"
    document = load_report(first)
    flaky = sorted({cell["scenario"] for cell in document["cells"] if cell["verdict"] == ERROR})
    if flaky:
        files = [scenario.path for scenario in load_all(scenario_paths) if scenario.name in flaky]
        annotate("notice", f"shard {shard}: {len(flaky)} scenario(s) with error cells, run once more: "
                 f"{', '.join(flaky)}")
        again = linkmatrix("run", "--reports", str(reports_dir / "retry"), *run_options, *files)
        retry = _latest_report(reports_dir / "retry")
        if again in (0, 1, CANDIDATE_REGRESSED) and retry is not None and linkmatrix(
                "merge", str(first), "--rerun", str(retry), "--reports", str(reports_dir / "merged")) == 0:
            first = reports_dir / "merged" / "latest" / "matrix.json"
        else:
            annotate("warning", f"shard {shard}: the re-run did not give a report (exit {again}); "
                     "the first attempt's is kept")
    left = sum(cell["verdict"] == ERROR for cell in load_report(first)["cells"])
    if report.is_symlink():
        report.unlink()
    report.symlink_to(os.path.relpath(first.resolve().parent, report.parent.resolve()))
    print(f"shard {shard}: report in {report} ({left} error cell(s) left)", flush=True)


@nightly.command()
@click.argument("reports", nargs=-1, type=click.Path(path_type=Path))
@click.option("--reports", "reports_dir", type=click.Path(path_type=Path), default=Path("merged"), show_default=True,
              help="Where the merged report goes (`latest` points at it).")
@click.option("--expect-shards", type=int, default=None, help="How many shard reports there should be.")
@click.option("--baseline", type=click.Path(path_type=Path), default=None,
              help="The last good night's matrix.json; absent (not given, or no such file): a visible warning.")
@click.option("--waivers", type=click.Path(path_type=Path), default=None,
              help="A waivers file (skipped when there is no such file).")
@click.option("--next-baseline", type=click.Path(path_type=Path), default=None,
              help="On a clean night, write here the matrix.json the next night compares with (a waived "
                   "regression keeps the baseline's cell, so the waiver still has work when it expires).")
def judge(reports: tuple[Path, ...], reports_dir: Path, expect_shards: int | None, baseline: Path | None,
          waivers: Path | None, next_baseline: Path | None) -> None:
    """Merge the shard reports, compare with the baseline and the candidates with their current
    releases, and judge the night (exit 0, 3, 5, 4 or 2)."""
    present = [path for path in reports if path.is_file()]
    missing = (expect_shards or len(reports)) - len(present)
    notes: list[str] = []  # said at the top of the summary, and as annotations
    if missing > 0:
        notes.append(f"💥 {missing} shard report(s) missing (a shard died before it wrote one): "
                     "this night could not measure their scenarios")
        annotate("error", notes[-1])
    if not present:
        _finish(reports_dir, None, notes, UNMEASURED_EXIT, False)
    compare_with = baseline if baseline and baseline.is_file() else None
    if compare_with is None:
        notes.append("⚠️ No baseline" + (f" ({baseline} does not exist)" if baseline else "") + ": nothing was "
                     "compared, so no regression can be seen tonight" + (
                         "; this night's report becomes the next night's baseline without having been compared "
                         "with anything" if next_baseline else ""))
        annotate("warning", notes[-1])
    chosen_waivers = waivers if waivers and waivers.is_file() and compare_with else None
    code = linkmatrix("merge", *map(str, present), "--reports", str(reports_dir),
                      *(("--baseline", str(compare_with)) if compare_with else ()),
                      *(("--waivers", str(chosen_waivers)) if chosen_waivers else ()))
    merged = _latest_report(reports_dir)
    if code not in (0, REGRESSED_EXIT, UNMEASURED_EXIT) or merged is None:
        annotate("error", f"the merge failed (exit {code}); the night was not judged")
        sys.exit(code or 1)
    document = load_report(merged)
    errors = sum(cell["verdict"] == ERROR for cell in document["cells"])
    if code == 0 and (errors or missing > 0):
        code = UNMEASURED_EXIT
    if errors:
        notes.append(f"💥 {errors} cell(s) could not be measured, even after one re-run: see *Problems*; "
                     "this is not a regression of the versions under test")
    code = _judge_candidates(document, code, notes)
    written = merged.parent / "diff.json"
    compared: dict[str, Any] = json.loads(written.read_text(encoding="utf-8")) if compare_with else {}
    for change in compared.get("regressed", [])[:ANNOTATIONS_SHOWN]:
        annotate("error", f"regressed: {_where(change)}: {change['old']['verdict']} → {change['new']['verdict']}")
    for waived in compared.get("waived", []):
        annotate("warning", f"waived until {waived['waiver']['expires']}: {_where(waived)} "
                 f"({waived['waiver']['reason']})")
    for waiver in compared.get("expired_waivers", []):
        annotate("warning", f"expired waiver (waives nothing since {waiver['expires']}): {waiver['reason']}")
    if code == 0 and next_baseline and compare_with:
        _write_next_baseline(document, load_report(compare_with), compared, next_baseline)
    elif code == 0 and next_baseline:
        _write_next_baseline(document, None, {}, next_baseline)
    _finish(reports_dir, merged.parent, notes, code, next_baseline is not None and compare_with is not None)


def _judge_candidates(document: dict[str, Any], code: int, notes: list[str]) -> int:
    """Each upgrade candidate beside its current release, on the merged cells: a cell the current
    release kept and the candidate lost or degraded makes the night 5 (a regression against the
    baseline, 3, still wins: it is about what runs today)."""
    beside = candidates.compare(document)
    if beside is None:
        return code
    for regression in beside.regressed[:ANNOTATIONS_SHOWN]:
        annotate("error", candidates.Comparison([regression], 0).lines()[0])
    if beside.regressed:
        notes.append(f"🧪 {len(beside.regressed)} cell(s) the current release kept were lost or degraded by an "
                     "upgrade candidate: the upgrade would break these links")
        notes.extend(f"- {line}" for line in beside.lines() if line.startswith("candidate regressed"))
    if beside.unmeasured:
        notes.append(f"💥 {beside.lines()[-1]}")
        annotate("warning", notes[-1])
    if not beside.regressed:
        notes.append("🧪 the candidates kept every cell the current releases kept")
        return code
    return code if code == REGRESSED_EXIT else CANDIDATE_REGRESSED


def _where(change: dict[str, Any]) -> str:
    return (f"{change['scenario']} · pipeline {change['pipeline']} · {change['feature']} · "
            f"{change['backend']}/{change['read_path']}")


def _write_next_baseline(document: dict[str, Any], baseline: dict[str, Any] | None, compared: dict[str, Any],
                         folder: Path) -> None:
    """Tonight's cells, except that a waived regression keeps the baseline's cell: a waiver hides a
    known loss for a while, it does not make the loss the new normal."""
    kept = {cell_key(cell): cell for cell in (baseline or {}).get("cells", [])}
    waived = {cell_key(entry) for entry in compared.get("waived", [])}
    cells = [kept[cell_key(cell)] if cell_key(cell) in waived else cell for cell in document["cells"]]
    folder.mkdir(parents=True, exist_ok=True)
    from .report import write_whole

    write_whole(folder / "matrix.json", jsonio.dumps_readable({**document, "cells": cells}, ensure_ascii=False) + "\n")


def _finish(reports_dir: Path, run_dir: Path | None, notes: Sequence[str], code: int, promotes: bool) -> NoReturn:
    """The night's summary (step summary, night.md beside the report), its outcome, its exit code."""
    outcome = OUTCOMES.get(code, "failed")
    headline = {"clean": "✅ nothing got worse", "regressed": "❌ regressed: a cell got worse than in the baseline",
                "could not measure": "💥 could not measure: some cells have no verdict tonight (not a regression)",
                "candidate regressed": "🧪 candidate regressed: an upgrade candidate lost a cell the current "
                                       "release kept"}.get(outcome, f"exit {code}")
    text = [f"## linkmatrix nightly: {headline} (exit {code})", ""]
    text += [f"> {note}" for note in notes] + ([""] if notes else [])
    if code == 0 and promotes:
        text += ["This night's report is kept as the next night's baseline.", ""]
    summary = run_dir / "summary.md" if run_dir else None
    if summary and summary.is_file():
        text.append(summary.read_text(encoding="utf-8"))
    night = "\n".join(text) + "\n"
    (run_dir or reports_dir).mkdir(parents=True, exist_ok=True)
    (run_dir or reports_dir).joinpath("night.md").write_text(night, encoding="utf-8")
    _append("GITHUB_STEP_SUMMARY", night)
    _append("GITHUB_OUTPUT", f"outcome={outcome}\nexit_code={code}\n")
    print(f"night: {outcome} (exit {code})", flush=True)
    sys.exit(code)


def main() -> None:
    nightly(standalone_mode=True)


if __name__ == "__main__":
    main()
