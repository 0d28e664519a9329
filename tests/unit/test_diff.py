"""Two runs compared: worse is a regression (exit 3), better never fails, a cell only one run has
is named, and versions that changed are listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.model._errors import InputError
from harness.report import diff, load_report


def cell(verdict: str, feature: str = "link.present", backend: str = "jaeger", hop: str = "") -> dict:
    return {"scenario": "s", "pipeline": "collector", "feature": feature, "backend": backend,
            "read_path": "api_v3", "verdict": verdict, **({"hop": hop} if hop else {})}


def run(*cells: dict, **versions: str) -> dict:
    return {"schema_version": 1, "run": {"versions": versions}, "cells": list(cells)}


@pytest.mark.parametrize(("old", "new", "kind"), [
    ("preserved", "degraded", "regressed"), ("preserved", "lost", "regressed"), ("degraded", "lost", "regressed"),
    ("n/a", "error", "regressed"), ("preserved", "error", "regressed"),
    ("lost", "preserved", "improved"), ("error", "degraded", "improved"), ("degraded", "preserved", "improved"),
    ("n/a", "lost", "changed"), ("lost", "n/a", "changed"),
])
def test_each_verdict_change_is_sorted_by_what_it_means(old: str, new: str, kind: str) -> None:
    compared = diff.compare(run(cell(old)), run(cell(new)))
    assert [len(getattr(compared, k)) for k in ("regressed", "improved", "changed")] == [
        int(kind == k) for k in ("regressed", "improved", "changed")]
    assert compared.exit_code == (diff.REGRESSED_EXIT if kind == "regressed" else 0)


def test_a_new_hop_is_a_change_and_cells_of_one_run_only_are_named() -> None:
    old = run(cell("lost", hop="wire"), cell("preserved", "link.order"), jaeger="2.12.0")
    new = run(cell("lost", hop="backend"), cell("preserved", "link.flags"), jaeger="2.13.0")
    compared = diff.compare(old, new)
    assert [c.key[2] for c in compared.changed] == ["link.present"]
    assert [c.key[2] for c in compared.removed] == ["link.order"]
    assert [c.key[2] for c in compared.added] == ["link.flags"]
    assert compared.versions == {"jaeger": ("2.12.0", "2.13.0")}
    assert compared.exit_code == 0
    assert compared.lines()[-1] == "0 regressed, 0 improved, 1 changed, 1 added, 1 removed; exit 0"


def test_what_is_not_a_matrix_is_one_line(tmp_path: Path) -> None:
    cases = {"broken.json": "{", "list.json": "[]", "old.json": json.dumps({"schema_version": 0, "cells": []}),
             "cell.json": json.dumps({"schema_version": 1, "cells": [{"scenario": "s"}]})}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(InputError) as raised:
            load_report(tmp_path / name)
        assert name in str(raised.value) and "\n" not in str(raised.value)
    with pytest.raises(InputError, match="cannot read the file"):
        load_report(tmp_path / "missing.json")
