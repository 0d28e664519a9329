"""matrix.html: one self-contained page per run (no request leaves it when opened): the matrix as
a coloured grid, filters by backend, feature and verdict, and each cell's evidence a click away.
Every value comes from scenario files and backends, so Jinja2 escapes all of it (autoescape)."""

from __future__ import annotations

import re
from typing import Any

import jinja2
from markupsafe import Markup, escape

from ..model import NOT_APPLICABLE, jsonio
from ._common import scenario_label, visible_value
from ._your_links import views as your_links_views
from .decide import NO, PARTLY, UNMEASURED, YES, Cells, findings, not_measured, scorecard, settings

VALUE_LIMIT = 400  # a thousand-link span's evidence stays readable

# A scorecard mark as a word and a drawn glyph: an emoji needs a font that many machines (a
# headless browser, a server) lack, and then shows as an empty box.
_GLYPHS = {YES: '<path d="M2 6.5l2.5 2.5L10 3.5"/>', PARTLY: '<path d="M6 1.5v6M6 9v1.5"/>',
           NO: '<path d="M3 3l6 6M9 3l-6 6"/>', UNMEASURED: ""}
MARKS = {mark: {"css": css, "word": word,
                "glyph": Markup('<svg viewBox="0 0 12 12" width="12" height="12" aria-hidden="true" fill="none" '
                                f'stroke="currentColor" stroke-width="2">{_GLYPHS[mark]}</svg>') if _GLYPHS[mark]
                else Markup("")}
         for mark, css, word in ((YES, "yes", "yes"), (PARTLY, "partly", "partly"), (NO, "no", "no"),
                                 (UNMEASURED, "unmeasured", "not measured"))}


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else jsonio.dumps(value, ensure_ascii=False)
    return text if len(text) <= VALUE_LIMIT else text[:VALUE_LIMIT] + "…"


def _code(text: str) -> Markup:
    """Escaped text whose `backticked` parts are shown as code (the markdown report's notation)."""
    return Markup(re.sub(r"`([^`]*)`", r"<code>\1</code>", str(escape(text))))


def _cell(cell: dict[str, Any], number: int) -> dict[str, Any]:
    evidence = cell.get("evidence") or {}
    return {**cell, "id": f"c{number}", "css": "na" if cell["verdict"] == NOT_APPLICABLE else cell["verdict"],
            "hop": cell.get("hop") or "", "changed_at": cell.get("changed_at") or [cell.get("hop") or ""],
            "summary": cell.get("summary", ""), "reason": cell.get("reason", ""), "meaning": cell.get("meaning", ""),
            "hops": cell.get("hops") or {},
            "differences": [{"path": d.get("path", ""), "expected": _text(d.get("expected")),
                             "actual": _text(d.get("actual")), "note": d.get("note", "")}
                            for d in evidence.get("difference") or []],
            "hop_messages": [m for ms in (evidence.get("hop_messages") or {}).values() for m in ms],
            "warnings": sorted({w for ws in (evidence.get("backend_warnings") or {}).values() for w in ws}),
            "screenshots": list(evidence.get("screenshots") or [])}


def render_html(document: dict[str, Any]) -> str:
    columns = document["columns"]
    position = {(c["backend"], c["read_path"]): i for i, c in enumerate(columns)}
    rows: dict[tuple[str, str], list[dict[str, Any] | None]] = {}
    for number, cell in enumerate(document["cells"]):
        row = rows.setdefault((scenario_label(cell), cell["feature"]), [None] * len(columns))
        row[position[(cell["backend"], cell["read_path"])]] = _cell(cell, number)
    environment = jinja2.Environment(loader=jinja2.PackageLoader("harness.report", "templates"),
                                     autoescape=True, undefined=jinja2.StrictUndefined, finalize=visible_value)
    environment.filters["code"] = _code
    used = {feature for _, feature in rows}
    index = Cells(document)
    return environment.get_template("matrix.html.j2").render(
        run=document["run"], columns=columns, scorecard=scorecard(index), marks=MARKS,
        settings=settings(index), not_measured=not_measured(document), findings=findings(index),
        your_links=your_links_views(document),
        rows=[{"scenario": scenario, "feature": feature, "cells": cells}
              for (scenario, feature), cells in rows.items()],
        backends=sorted({c["backend"] for c in columns}),
        features=[f["id"] for f in document["features"] if f["id"] in used],
        verdicts=sorted({c["verdict"] for c in document["cells"]}))
