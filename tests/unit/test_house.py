"""The house as the README draws it: the judge is pure (importing it loads no SDK, no gRPC and no
browser), and the stages import only the stages before them (import-linter's contracts in
pyproject.toml, also run by `make lint`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("opentelemetry.sdk", "opentelemetry.exporter", "grpc", "playwright", "docker", "testcontainers")


def loaded_by(module: str) -> list[str]:
    """Every module a fresh interpreter has loaded once `module` is imported."""
    done = subprocess.run([sys.executable, "-c", f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"],
                          capture_output=True, text=True, cwd=ROOT, check=True, timeout=60)
    return done.stdout.split()


def test_importing_the_judge_loads_no_sdk_no_grpc_and_no_browser() -> None:
    heavy = [name for name in loaded_by("harness.judge") if name.startswith(HEAVY)]
    assert heavy == []


def test_the_check_can_fail_a_module_that_loads_the_sdk() -> None:
    # the same measure on the emit stage, which does load the SDK: the test above can fail
    assert any(name.startswith("opentelemetry.sdk") for name in loaded_by("harness.emit"))


def test_the_stages_keep_their_layers() -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout


def test_a_run_from_a_checkout_names_its_lock_file() -> None:
    from harness.stack import library_versions

    assert library_versions()["requirements.lock"] not in ("", "none (not run from a checkout)")
