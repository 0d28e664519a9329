"""The matrix on the terminal at the end of a run: compact (marks and hops), the details are in matrix.md."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from ..model import DEGRADED, ERROR, LOST, NOT_APPLICABLE, PRESERVED
from ._common import VERDICT_MARK, scenario_label

_STYLE = {PRESERVED: "green", DEGRADED: "yellow", LOST: "red", NOT_APPLICABLE: "dim", ERROR: "magenta"}
_SHORT_HOP = {"capture": "capt", "sdk": "sdk", "wire": "wire", "collector": "coll", "backend": "back"}


def print_matrix(document: dict[str, Any], console: Console) -> None:
    used = {(cell["backend"], cell["read_path"]) for cell in document["cells"]}
    columns = [c for c in document["columns"] if (c["backend"], c["read_path"]) in used]
    table = Table(title=f"linkmatrix run {document['run']['id']}", show_lines=False, pad_edge=False)
    table.add_column("scenario · feature", no_wrap=True, overflow="ellipsis", max_width=48)
    for column in columns:  # "jaeger\napi_v3": narrow, grouped by backend
        table.add_column(f"{column['backend']}\n{column['read_path']}", no_wrap=True, justify="center")
    rows: dict[tuple[str, str], dict[tuple[str, str], dict[str, Any]]] = {}
    for cell in document["cells"]:
        rows.setdefault((scenario_label(cell), cell["feature"]), {})[(cell["backend"], cell["read_path"])] = cell
    previous = None
    for (scenario, feature), cells in rows.items():
        if scenario != previous:
            table.add_row(f"[bold]{scenario}[/]", *[""] * len(columns))
            previous = scenario
        table.add_row(f"  {feature}", *[_text(cells.get((c["backend"], c["read_path"]))) for c in columns])
    console.print(table)
    counts = Counter(cell["verdict"] for cell in document["cells"])
    console.print("  ".join(f"{VERDICT_MARK[v]} {v}: {counts[v]}" for v in VERDICT_MARK if counts[v])
                  + "   (hop: " + ("capt = capture, " if any(c.get("hop") == "capture" for c in document["cells"])
                                 else "") + "sdk, wire, coll = collector, back = backend)")
    stages = document["run"].get("stages", {})
    if "floor" in stages:  # the last line: how far the run is from what these backends allow
        ratio = f" · ratio {stages['ratio']:.2f}" if "ratio" in stages else ""
        console.print(f"wall {stages.get('wall', 0):.1f} s · floor {stages['floor']:.1f} s (slowest readiness + "
                      f"the longer of visibility then the slowest page, and indexing, this run){ratio}{_cpu(stages)}")


def _cpu(stages: dict[str, float]) -> str:
    """" · CPU 16.0 s (backends 7.1, browser 5.2, harness 3.7); the machine's 2 cores were busy 94 % of the wall"."""
    if "cpu_total" not in stages:
        return ""
    parts = ", ".join(f"{part} {stages[f'cpu_{part}']:.1f}" for part in ("backends", "browser", "harness")
                      if f"cpu_{part}" in stages)
    cores = os.cpu_count() or 1
    busy = f"; the machine's {cores} cores were busy {100 * stages['cpu_machine'] / (cores * stages['wall']):.0f} %" \
        " of the wall" if stages.get("wall") and "cpu_machine" in stages else ""
    return f" · CPU {stages['cpu_total']:.1f} s ({parts}){busy}"


def _text(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return ""
    verdict = cell["verdict"]
    changed = cell.get("changed_at") or ([cell["hop"]] if cell.get("hop") else [])
    hops = "+".join(_SHORT_HOP.get(hop, hop) for hop in changed)
    return f"[{_STYLE[verdict]}]{VERDICT_MARK[verdict]}{' ' + hops if hops else ''}[/]"
