"""Reports of a run: matrix.json (the contract), matrix.md (for people), and `reports/latest`."""

from __future__ import annotations

import contextlib
import json
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from markupsafe import Markup

from .. import jsonio
from ..backends import BACKENDS
from ..backends.base import ReadPath, RenderReadPath, TraceReadPath
from ..errors import LinkmatrixError
from ..features import FEATURE_ORDER, FEATURES
from ..meaning import meaning
from ..result import RunResult
from ..variants import RELEASE_PREFIXES, released_from
from ..vocabulary import COLLECTOR, DEGRADED, ERROR, LOST, NOT_APPLICABLE, PRESERVED
from .diff import Diff

SCHEMA_VERSION = 1
VERDICT_MARK: dict[str, str] = {PRESERVED: "✅", DEGRADED: "⚠️", LOST: "❌", NOT_APPLICABLE: "➖", ERROR: "💥"}
FINDING_VERDICTS = (DEGRADED, LOST, ERROR)  # the cells that say something went wrong


# Invisible format characters (Unicode category Cf: bidi controls such as U+202E and U+2066, zero-width
# characters, tags) and the line and paragraph separators: in a report they would reorder or hide
# the text around them, so each is shown by its escape (`\u202e`) instead.
_INVISIBLE = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]")


def visible(text: str) -> str:
    """`text` with every invisible format character written as its escape (`\\u202e`)."""
    return _INVISIBLE.sub(lambda match: _escape_code_point(ord(match.group())), text)


def visible_value(value: Any) -> Any:
    """A template's finalize hook: every text a report shows goes through `visible` (markup stays markup)."""
    if isinstance(value, Markup):
        return Markup(visible(str(value)))  # only ASCII escapes are added: no markup can appear
    return visible(value) if isinstance(value, str) else value


def _escape_code_point(code: int) -> str:
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


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
            "services": result.services,
            "problems": result.problems,
            "skipped": result.skipped,
            "data_age": result.data_age,
            "releases_compared": releases_compared({cell.backend for cell in result.cells},
                                                   {cell.pipeline for cell in result.cells}),
        },
        "scenarios": [{"name": s.name, "file": Path(s.path).name, "problem": s.problem,
                       **({"expect": s.expect} if s.expect else {})} for s in result.scenarios],
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


SDK_FAMILY = "opentelemetry-sdk"
COLLECTOR_FAMILY = "opentelemetry-collector"
# Families whose earlier releases are pipelines of their own (harness.variants): family → the name
# prefix of those pipelines, and the versions key of the release the plain `collector` pipeline runs.
PIPELINE_FAMILIES = {SDK_FAMILY: (RELEASE_PREFIXES[0], SDK_FAMILY),
                     COLLECTOR_FAMILY: (RELEASE_PREFIXES[1], COLLECTOR)}


def releases_compared(backends: set[str], pipelines: set[str] | None = None) -> dict[str, list[str]]:
    """Family → its releases in this run (the pinned one first), where there are two or more: backend
    releases by backend name; SDK and collector releases by pipeline (the plain `collector` one runs
    the pinned ones)."""
    present = {family: [name for name in members if name in backends] for family, members in _families().items()}
    for family, (prefix, _) in PIPELINE_FAMILIES.items():
        earlier = sorted(p for p in pipelines or set() if p.startswith(prefix))
        if earlier and COLLECTOR in (pipelines or set()):
            present[family] = [COLLECTOR, *earlier]
    return {family: members for family, members in present.items() if len(members) > 1}


def release_version(family: str, name: str, versions: dict[str, str]) -> str:
    """One release's version in the run's words: a backend's by its name, a pipeline's by its family
    (a collector variant that is not an earlier release's runs on the pinned collector)."""
    if family not in PIPELINE_FAMILIES:
        return versions.get(name, "unknown")
    pinned = PIPELINE_FAMILIES[family][1]
    if name == COLLECTOR or (family == COLLECTOR_FAMILY and released_from(name) is None):
        return versions.get(pinned, "unknown")
    return versions.get(f"{pinned} ({name})", "unknown")


def twin_of(family: str, pinned: str, other: str) -> str:
    """What an earlier release is set beside: an earlier collector's pipeline beside the variant it
    runs again, any other beside its family's pinned release."""
    return (released_from(other) or pinned) if family == COLLECTOR_FAMILY else pinned


def between_versions(cells: list[dict[str, Any]], versions: dict[str, str]) -> list[dict[str, Any]]:
    """The cells whose verdict (or hop) differs between releases of one family in this run
    (`zipkin` 3.6.1 beside `zipkin-2.27.0`; the SDK or the collector beside an earlier release of
    it), side by side, each release named."""
    index = {(c["scenario"], c["pipeline"], c["feature"], c["backend"], c["read_path"]): c for c in cells}
    compared = releases_compared({c["backend"] for c in cells}, {c["pipeline"] for c in cells})
    changed = []
    for family, (pinned, *others) in compared.items():
        by_pipeline = family in PIPELINE_FAMILIES  # which part of a cell's key the release is
        for other in others:
            base = twin_of(family, pinned, other)
            for (scenario, pipeline, feature, backend, read_path), cell in index.items():
                if (pipeline if by_pipeline else backend) != base:
                    continue
                twin = index.get((scenario, other, feature, backend, read_path) if by_pipeline
                                 else (scenario, pipeline, feature, other, read_path))
                if twin is None or (twin["verdict"], twin.get("hop")) == (cell["verdict"], cell.get("hop")):
                    continue
                if NOT_APPLICABLE in (cell["verdict"], twin["verdict"]):  # one of them is not sent there
                    continue
                changed.append({"family": family, "scenario": scenario, "pipeline": pipeline, "feature": feature,
                                "read_path": f"{backend}/{read_path}" if by_pipeline else read_path, "releases": [
                                    {"backend": c["backend"], "pipeline": c["pipeline"],
                                     "version": _release_version(c, family, versions),
                                     "verdict": c["verdict"], "hop": c.get("hop", ""),
                                     "summary": c.get("summary", "") or c.get("reason", "")}
                                    for c in (cell, twin)]})
    return changed


def _release_version(cell: dict[str, Any], family: str, versions: dict[str, str]) -> str:
    if family not in PIPELINE_FAMILIES:
        return release_version(family, cell["backend"], versions)
    return f"{family} {release_version(family, cell['pipeline'], versions)}"


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
        record["meaning"] = meaning(record, label, result.versions)
    return record


def scenario_label(cell: dict[str, Any]) -> str:
    """The scenario's name, with its pipeline when that is not the default one."""
    return cell["scenario"] if cell["pipeline"] == COLLECTOR else f"{cell['scenario']} ({cell['pipeline']})"


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
    from .ci import junit, summary
    from .html import render_html
    from .markdown import render_markdown

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
