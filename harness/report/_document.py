"""Reports of a run: matrix.json (the contract), matrix.md (for people), and `reports/latest`."""

from __future__ import annotations

import contextlib
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from ..judge import meaning
from ..model import (
    COLLECTOR,
    FEATURE_ORDER,
    FEATURES,
    MAX_REPORT_BYTES,
    LinkmatrixError,
    ReadPath,
    RenderReadPath,
    RunResult,
    TraceReadPath,
    jsonio,
    load_json,
)
from ._common import FINDING_VERDICTS, between_versions, releases_compared
from ._your_links import your_links
from .ci import junit, summary
from .diff import Diff
from .html import render_html
from .markdown import render_markdown

SCHEMA_VERSION = 1


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(resources.files(__package__).joinpath("matrix.schema.json").read_text())
    return loaded


def to_document(result: RunResult) -> dict[str, Any]:
    scenario_order = {scenario.name: i for i, scenario in enumerate(result.scenarios)}
    column_order = {(path.backend, path.name): i for i, path in enumerate(result.columns)}
    pipeline_order = {name: i for i, name in enumerate(result.pipeline_order)}
    # Deterministic order, so two runs diff cleanly.
    cells = sorted(result.cells, key=lambda cell: (scenario_order.get(cell.scenario, 0),
                                                   pipeline_order.get(cell.pipeline, len(pipeline_order)),
                                                   FEATURE_ORDER.get(cell.feature, 0),
                                                   column_order.get((cell.backend, cell.read_path), 0)))
    cell_records = [_with_meaning(cell.to_json(), result) for cell in cells]
    captured = your_links(result.emissions, cell_records)
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "id": result.run_id,
            "started": result.started,
            "ended": result.ended,
            "runtime": result.runtime,
            "runtime_reason": result.runtime_reason,
            **({"note": result.note} if result.note else {}),
            **({"network_mode": result.network_mode} if result.network_mode else {}),
            "pipeline": COLLECTOR,
            "pipelines": sorted({cell.pipeline for cell in result.cells},
                                key=lambda name: pipeline_order.get(name, len(pipeline_order))),
            "variants": {variant.name: {"about": variant.about,
                                        "processors": [{kind: config} for kind, config in variant.processors],
                                        **({"gateway": True} if variant.gateway else {}),
                                        **({"exporter_protocol": variant.exporter_protocol}
                                           if variant.exports_http else {})}
                         for variant in result.variants},
            "stages": result.stages,
            "stage_detail": result.stage_detail,
            "versions": result.versions,
            **({"stack": result.stack} if result.stack else {}),
            "services": result.services,
            "problems": result.problems,
            "skipped": result.skipped,
            "data_age": result.data_age,
            "backends": result.backends,
            "releases_compared": releases_compared({cell.backend for cell in result.cells},
                                                   {cell.pipeline for cell in result.cells}),
        },
        "scenarios": [{"name": s.name, "file": Path(s.path).name, "problem": s.problem,
                       **({"expect": s.expect} if s.expect else {})} for s in result.scenarios],
        "columns": [_column(path, result) for path in result.columns],
        "features": [{"id": f.id, "title": f.title, "question": f.question} for f in FEATURES.values()],
        "cells": cell_records,
        "between_versions": between_versions([cell.to_json() for cell in cells], result.versions),
        **({"your_links": captured} if captured else {}),
    }


def _column(path: ReadPath, result: RunResult) -> dict[str, Any]:
    record: dict[str, Any] = {"backend": path.backend, "read_path": path.name, "label": path.label,
                              "cannot_carry": sorted(path.cannot_carry)}
    if isinstance(path, TraceReadPath) and path.age:
        record.update(age=path.age, twin=path.twin)
    if isinstance(path, RenderReadPath) and path.how:
        record["how"] = path.how
    record["runtime"] = result.runtime
    image = result.services.get(path.backend, {}).get("image")
    if image:
        record["image"] = image
    return record


def _with_meaning(record: dict[str, Any], result: RunResult) -> dict[str, Any]:
    if record["verdict"] in FINDING_VERDICTS:
        label = next(p.label for p in result.columns if (p.backend, p.name) == (record["backend"], record["read_path"]))
        advice = (result.backends.get(record["backend"]) or {}).get("advice")
        record["meaning"] = meaning(record, label, result.versions, advice)
    return record


def validate(document: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(schema()).validate(document)


def write(result: RunResult, reports_dir: Path, compared: Diff | None = None) -> dict[str, Path]:
    """matrix.json, matrix.md, and for CI junit.xml and summary.md (with the comparison against a
    baseline, when there is one)."""
    paths = write_document(to_document(result), result.run_dir, compared)
    left = point_latest(reports_dir, result.run_dir)
    if left:
        result.problems.append(left)
    return paths


def write_document(document: dict[str, Any], run_dir: Path, compared: Diff | None = None) -> dict[str, Path]:
    """Every file of a report from its document (a run's, or shards merged)."""

    paths = {"json": run_dir / "matrix.json", "markdown": run_dir / "matrix.md"}
    write_whole(paths["json"], jsonio.dumps_readable(document, ensure_ascii=False) + "\n")  # kept even if invalid
    try:
        validate(document)
    except jsonschema.ValidationError as error:
        raise LinkmatrixError(f"{paths['json']} does not follow its schema (a linkmatrix bug, please report it): "
                              f"{'/'.join(map(str, error.absolute_path))}: {error.message}") from None
    write_whole(paths["markdown"], render_markdown(document))
    paths["html"] = run_dir / "matrix.html"
    write_whole(paths["html"], render_html(document))
    paths["junit"], paths["summary"] = run_dir / "junit.xml", run_dir / "summary.md"
    write_whole(paths["junit"], junit(document, {s["name"]: s.get("expect", {}) for s in document["scenarios"]},
                                      compared))
    write_whole(paths["summary"], summary(document, compared))
    return paths


def write_whole(path: Path, text: str) -> None:
    """`path` holds all of `text`, or is left as it was: written under a temporary name in the same
    folder, then renamed over it, so a full disk or an interrupted run never leaves half a report
    (or an empty one) behind."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with open(temporary, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def point_latest(reports_dir: Path, run_dir: Path) -> str | None:
    """reports/latest → the newest run (a relative symlink, replaced atomically). Something else
    named `latest` (a folder, a file) is never replaced: returns why it was left."""
    latest = reports_dir / "latest"
    if latest.exists() and not latest.is_symlink():
        return f"{latest} is not a link made by linkmatrix; left as it is (this run is in {run_dir})"
    temporary = reports_dir / f".latest-{os.getpid()}"
    if temporary.is_symlink():
        temporary.unlink()
    temporary.symlink_to(run_dir.name)
    try:
        os.replace(temporary, latest)
    finally:
        if temporary.is_symlink():
            temporary.unlink()
    return None


def load_report(path: Path) -> dict[str, Any]:
    """A matrix.json (a run's, a baseline, a shard's), valid against the report schema."""
    report_schema = schema()
    document: dict[str, Any] = load_json(path, limit=MAX_REPORT_BYTES, kind="report files", schema=report_schema)
    return document
