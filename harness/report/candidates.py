"""Candidates (`run --candidate jaeger=2.14.0`): the cells the current release kept and the
candidate beside it did not. Any such cell fails the run with its own exit code, so that a night
says an upgrade would break links before the upgrade is made."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model._vocabulary import DEGRADED, ERROR, LOST, PRESERVED

CANDIDATE_REGRESSED = 5  # the exit code: a candidate lost what the current release kept
_RANK = {PRESERVED: 2, DEGRADED: 1, LOST: 0}
_KEY = ("scenario", "pipeline", "feature", "backend", "read_path")


@dataclass(frozen=True)
class Comparison:
    regressed: list[dict[str, Any]]  # cells the candidate lost or degraded, the current release's beside
    unmeasured: int  # candidate cells in error beside a measured current one

    def lines(self) -> list[str]:
        said = [f"candidate regressed: {r['component']} {r['version']} · {r['scenario']} · {r['feature']} · "
                f"{r['where']}: {_verdict(r['current'])} ({r['current']['name']}) → {_verdict(r['candidate'])} "
                f"({r['candidate']['name']})" for r in self.regressed]
        if self.unmeasured:
            said.append(f"candidate could not be measured: {self.unmeasured} cell(s) in error beside the current "
                        "release's (not counted as regressions)")
        return said


def _verdict(side: dict[str, Any]) -> str:
    return str(side["verdict"]) + (f" at {side['hop']}" if side.get("hop") else "")


def compare(document: dict[str, Any]) -> Comparison | None:
    """Each candidate of the run beside its current release; None when the run had no candidate."""
    candidates = (document["run"].get("stack") or {}).get("candidates") or []
    if not candidates:
        return None
    index = {tuple(cell[part] for part in _KEY): cell for cell in document["cells"]}
    regressed, unmeasured = [], 0
    for candidate in candidates:
        part = _KEY.index(candidate["by"])
        for pair in candidate["pairs"]:
            for key, cell in index.items():
                if key[part] != pair["current"] or cell["verdict"] not in _RANK:
                    continue
                twin = index.get((*key[:part], pair["candidate"], *key[part + 1:]))
                if twin is None:
                    continue
                if twin["verdict"] == ERROR:
                    unmeasured += 1
                elif twin["verdict"] in _RANK and _RANK[twin["verdict"]] < _RANK[cell["verdict"]]:
                    regressed.append(_regression(candidate, key, cell, twin))
    return Comparison(regressed, unmeasured)


def _regression(candidate: dict[str, Any], key: tuple[str, ...], cell: dict[str, Any],
                twin: dict[str, Any]) -> dict[str, Any]:
    scenario, pipeline, feature, backend, read_path = key
    where = f"{backend}/{read_path}" if candidate["by"] == "pipeline" else f"{pipeline} · {read_path}"
    return {"component": candidate["component"], "version": candidate["version"], "scenario": scenario,
            "feature": feature, "where": where,
            "current": {"name": cell[candidate["by"]], "verdict": cell["verdict"], "hop": cell.get("hop", "")},
            "candidate": {"name": twin[candidate["by"]], "verdict": twin["verdict"], "hop": twin.get("hop", ""),
                          "summary": twin.get("summary", "")}}
