"""The matrix on the terminal, at the end of a run."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from . import VERDICT_MARK, scenario_label

_STYLE = {"preserved": "green", "degraded": "yellow", "lost": "red", "n/a": "dim", "error": "magenta"}


def print_matrix(document: dict[str, Any], console: Console) -> None:
    columns = document["columns"]
    titles = {feature["id"]: feature["title"] for feature in document["features"]}
    table = Table(title=f"linkmatrix run {document['run']['id']}", show_lines=False)
    table.add_column("scenario", style="bold")
    table.add_column("feature")
    for column in columns:
        table.add_column(column["label"])
    rows: dict[tuple[str, str], dict[tuple[str, str], dict[str, Any]]] = {}
    for cell in document["cells"]:
        rows.setdefault((scenario_label(cell), cell["feature"]), {})[(cell["backend"], cell["read_path"])] = cell
    previous = None
    for (scenario, feature), cells in rows.items():
        shown = [_text(cells.get((column["backend"], column["read_path"]))) for column in columns]
        table.add_row(scenario if scenario != previous else "", titles.get(feature, feature), *shown)
        previous = scenario
    console.print(table)
    counts = Counter(cell["verdict"] for cell in document["cells"])
    console.print("  ".join(f"{VERDICT_MARK[v]} {v}: {counts[v]}" for v in VERDICT_MARK if counts[v]))


def _text(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return ""
    verdict = cell["verdict"]
    hop = f" · {' + '.join(cell.get('changed_at') or [cell['hop']])}" if cell.get("hop") else ""
    return f"[{_STYLE[verdict]}]{VERDICT_MARK[verdict]} {verdict}{hop}[/]"
