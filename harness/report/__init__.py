"""Reports of a run: matrix.json (the contract), matrix.md (for people), and `reports/latest`."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from .. import jsonio
from ..backends import BACKENDS
from ..backends.base import ReadPath, TraceReadPath
from ..errors import LinkmatrixError
from ..features import FEATURE_ORDER, FEATURES
from ..meaning import meaning
from ..result import RunResult
from ..vocabulary import COLLECTOR, DEGRADED, ERROR, LOST, NOT_APPLICABLE, PRESERVED

SCHEMA_VERSION = 1
VERDICT_MARK: dict[str, str] = {PRESERVED: "✅", DEGRADED: "⚠️", LOST: "❌", NOT_APPLICABLE: "➖", ERROR: "💥"}
FINDING_VERDICTS = (DEGRADED, LOST, ERROR)  # the cells that say something went wrong


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
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "id": result.run_id,
            "started": result.started,
            "ended": result.ended,
            "runtime": result.runtime,
            "runtime_reason": result.runtime_reason,
            **({"network_mode": result.network_mode} if result.network_mode else {}),
            "pipeline": COLLECTOR,
            "pipelines": sorted({cell.pipeline for cell in result.cells},
                                key=lambda name: pipeline_order.get(name, len(pipeline_order))),
            "variants": {variant.name: {"about": variant.about,
                                        "processors": [{kind: config} for kind, config in variant.processors]}
                         for variant in result.variants},
            "stages": result.stages,
            "stage_detail": result.stage_detail,
            "versions": result.versions,
            "services": result.services,
            "problems": result.problems,
            "skipped": result.skipped,
            "data_age": result.data_age,
            "releases_compared": releases_compared({cell.backend for cell in result.cells}),
        },
        "scenarios": [{"name": s.name, "file": Path(s.path).name, "problem": s.problem} for s in result.scenarios],
        "columns": [_column(path, result) for path in result.columns],
        "features": [{"id": f.id, "title": f.title, "question": f.question} for f in FEATURES.values()],
        "cells": [_with_meaning(cell.to_json(), result) for cell in cells],
        "between_versions": between_versions([cell.to_json() for cell in cells], result.versions),
    }


def _families() -> dict[str, list[str]]:
    by_family: dict[str, list[str]] = {}
    for name, backend in BACKENDS.items():
        by_family.setdefault(backend.family or name, []).append(name)
    return by_family


def releases_compared(backends: set[str]) -> dict[str, list[str]]:
    """Backend family → its releases in this run (the pinned one first), where there are two or more."""
    present = {family: [name for name in members if name in backends] for family, members in _families().items()}
    return {family: members for family, members in present.items() if len(members) > 1}


def between_versions(cells: list[dict[str, Any]], versions: dict[str, str]) -> list[dict[str, Any]]:
    """The cells whose verdict (or hop) differs between releases of one backend family in this
    run (`zipkin` 3.6.1 beside `zipkin-2.27.0`), side by side, each release named."""
    index = {(c["scenario"], c["pipeline"], c["feature"], c["backend"], c["read_path"]): c for c in cells}
    changed = []
    for family, present in releases_compared({c["backend"] for c in cells}).items():
        pinned, *others = present
        for (scenario, pipeline, feature, backend, read_path), cell in index.items():
            if backend != pinned:
                continue
            for other in others:
                twin = index.get((scenario, pipeline, feature, other, read_path))
                if twin is None or (twin["verdict"], twin.get("hop")) == (cell["verdict"], cell.get("hop")):
                    continue
                changed.append({"family": family, "scenario": scenario, "pipeline": pipeline, "feature": feature,
                                "read_path": read_path, "releases": [
                                    {"backend": c["backend"], "version": versions.get(c["backend"], "unknown"),
                                     "verdict": c["verdict"], "hop": c.get("hop", ""),
                                     "summary": c.get("summary", "") or c.get("reason", "")}
                                    for c in (cell, twin)]})
    return changed


def _column(path: ReadPath, result: RunResult) -> dict[str, Any]:
    record: dict[str, Any] = {"backend": path.backend, "read_path": path.name, "label": path.label,
                              "cannot_carry": sorted(path.cannot_carry)}
    if isinstance(path, TraceReadPath) and path.age:
        record.update(age=path.age, twin=path.twin)
    record["runtime"] = result.runtime
    image = result.services.get(path.backend, {}).get("image")
    if image:
        record["image"] = image
    return record


def _with_meaning(record: dict[str, Any], result: RunResult) -> dict[str, Any]:
    if record["verdict"] in FINDING_VERDICTS:
        label = next(p.label for p in result.columns if (p.backend, p.name) == (record["backend"], record["read_path"]))
        record["meaning"] = meaning(record, label, result.versions)
    return record


def scenario_label(cell: dict[str, Any]) -> str:
    """The scenario's name, with its pipeline when that is not the default one."""
    return cell["scenario"] if cell["pipeline"] == COLLECTOR else f"{cell['scenario']} ({cell['pipeline']})"


def validate(document: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(schema()).validate(document)


def write(result: RunResult, reports_dir: Path) -> dict[str, Path]:
    from .markdown import render_markdown

    document = to_document(result)
    run_dir = result.run_dir
    paths = {"json": run_dir / "matrix.json", "markdown": run_dir / "matrix.md"}
    paths["json"].write_text(jsonio.dumps(document, indent=1, ensure_ascii=False) + "\n")  # kept even if invalid
    try:
        validate(document)
    except jsonschema.ValidationError as error:
        raise LinkmatrixError(f"{paths['json']} does not follow its schema (a linkmatrix bug, please report it): "
                              f"{'/'.join(map(str, error.absolute_path))}: {error.message}") from None
    paths["markdown"].write_text(render_markdown(document))
    left = point_latest(reports_dir, run_dir)
    if left:
        result.problems.append(left)
    return paths


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
