"""Jaeger's storages as columns, each a real process: Badger embedded, OpenSearch and Elasticsearch
from their Maven Central distributions (run unprivileged when linkmatrix runs as root). The report shows which link
fields each storage keeps; every process and OpenSearch's unpacked folder are gone afterwards."""

from __future__ import annotations

import glob
import tempfile
from pathlib import Path
from typing import Any

import pytest

from harness.model import RunResult
from harness.report import to_document, validate
from harness.run._matrix import RunSettings, run_matrix
from harness.scenario._scenario import load_all

from .conftest import ROOT, processes_in

STORED = ["jaeger", "jaeger-badger", "jaeger-opensearch", "jaeger-elasticsearch"]


@pytest.fixture(scope="module")
def stored(binaries: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, Path]:
    reports = tmp_path_factory.mktemp("storages")
    settings = RunSettings(scenarios=load_all([ROOT / "scenarios" / "cross-trace-attributes.yaml"]),
                           reports_dir=reports, runtime="local", backends=STORED)
    return run_matrix(settings, notify=lambda message: None), reports


def cell(document: dict[str, Any], backend: str, feature: str, read_path: str = "api_v3") -> dict[str, Any]:
    return next(c for c in document["cells"] if (c["backend"], c["feature"], c["read_path"], c["pipeline"])
                == (backend, feature, read_path, "collector"))


def test_each_storage_is_a_column_group_that_says_which_link_fields_it_keeps(stored: tuple[RunResult, Path]) -> None:
    result, reports = stored
    document = to_document(result)
    validate(document)
    assert not result.problems, result.problems
    assert document["run"]["versions"]["opensearch"] == "2.19.1"
    assert document["run"]["versions"]["elasticsearch"] == "8.19.4"
    assert {c["backend"] for c in document["cells"]} == set(STORED)
    for feature in ("link.present", "link.target_ids", "link.target_arrived"):
        for backend in STORED:
            assert cell(document, backend, feature)["verdict"] == "preserved", (backend, feature)
    # In memory Jaeger keeps link attributes; Badger and OpenSearch store links as references
    # without attributes: lost in the backend, every type.
    assert cell(document, "jaeger", "link.attribute.int")["verdict"] == "preserved"
    for backend in ("jaeger-badger", "jaeger-opensearch", "jaeger-elasticsearch"):
        lost = cell(document, backend, "link.attribute.int")
        assert (lost["verdict"], lost["hop"]) == ("lost", "backend")
        assert lost["hops"]["collector"] == "preserved"  # it reached the storage intact
    assert processes_in(reports) == []
    for engine in ("opensearch", "elasticsearch"):
        assert glob.glob(str(Path(tempfile.gettempdir()) / f"linkmatrix-{engine}-*")) == []
