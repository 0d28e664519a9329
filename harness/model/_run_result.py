"""What a run hands to its reports: plain data, no orchestration."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._columns import ReadPath
from ._handoff import Cell, Emission
from ._scenarios import Scenario
from ._variant import PLAIN, Variant
from ._vocabulary import SDK_PIPELINES


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    started: str
    ended: str = ""
    runtime: str = "local"
    runtime_reason: str = ""
    network_mode: str = ""
    stages: dict[str, float] = field(default_factory=dict)
    stage_detail: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    columns: list[ReadPath] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what went wrong, one line each
    skipped: dict[str, str] = field(default_factory=dict)  # backend → why it did not run
    data_age: dict[str, str] = field(default_factory=dict)  # backend → why one read suffices, or its two reads
    backends: dict[str, dict[str, Any]] = field(default_factory=dict)  # backend → its adapter's notes (Backend.notes)
    variants: list[Variant] = field(default_factory=lambda: [PLAIN])  # the collector pipelines of the run
    note: str = ""  # what a reader must know first (an empty shard: why it has no cells)
    # The stack file's part: what it gave each component, and the candidates with their current releases.
    stack: dict[str, Any] = field(default_factory=dict)
    # What each scenario sent: a replayed capture's linking spans are listed one by one ("your links").
    emissions: list[Emission] = field(default_factory=list)

    @property
    def pipeline_order(self) -> list[str]:
        return [*(variant.name for variant in self.variants), *SDK_PIPELINES]
