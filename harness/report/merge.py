"""Shards: a catalog split across machines (`run --shard i/n`) and their reports merged into one.

A shard takes every n-th scenario in name order, so the same catalog splits the same way on every
machine. Merging keeps every cell of every shard; the runs must agree on the versions they ran
(otherwise their cells would not be one matrix), and a cell two shards both have is refused — except
from a re-run (`merge --rerun`: the scenarios that had error cells, run once more), whose cells
replace the first attempt's.

Each shard's evidence (screenshots, raw answers, logs, configs) is carried into the merged report
folder under `shards/<the shard's run id>/`, and the cells' screenshot links are rewritten to point
there, so the merged matrix.html's evidence links resolve.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..model import UsageError

T = TypeVar("T")
SHARD = re.compile(r"^(\d+)/(\d+)$")
EVIDENCE_FOLDER = "shards"
# What a run folder holds as evidence (README, *Reports*), and a merged report's own shards.
EVIDENCE_FOLDERS = {"render", "raw", "logs", "config", EVIDENCE_FOLDER}
EVIDENCE_FILES = {"sent.json"}  # and each collector's `*-forwarded.jsonl`


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


def evidence_folder(document: dict[str, Any]) -> str:
    """Where a shard's evidence goes in the merged report folder."""
    return f"{EVIDENCE_FOLDER}/{document['run']['id']}"


def _with_evidence_links(cell: dict[str, Any], folder: str) -> dict[str, Any]:
    screenshots = (cell.get("evidence") or {}).get("screenshots")
    if not screenshots:
        return cell
    return {**cell, "evidence": {**cell["evidence"], "screenshots": [f"{folder}/{shot}" for shot in screenshots]}}


def merge(documents: list[dict[str, Any]], names: list[str],
          reruns: Sequence[tuple[dict[str, Any], str]] = ()) -> dict[str, Any]:
    """One matrix.json from shard reports (`names`: where each came from, for messages); the cells of
    each of `reruns` (report, name) replace the same cells of the shards."""
    if not documents:
        raise UsageError("merge: give at least one matrix.json")
    rerun_documents = [document for document, _ in reruns]
    # A shard with no scenario ran nothing: its versions say nothing about the matrix's.
    measured = [(d, n) for d, n in zip([*documents, *rerun_documents], [*names, *(n for _, n in reruns)], strict=True)
                if d["cells"]] or [(documents[0], names[0])]
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
            cells[key] = _with_evidence_links(cell, evidence_folder(document))
    replaced = 0
    for document, _ in reruns:
        for cell in document["cells"]:
            key = (cell["scenario"], cell["pipeline"], cell["feature"], cell["backend"], cell["read_path"])
            replaced += key in cells
            cells[key] = _with_evidence_links(cell, evidence_folder(document))
    everything = [*documents, *rerun_documents]
    rerun_scenarios = {s["name"] for d in rerun_documents for s in d.get("scenarios", [])}
    # A first attempt's problems stay visible, said to be from before the re-run that replaced its cells.
    first_problems = [p if not reruns else f"first attempt, before the re-run: {p}"
                      for d in documents for p in d["run"].get("problems", [])]
    columns = {(c["backend"], c["read_path"]): c for document in everything for c in document.get("columns", [])}
    run = {**{k: v for k, v in first["run"].items() if k != "note"}, "id": "+".join(d["run"]["id"] for d in everything),
           "started": min(d["run"]["started"] for d in everything), "ended": max(d["run"]["ended"] for d in everything),
           "problems": [*first_problems, *(p for d in rerun_documents for p in d["run"].get("problems", []))],
           "pipelines": sorted({p for d in documents for p in d["run"].get("pipelines", [])}),
           "stages": {stage: max(d["run"].get("stages", {}).get(stage, 0.0) for d in documents)
                      for stage in first["run"].get("stages", {})},
           "skipped": {k: v for d in documents for k, v in d["run"].get("skipped", {}).items()},
           "backends": {k: v for d in everything for k, v in d["run"].get("backends", {}).items()},
           "shards": names,
           **({"reruns": {"reports": [name for _, name in reruns], "scenarios": sorted(rerun_scenarios),
                          "cells_replaced": replaced}} if reruns else {})}
    scenarios = {s["name"]: s for d in everything for s in d.get("scenarios", [])}
    between = {(c["family"], c["scenario"], c["pipeline"], c["feature"], c["read_path"]): c
               for d in everything for c in d.get("between_versions", [])}
    return {**first, "run": run, "scenarios": list(scenarios.values()),
            "columns": list(columns.values()), "cells": list(cells.values()),
            "between_versions": list(between.values()),
            **_your_links(everything)}


def _your_links(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """Each replayed capture's own links, from the shard that ran it (a re-run's, when there is one)."""
    captured = {record["scenario"]: record for d in documents for record in d.get("your_links", [])}
    return {"your_links": list(captured.values())} if captured else {}


def carry_evidence(folders: Sequence[tuple[Path, dict[str, Any]]], run_dir: Path) -> list[str]:
    """Copy each shard's evidence (what a run folder holds beside its report files) into `run_dir`
    under its evidence folder. Only evidence is taken, so a matrix.json given from anywhere else
    never drags its folder along. Returns what could not be read (a data folder owned by a
    container's user, mode 700): left out."""
    left_out: list[str] = []
    destination = run_dir.resolve()
    for source, document in folders:
        target = run_dir / evidence_folder(document)
        for entry in sorted(source.iterdir()) if source.is_dir() else []:
            if not _is_evidence(entry) or entry.resolve() in (destination, *destination.parents):
                continue
            if not os.access(entry, os.R_OK | (os.X_OK if entry.is_dir() else 0)):
                left_out.append(str(entry))
            elif entry.is_dir():
                shutil.copytree(entry, target / entry.name, ignore=_unreadable(left_out), dirs_exist_ok=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(entry, target / entry.name)
    return left_out


def _is_evidence(entry: Path) -> bool:
    if entry.is_dir():
        return entry.name in EVIDENCE_FOLDERS
    return entry.name in EVIDENCE_FILES or entry.name.endswith("-forwarded.jsonl")


def _unreadable(left_out: list[str]) -> Callable[[str, list[str]], set[str]]:
    """copytree's `ignore`: what cannot be read (noted in `left_out`), and hidden partial files."""
    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = set()
        for name in names:
            path = Path(folder) / name
            if name.startswith("."):
                skipped.add(name)
            elif not os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0)):
                skipped.add(name)
                left_out.append(str(path))
        return skipped
    return ignore
