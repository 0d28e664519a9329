"""matrix.md: findings, the matrix grouped by feature (columns grouped by backend), a legend, and
the evidence of every finding."""

from __future__ import annotations

import re
from typing import Any

import jinja2

from ..model import jsonio
from ._common import (
    FINDING_VERDICTS,
    PIPELINE_FAMILIES,
    VERDICT_MARK,
    release_version,
    scenario_label,
    twin_of,
    visible_value,
)
from ._your_links import views as your_links_views
from .candidates import compare as compare_candidates
from .decide import UNMEASURED, Answer, Cells, Line, findings, not_measured, scorecard, settings

# Text from scenario files and backends is written as text: no HTML, no link or image syntax.
_NEUTRAL = str.maketrans({"<": "&lt;", ">": "&gt;", "[": "\\[", "]": "\\]"})


def _oneline(text: str) -> str:
    return _flat(text).replace("|", "\\|")


def _flat(text: str) -> str:
    """One line, as text, for a list item (a table cell needs `oneline`, which also escapes its pipes)."""
    return " ".join(str(text).split()).translate(_NEUTRAL)


def _code(text: str) -> str:
    """A code span that no backtick inside can end early: its fence is longer than any run of
    backticks in it (CommonMark)."""
    flat = " ".join(str(text).split())
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {flat} {fence}" if longest else f"`{flat}`"


def _short(value: Any, limit: int = 80) -> str:
    text = " ".join(jsonio.dumps(value, ensure_ascii=False).split())
    return _code(text[:limit] + "…" if len(text) > limit else text).replace("|", "\\|")


def _cell_text(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return ""
    text = f"{VERDICT_MARK[cell['verdict']]} {cell['verdict']}"
    if cell.get("hop"):
        text += f" · {' + '.join(cell.get('changed_at') or [cell['hop']])}"
    if cell.get("anchor"):
        text = f"[{text}](#{cell['anchor']})"
    return text


def _mark(mark: str, anchor: str | None) -> str:
    """A mark, linked to the cell behind it; "not measured" in words, so it never reads as a verdict."""
    text = "*not measured*" if mark == UNMEASURED else mark
    return f"[{text}](#{anchor})" if anchor and mark else text


def _prose(text: str) -> str:
    """Text for a table cell whose `backticked` parts stay code (shown as written: no entity inside
    a code span is decoded) and whose other parts are neutralised as text."""
    pieces = re.split(r"(`[^`]*`)", " ".join(str(text).split()))
    return "".join(piece.replace("|", "\\|") if piece.startswith("`") and piece.endswith("`") and len(piece) > 1
                   else piece.translate(_NEUTRAL).replace("|", "\\|") for piece in pieces)


def _line(line: Line, anchors: list[str]) -> str:
    anchor = anchors[line.cell] if line.cell is not None else None
    parts = [f"*{_oneline(line.label)}:*" if line.label else "",
             _mark(line.mark, anchor) if line.mark else "",
             _code(line.code).replace("|", "\\|") + (" —" if line.text else "") if line.code else "",
             _prose(line.text) if line.text else ""]
    text = " ".join(part for part in parts if part)
    return text if line.mark or anchor is None else f"{text} ([cell](#{anchor}))"


def answer_cell(answer: Answer | None, anchors: list[str], table: str) -> str:
    """One scorecard answer in one table cell: the mark (linked to its cells) and its caveat, then
    each line under it — other read paths or features, storages, the recipe, the edge cases."""
    if answer is None:
        return "— not in this run"
    anchor = anchors[answer.cells[0]] if answer.cells else (None if answer.mark == UNMEASURED else table)
    scope = f"{_oneline(answer.scope)}: " if answer.scope else ""
    colon = ":" if answer.mark == UNMEASURED else ""
    head = f"{_mark(answer.mark, anchor)}{colon} {scope}{_oneline(answer.caveat)}"
    lines = [*answer.parts, *answer.storages, *answer.recipe, *answer.exceptions]
    return "<br>".join([head, *(f"· {_line(line, anchors)}" for line in lines)])


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined, autoescape=False, finalize=visible_value,
    )
    environment.filters.update(oneline=_oneline, flat=_flat, code=_code, short=_short, cell_text=_cell_text)
    environment.globals.update(release_label=release_label, pipeline_families=PIPELINE_FAMILIES,
                               compared_pairs=compared_pairs, answer_cell=answer_cell)
    return environment


def compared_pairs(compared: dict[str, list[str]], versions: dict[str, str]) -> list[str]:
    """Each earlier release beside the one it is compared with (`twin_of`)."""
    pairs = []
    for family, (pinned, *others) in compared.items():
        for other in others:
            base = twin_of(family, pinned, other)
            pairs.append(f"{release_label(family, base, versions)} with {release_label(family, other, versions)}")
    return pairs


def release_label(family: str, name: str, versions: dict[str, str]) -> str:
    """`zipkin-2.27.0 2.27.0`, or a pipeline's release:
    `opentelemetry-collector 0.158.0 (pipeline `otelcol-0.158.0`)`."""
    version = release_version(family, name, versions)
    return f"{family} {version} (pipeline `{name}`)" if family in PIPELINE_FAMILIES else f"{name} {version}"


def _groups(document: dict[str, Any], cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One table per feature, in catalog order; only the columns that have cells for it."""
    columns = [{**column, "key": (column["backend"], column["read_path"])} for column in document["columns"]]
    groups = []
    for feature in document["features"]:
        mine = [cell for cell in cells if cell["feature"] == feature["id"]]
        if not mine:
            continue
        keys = {(cell["backend"], cell["read_path"]) for cell in mine}
        shown = [column for column in columns if column["key"] in keys]
        rows: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        for cell in mine:
            rows.setdefault(scenario_label(cell), {})[(cell["backend"], cell["read_path"])] = cell
        groups.append({**feature, "columns": shown,
                       "rows": [{"scenario": scenario, "cells": [by_column.get(c["key"]) for c in shown]}
                                for scenario, by_column in rows.items()]})
    return groups


def render_markdown(document: dict[str, Any]) -> str:
    labels = {(c["backend"], c["read_path"]): c["label"] for c in document["columns"]}
    cells: list[dict[str, Any]] = []
    details: list[dict[str, Any]] = []
    anchors: list[str] = []  # by position in the document's cells: its evidence, or its feature's table
    for cell in document["cells"]:
        cell = {"hop": "", "changed_at": [], "summary": "", "reason": "", "hops": {}, "meaning": "", **cell,
                "column": labels[(cell["backend"], cell["read_path"])]}
        if cell["verdict"] in FINDING_VERDICTS:
            cell["anchor"] = f"d{len(details) + 1}"
            details.append(cell)
        anchors.append(cell.get("anchor") or table_anchor(cell["feature"]))
        cells.append(cell)
    index = Cells(document)
    ordered = [{"meaning": finding["meaning"], **_tables([cells[p] for p in finding["positions"]])}
               for finding in findings(index)]
    template = _environment().get_template("matrix.md.j2")
    return template.render(run=document["run"], groups=_groups(document, cells), details=details,
                           between_versions=document.get("between_versions", []),
                           candidate_lines=_candidate_lines(document),
                           findings=ordered,
                           scenarios=document["scenarios"], anchors=anchors, scorecard=scorecard(index),
                           settings=settings(index), not_measured=not_measured(document),
                           your_links=your_links_views(document))


def _candidate_lines(document: dict[str, Any]) -> list[str]:
    beside = compare_candidates(document)
    return beside.lines() if beside else []


def table_anchor(feature: str) -> str:
    return f"t-{feature}"


def _tables(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """A finding's cells collapsed to a count, the feature tables they are in, and the first one's evidence."""
    features = list(dict.fromkeys(cell["feature"] for cell in cells))
    return {"count": len(cells), "first": cells[0],
            "tables": [{"feature": feature, "anchor": table_anchor(feature)} for feature in features]}
