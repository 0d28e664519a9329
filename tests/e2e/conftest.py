"""End-to-end: the real collector, Jaeger and Zipkin, started once for the session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psutil
import pytest

from harness.backends import every_build
from harness.model import RunResult, Variant
from harness.report import to_document, validate, write
from harness.run._matrix import RunSettings, run_matrix
from harness.scenario._scenario import load_all
from harness.stack.toolchain import _builds as toolchain

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def binaries() -> dict[str, Path]:
    cache = toolchain.cache_dir()
    builds = {**toolchain.COMPONENTS, **{f"{build.name}@{build.version}": build for build in every_build()}}
    missing = [name for name, build in builds.items() if not build.path(cache).exists()]
    if missing:
        pytest.fail(f"backends not built: {', '.join(missing)} — run `linkmatrix backends --all` (`make test` does) first", pytrace=False)
    return {name: build.path(cache) for name, build in builds.items()}


@pytest.fixture(scope="session")
def shipped_run(binaries: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    reports = tmp_path_factory.mktemp("reports")
    settings = RunSettings(scenarios=load_all([ROOT / "scenarios"]), reports_dir=reports, runtime="local")
    result = run_matrix(settings, notify=lambda message: None)
    write(result, reports)
    return result


@pytest.fixture(scope="session")
def document(shipped_run: RunResult) -> dict[str, Any]:
    return to_document(shipped_run)


def processes_in(directory: Path) -> list[str]:
    """Processes whose working directory is inside `directory` (every service runs in its run folder)."""
    found = []
    for process in psutil.process_iter(["pid", "cwd", "cmdline"]):
        cwd = process.info.get("cwd") or ""
        if cwd.startswith(str(directory)):
            found.append(f"{process.info['pid']} {' '.join(process.info['cmdline'] or [])[:100]}")
    return found


def run_shipped(names: list[str], reports: Path, chosen: list[Variant]) -> tuple[RunResult, dict[str, Any]]:
    """Shipped scenarios (by name) on Jaeger and Zipkin, locally, through the chosen variants: the
    run and its report document, checked against the report schema, with no problem line."""
    settings = RunSettings(scenarios=load_all([ROOT / "scenarios" / f"{name}.yaml" for name in names]),
                           reports_dir=reports, runtime="local", backends=["jaeger", "zipkin"], variants=chosen)
    result = run_matrix(settings, notify=lambda message: None)
    document = to_document(result)
    validate(document)
    assert not result.problems, result.problems
    return result, document
