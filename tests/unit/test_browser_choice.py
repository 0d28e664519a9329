"""Which browser a run drives, and why the others were passed over — with real executables (small
scripts standing in for browsers), since `--version` is how a browser is told from a broken one."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from harness.stack.toolchain import _browser as browser
from harness.stack.toolchain._browser import CHROMIUM_ENV, BrowserUnavailableError, choose_browser, obtain


def executable(folder: Path, name: str, says: str, exit_code: int = 0) -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{says}'\nexit {exit_code}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def empty_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.delenv(CHROMIUM_ENV, raising=False)
    return folder


def test_a_named_browser_is_the_only_candidate(empty_path: Path) -> None:
    executable(empty_path, "chromium", "Chromium 1.0.0")
    named = executable(empty_path.parent, "my-chrome", "Chromium 99.0.4844.1 custom")
    found, passed = choose_browser(str(named), None)
    assert found is not None and found.path == str(named) and found.version == "Chromium 99.0.4844.1 custom"
    assert found.origin == CHROMIUM_ENV and passed == []


@pytest.mark.parametrize("named, said", [("/bin/false", "exit 1"), ("/nonexistent/chrome", "No such file")])
def test_a_named_browser_that_does_not_run_is_not_replaced_by_another(empty_path: Path, named: str,
                                                                     said: str) -> None:
    executable(empty_path, "chromium", "Chromium 1.0.0")
    found, passed = choose_browser(named, None)
    assert found is None
    assert len(passed) == 1 and passed[0].startswith(f"{CHROMIUM_ENV}={named}: ") and said in passed[0]


def test_playwrights_own_comes_before_one_on_path(empty_path: Path) -> None:
    executable(empty_path, "chromium", "Chromium 1.0.0")
    own = executable(empty_path.parent, "chrome", "Google Chrome for Testing 159.0.8154.6")
    found, _ = choose_browser(None, str(own))
    assert found is not None and found.path == str(own) and "Playwright's own" in found.origin


def test_a_missing_playwright_browser_falls_to_path(empty_path: Path) -> None:
    on_path = executable(empty_path, "chromium", "Chromium 156.0.8078.114")
    found, passed = choose_browser(None, str(empty_path / "not-installed" / "chrome"))
    assert found is not None and found.path == str(on_path) and found.origin == "`chromium` on PATH"
    assert passed == []


def test_a_shim_that_is_not_a_browser_is_passed_over_saying_why(empty_path: Path) -> None:
    executable(empty_path, "chromium-browser", "Command '/usr/bin/chromium-browser' requires the chromium snap", 1)
    chrome = executable(empty_path, "google-chrome", "Google Chrome 150.0.1.2")
    found, passed = choose_browser(None, None)
    assert found is not None and found.path == str(chrome)
    assert len(passed) == 1 and "chromium-browser" in passed[0] and "requires the chromium snap" in passed[0]


def test_nothing_anywhere_is_none(empty_path: Path) -> None:
    assert choose_browser(None, None) == (None, [])


def test_obtaining_never_installs_over_a_broken_named_browser(empty_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CHROMIUM_ENV, "/bin/false")
    monkeypatch.setattr(browser, "playwright_executable", lambda: None)  # no driver start needed here
    said: list[str] = []
    with pytest.raises(BrowserUnavailableError, match=f"{CHROMIUM_ENV}=/bin/false"):
        obtain(said.append)
    assert said == []  # no download, no apt-get: the user named the browser to use


def test_prerequisites_say_what_is_missing_in_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "bin"
    folder.mkdir()
    os.symlink(sys.executable, folder / "python3")
    done = subprocess.run([str(folder / "python3"), "-m", "harness.prerequisites"], capture_output=True, text=True,
                          env={"PATH": str(folder)}, cwd=Path(__file__).resolve().parents[2], timeout=60)
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("prerequisites: Python 3.")
    assert "Go missing" in lines[0] and "Java missing" in lines[0] and "browser missing" in lines[0]
    assert done.returncode == 2 and "cannot go on without Java" in done.stderr  # Go: a warm cache needs none
