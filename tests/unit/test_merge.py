"""Shards split the catalog the same way everywhere; merged reports keep every cell and refuse to
mix runs of different versions or to count a cell twice."""

from __future__ import annotations

import pytest

from harness.model._errors import UsageError
from harness.report.merge import merge, parse_shard, shard_of


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
