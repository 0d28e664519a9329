"""matrix.md: the matrix as a Markdown table, a legend, and the evidence of every non-preserved cell."""

from __future__ import annotations

import json
from typing import Any

import jinja2

from . import VERDICT_MARK, scenario_label


def _oneline(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _short(value: Any, limit: int = 80) -> str:
    text = _oneline(json.dumps(value, ensure_ascii=False))
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


def render_markdown(document: dict[str, Any]) -> str:
    columns = [{**column, "key": (column["backend"], column["read_path"])} for column in document["columns"]]
    labels = {column["key"]: column["label"] for column in columns}
    titles = {feature["id"]: feature["title"] for feature in document["features"]}
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    details = []
    for cell in document["cells"]:
        cell = dict(cell)
        if cell["verdict"] in ("degraded", "lost", "error"):
            cell["anchor"] = f"d{len(details) + 1}"
            details.append({"hop": "", "changed_at": [], "summary": "", "reason": "", "hops": {}, **cell,
                            "column": labels[(cell["backend"], cell["read_path"])]})
        row = rows.setdefault((cell["scenario"], cell["pipeline"], cell["feature"]), {
            "scenario": scenario_label(cell), "feature_title": titles.get(cell["feature"], cell["feature"]),
            "by_column": {}})
        row["by_column"][(cell["backend"], cell["read_path"])] = cell
    for row in rows.values():
        row["cells"] = [row["by_column"].get(column["key"]) for column in columns]
    template = _environment().get_template("matrix.md.j2")
    return template.render(run=document["run"], columns=columns, rows=list(rows.values()), details=details,
                           features=document["features"], scenarios=document["scenarios"])
