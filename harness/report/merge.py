"""Shards: a catalog split across machines (`run --shard i/n`) and their reports merged into one.

A shard takes every n-th scenario in name order, so the same catalog splits the same way on every
machine. Merging keeps every cell of every shard; the runs must agree on the versions they ran
(otherwise their cells would not be one matrix), and a cell two shards both have is refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar

from ..model import UsageError

T = TypeVar("T")
SHARD = re.compile(r"^(\d+)/(\d+)$")


def parse_shard(text: str) -> tuple[int, int]:
    """"2/4" → (2, 4); one clear line for anything else."""
    match = SHARD.match(text.strip())
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise UsageError(f"--shard {text!r}: write I/N with 1 ≤ I ≤ N, e.g. 2/4")
    return int(match[1]), int(match[2])


def shard_of(items: Sequence[T], name: Any, shard: tuple[int, int]) -> list[T]:
    """The items of shard i of n: every n-th one in the order of `name(item)`."""
    index, count = shard
    ordered = sorted(items, key=name)
    return [item for position, item in enumerate(ordered) if position % count == index - 1]


def merge(documents: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """One matrix.json from shard reports (`names`: where each came from, for messages)."""
    if not documents:
        raise UsageError("merge: give at least one matrix.json")
    # A shard with no scenario ran nothing: its versions say nothing about the matrix's.
    measured = [(d, n) for d, n in zip(documents, names, strict=True) if d["cells"]] or [(documents[0], names[0])]
    first, first_name = measured[0]
    versions = first["run"].get("versions", {})
    for document, name in measured[1:]:
        differ = sorted(key for key in versions.keys() | document["run"].get("versions", {}).keys()
                        if key not in ("linkmatrix",) and versions.get(key) != document["run"]["versions"].get(key))
        if differ:
            key = differ[0]
            raise UsageError(f"merge: {name} ran {key} {document['run']['versions'].get(key)!r}, {first_name} ran "
                             f"{versions.get(key)!r}: shards of one matrix must run the same versions")
    cells: dict[tuple[str, ...], dict[str, Any]] = {}
    for document, name in zip(documents, names, strict=True):
        for cell in document["cells"]:
            key = (cell["scenario"], cell["pipeline"], cell["feature"], cell["backend"], cell["read_path"])
            if key in cells:
                raise UsageError(f"merge: {name} has the cell {' · '.join(key)} that another shard has too")
            cells[key] = cell
    columns = {(c["backend"], c["read_path"]): c for document in documents for c in document.get("columns", [])}
    run = {**{k: v for k, v in first["run"].items() if k != "note"}, "id": "+".join(d["run"]["id"] for d in documents),
           "started": min(d["run"]["started"] for d in documents), "ended": max(d["run"]["ended"] for d in documents),
           "problems": [p for d in documents for p in d["run"].get("problems", [])],
           "pipelines": sorted({p for d in documents for p in d["run"].get("pipelines", [])}),
           "stages": {stage: max(d["run"].get("stages", {}).get(stage, 0.0) for d in documents)
                      for stage in first["run"].get("stages", {})},
           "skipped": {k: v for d in documents for k, v in d["run"].get("skipped", {}).items()},
           "shards": names}
    return {**first, "run": run, "scenarios": [s for d in documents for s in d.get("scenarios", [])],
            "columns": list(columns.values()), "cells": list(cells.values()),
            "between_versions": [c for d in documents for c in d.get("between_versions", [])]}
