"""matrix.md: findings, the matrix grouped by feature (columns grouped by backend), a legend, and
the evidence of every finding."""

from __future__ import annotations

from typing import Any

import jinja2

from .. import jsonio
from . import FINDING_VERDICTS, VERDICT_MARK, scenario_label


def _oneline(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _short(value: Any, limit: int = 80) -> str:
    text = _oneline(jsonio.dumps(value, ensure_ascii=False))
    return f"`{text[:limit]}…`" if len(text) > limit else f"`{text}`"


def _cell_text(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return ""
    text = f"{VERDICT_MARK[cell['verdict']]} {cell['verdict']}"
    if cell.get("hop"):
        text += f" · {' + '.join(cell.get('changed_at') or [cell['hop']])}"
    if cell.get("anchor"):
        text = f"[{text}](#{cell['anchor']})"
    return text


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined, autoescape=False,
    )
    environment.filters.update(oneline=_oneline, short=_short, cell_text=_cell_text)
    return environment


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
    for cell in document["cells"]:
        cell = {"hop": "", "changed_at": [], "summary": "", "reason": "", "hops": {}, "meaning": "", **cell,
                "column": labels[(cell["backend"], cell["read_path"])]}
        if cell["verdict"] in FINDING_VERDICTS:
            cell["anchor"] = f"d{len(details) + 1}"
            details.append(cell)
        cells.append(cell)
    # A fresh read with a settled twin in this run is evidence, not a finding: what users live
    # with is the settled form (a difference between the two is told on the settled cell).
    present = set(labels)
    superseded = {(c["backend"], c["read_path"]) for c in document["columns"]
                  if c.get("age") == "fresh" and (c["backend"], c.get("twin", "")) in present}
    findings: dict[str, list[dict[str, Any]]] = {}
    for cell in details:
        if (cell["backend"], cell["read_path"]) not in superseded:
            findings.setdefault(cell["meaning"] or cell["summary"] or cell["verdict"], []).append(cell)
    template = _environment().get_template("matrix.md.j2")
    return template.render(run=document["run"], groups=_groups(document, cells), details=details,
                           between_versions=document.get("between_versions", []),
                           findings=[{"meaning": text, "cells": found} for text, found in findings.items()],
                           scenarios=document["scenarios"])
