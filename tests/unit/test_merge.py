"""Shards split the catalog the same way everywhere; merged reports keep every cell and refuse to
mix runs of different versions or to count a cell twice."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.model._errors import UsageError
from harness.report.merge import carry_evidence, merge, parse_shard, shard_of


def test_shards_take_every_nth_name_and_cover_the_catalog_once() -> None:
    names = ["e", "a", "d", "c", "b"]
    shards = [shard_of(names, str, (i, 3)) for i in (1, 2, 3)]
    assert shards == [["a", "d"], ["b", "e"], ["c"]]
    assert sorted(n for shard in shards for n in shard) == sorted(names)
    assert parse_shard(" 2/4 ") == (2, 4)
    for wrong in ("0/2", "3/2", "1", "a/b", "1/0"):
        with pytest.raises(UsageError, match="write I/N"):
            parse_shard(wrong)


def document(run_id: str, scenario: str, **versions: str) -> dict:
    return {"schema_version": 1, "run": {"id": run_id, "started": "1", "ended": "2", "versions": versions,
                                         "stages": {"emit": 1.0}, "problems": [f"p{run_id}"]},
            "scenarios": [{"name": scenario}], "columns": [{"backend": "jaeger", "read_path": "api_v3"}],
            "cells": [{"scenario": scenario, "pipeline": "collector", "feature": "link.present",
                       "backend": "jaeger", "read_path": "api_v3", "verdict": "preserved"}]}


def test_merge_keeps_every_cell_and_refuses_mixed_versions_or_a_cell_twice() -> None:
    merged = merge([document("a", "s1", jaeger="2.13.0"), document("b", "s2", jaeger="2.13.0")], ["A", "B"])
    assert [c["scenario"] for c in merged["cells"]] == ["s1", "s2"]
    assert merged["run"]["id"] == "a+b" and merged["run"]["problems"] == ["pa", "pb"]
    assert len(merged["columns"]) == 1
    with pytest.raises(UsageError, match=r"B ran jaeger '2\.12\.0', A ran '2\.13\.0'"):
        merge([document("a", "s1", jaeger="2.13.0"), document("b", "s2", jaeger="2.12.0")], ["A", "B"])
    with pytest.raises(UsageError, match="that another shard has too"):
        merge([document("a", "s1"), document("b", "s1")], ["A", "B"])


def test_a_rerun_replaces_the_first_attempts_cells_and_keeps_its_problems_said_as_such() -> None:
    first = document("a", "s1", jaeger="2.13.0")
    first["cells"][0].update(verdict="error", reason="read timed out")
    again = document("r", "s1", jaeger="2.13.0")
    merged = merge([first, document("b", "s2", jaeger="2.13.0")], ["A", "B"], [(again, "R")])
    assert [(c["scenario"], c["verdict"]) for c in merged["cells"]] == [("s1", "preserved"), ("s2", "preserved")]
    assert merged["run"]["problems"] == ["first attempt, before the re-run: pa", "first attempt, before the re-run: pb", "pr"]
    assert merged["run"]["reruns"] == {"reports": ["R"], "scenarios": ["s1"], "cells_replaced": 1}
    with pytest.raises(UsageError, match="R ran jaeger"):
        merge([first], ["A"], [(document("r", "s1", jaeger="2.14.0"), "R")])


def test_merge_carries_every_shards_evidence_and_points_the_screenshot_links_at_it(tmp_path: Path) -> None:
    shards = []
    for run_id, scenario in (("a", "s1"), ("b", "s2")):
        folder = tmp_path / run_id
        for name in (f"render/zipkin/lens/{run_id}.jpg", "raw/wire/collector.jsonl", "logs/collector.log",
                     "matrix.json", "summary.md"):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(f"{run_id} {name}")
        report = document(run_id, scenario)
        report["cells"][0]["evidence"] = {"screenshots": [f"render/zipkin/lens/{run_id}.jpg"]}
        shards.append((folder, report))
    (tmp_path / "b" / "raw" / "tempo").mkdir(mode=0o700)
    (tmp_path / "b" / "raw" / "tempo").chmod(0)  # a container user's folder: cannot be read
    (tmp_path / "b" / "tempo-data").mkdir()  # a backend's data: not evidence
    merged = merge([report for _, report in shards], ["A", "B"])
    out = tmp_path / "b" / "merged"  # inside a shard's folder: never copied into itself
    try:
        left_out = carry_evidence(shards, out)
    finally:
        (tmp_path / "b" / "raw" / "tempo").chmod(0o700)
    links = [shot for c in merged["cells"] for shot in c["evidence"]["screenshots"]]
    assert links == ["shards/a/render/zipkin/lens/a.jpg", "shards/b/render/zipkin/lens/b.jpg"]
    assert all((out / link).read_text().endswith(".jpg") for link in links)
    assert (out / "shards/a/logs/collector.log").read_text() == "a logs/collector.log"
    assert (out / "shards/b/raw/wire/collector.jsonl").exists()
    assert sorted(path.name for path in (out / "shards/b").iterdir()) == ["logs", "raw", "render"]
    if os.geteuid() != 0:  # root reads anything
        assert left_out == [str(tmp_path / "b" / "raw" / "tempo")]
    assert shards[0][1]["cells"][0]["evidence"]["screenshots"] == ["render/zipkin/lens/a.jpg"]  # inputs untouched
