"""Two runs compared cell by cell: what got worse, what got better, what else changed, which cells
only one run has, and which versions changed in between (nightly runs compare reports).

A cell is keyed by (scenario, pipeline, feature, backend, read path). Worse means preserved →
degraded or lost, degraded → lost, or anything → error (a cell that can no longer be measured).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..model import DEGRADED, ERROR, LOST, PRESERVED

REGRESSED_EXIT = 3  # `linkmatrix diff` and `run --baseline`: some cell got worse
RANK = {PRESERVED: 0, DEGRADED: 1, LOST: 2}  # how much of a feature is gone

CellKey = tuple[str, str, str, str, str]


@dataclass
class Change:
    key: CellKey
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    def line(self) -> str:
        scenario, pipeline, feature, backend, read_path = self.key
        where = f"{scenario}{'' if pipeline == 'collector' else f' ({pipeline})'} · {feature} · {backend}/{read_path}"
        return f"{where}: {_state(self.old)} → {_state(self.new)}"

    def to_json(self) -> dict[str, Any]:
        scenario, pipeline, feature, backend, read_path = self.key
        return {"scenario": scenario, "pipeline": pipeline, "feature": feature, "backend": backend,
                "read_path": read_path, "old": _brief(self.old), "new": _brief(self.new)}


@dataclass
class Diff:
    regressed: list[Change] = field(default_factory=list)
    improved: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)  # neither (a different hop, n/a ↔ measured, …)
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    versions: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # name → (old, new)

    @property
    def exit_code(self) -> int:
        return REGRESSED_EXIT if self.regressed else 0

    def lines(self) -> list[str]:
        out = [f"versions: {name} {old or '(none)'} → {new or '(none)'}" for name, (old, new) in self.versions.items()]
        for title, changes in (("regressed", self.regressed), ("improved", self.improved), ("changed", self.changed),
                               ("added", self.added), ("removed", self.removed)):
            out += [f"{title}: {change.line()}" for change in changes]
        counts = ", ".join(f"{len(changes)} {title}" for title, changes in
                           (("regressed", self.regressed), ("improved", self.improved), ("changed", self.changed),
                            ("added", self.added), ("removed", self.removed)))
        return [*out, f"{counts}; exit {self.exit_code}"]


def _brief(cell: dict[str, Any] | None) -> dict[str, Any] | None:
    if cell is None:
        return None
    return {key: cell[key] for key in ("verdict", "hop", "summary", "reason") if cell.get(key)}


def _state(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "(no cell)"
    text = cell["verdict"] + (f" at {cell['hop']}" if cell.get("hop") else "")
    detail = cell.get("summary") or cell.get("reason") or ""
    return f"{text} ({detail.splitlines()[0][:120]})" if detail else text


def is_worse(old: str, new: str) -> bool:
    if new == ERROR:
        return old != ERROR
    return old in RANK and new in RANK and RANK[new] > RANK[old]


def is_better(old: str, new: str) -> bool:
    if old == ERROR:
        return new in RANK
    return old in RANK and new in RANK and RANK[new] < RANK[old]


def _cells(document: dict[str, Any]) -> dict[CellKey, dict[str, Any]]:
    return {(c["scenario"], c["pipeline"], c["feature"], c["backend"], c["read_path"]): c
            for c in document.get("cells", [])}


def compare(old: dict[str, Any], new: dict[str, Any]) -> Diff:
    diff = Diff()
    before, after = _cells(old), _cells(new)
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key), after.get(key)
        change = Change(key, was, now)
        if was is None:
            diff.added.append(change)
        elif now is None:
            diff.removed.append(change)
        elif is_worse(was["verdict"], now["verdict"]):
            diff.regressed.append(change)
        elif is_better(was["verdict"], now["verdict"]):
            diff.improved.append(change)
        elif (was["verdict"], was.get("hop")) != (now["verdict"], now.get("hop")):
            diff.changed.append(change)
    old_versions, new_versions = old.get("run", {}).get("versions", {}), new.get("run", {}).get("versions", {})
    diff.versions = {name: (old_versions.get(name), new_versions.get(name))
                     for name in sorted(old_versions.keys() | new_versions.keys())
                     if old_versions.get(name) != new_versions.get(name)}
    return diff
