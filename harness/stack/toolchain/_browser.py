"""The browser the render stage drives: found, or obtained the way this ecosystem obtains one.

Where one comes from, in the order tried:
1. `LINKMATRIX_CHROMIUM`: any Chromium the user names (it must run).
2. Playwright's own Chromium, once `playwright install chromium` has put it in Playwright's cache.
3. A Chromium on PATH (`chromium`: Debian's package; `chromium-browser`; `google-chrome`).

`obtain` adds two ways to get one when none is found: Playwright's download (`playwright install
chromium`: users' machines, hosted CI runners), then Debian's `chromium` package where the process
runs as root with apt-get. Where none can be had the run still measures every API column and lists
the render columns as not measured.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ...prerequisites import BROWSER_ENV, BROWSERS_ON_PATH

# The names a browser goes by, the same as the prerequisites' line says.
CHROMIUM_ENV, ON_PATH = BROWSER_ENV, BROWSERS_ON_PATH
VERSION_TIMEOUT = 20.0  # seconds for `<browser> --version`: a snap shim or a wrapper may be slow
PLAYWRIGHT_INSTALL_TIMEOUT = 900.0  # a 170 MB download on a slow line; a refused one fails in seconds
APT_TIMEOUT = 900.0
HEARTBEAT = 10.0

Report = Callable[[str], None]


@dataclass(frozen=True)
class Found:
    path: str
    origin: str  # e.g. "Debian's chromium on PATH"
    version: str  # as the browser says it, e.g. "Chromium 156.0.8078.73"

    def line(self) -> str:
        return f"browser: {self.version or 'a Chromium'} — {self.origin} ({self.path})"


class BrowserUnavailableError(Exception):
    """No browser could be had; the message says what was tried and how to give one."""


def _version(path: str) -> tuple[str, str]:
    """(its version line, '') when `path --version` answers like a browser, else ('', why not)."""
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=VERSION_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return "", f"`{path} --version` did not answer in {VERSION_TIMEOUT:.0f} s"
    except OSError as error:
        return "", f"{path}: {error.strerror or error}"
    said = (done.stdout or done.stderr).strip().splitlines()
    if done.returncode != 0 or not said or not re.search(r"\d+\.\d+", said[0]):
        return "", f"`{path} --version` did not answer as a browser (exit {done.returncode}" + \
            (f": {said[0][:120]}" if said else "") + ")"
    return said[0].strip(), ""


def _checked(path: str, origin: str) -> tuple[Found | None, str]:
    version, why = _version(path)
    return (Found(path, origin, version), "") if version else (None, why)


def _on_path_origin(name: str, path: str) -> str:
    # Debian's package puts a launcher script on PATH and the browser under /usr/lib/chromium.
    debian = name == "chromium" and os.path.isfile("/usr/lib/chromium/chromium") and \
        os.path.realpath(path) in ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
    return "Debian's chromium package" if debian else f"`{name}` on PATH"


def choose_browser(given: str | None, playwright_own: str | None) -> tuple[Found | None, list[str]]:
    """The browser to drive, and why each candidate before it was passed over. `given` is
    $LINKMATRIX_CHROMIUM (when set, it is the only candidate: a user who names one means it),
    `playwright_own` the path of Playwright's own Chromium (whether or not it is installed)."""
    if given:
        found, why = _checked(given, f"{CHROMIUM_ENV}")
        return found, [] if found else [f"{CHROMIUM_ENV}={given}: {why}"]
    passed: list[str] = []
    if playwright_own and os.path.isfile(playwright_own):
        found, why = _checked(playwright_own, "Playwright's own Chromium (`playwright install chromium`)")
        if found:
            return found, passed
        passed.append(why)
    for name in ON_PATH:
        path = shutil.which(name)
        if path:
            found, why = _checked(path, _on_path_origin(name, path))
            if found:
                return found, passed
            passed.append(why)
    return None, passed


def playwright_executable() -> str | None:
    """Where Playwright keeps (or would keep) its own Chromium; None when its driver cannot say."""
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            return playwright.chromium.executable_path
    except Exception:  # no driver (a broken install): there is no Playwright Chromium to use
        return None


def locate() -> tuple[Found | None, list[str]]:
    return choose_browser(os.environ.get(CHROMIUM_ENV), playwright_executable())


def _run(command: Sequence[str], timeout: float, what: str, report: Report,
         env: dict[str, str] | None = None) -> tuple[bool, str]:
    """Run an install step, a progress line every HEARTBEAT seconds; (succeeded, its last line)."""
    try:
        process = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, text=True, env={**os.environ, **(env or {})})
    except OSError as error:
        return False, f"{command[0]}: {error.strerror or error}"
    waited = 0.0
    try:
        while True:
            try:
                output, _ = process.communicate(timeout=HEARTBEAT)
                break
            except subprocess.TimeoutExpired:
                waited += HEARTBEAT
                if waited >= timeout:
                    process.kill()
                    process.communicate()
                    return False, f"stopped after {timeout:.0f} s"
                report(f"  … {what}: {waited:.0f} s")
    finally:
        if process.poll() is None:  # interrupted: leave no installer running
            process.kill()
            process.wait()
    lines = [line.strip() for line in (output or "").splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith(("error", "e:"))]
    return process.returncode == 0, (errors or lines or [""])[0][:200]


def _playwright_install(report: Report) -> tuple[bool, str]:
    report("obtaining a browser: `playwright install chromium` (Playwright's own download)")
    return _run([sys.executable, "-m", "playwright", "install", "chromium"], PLAYWRIGHT_INSTALL_TIMEOUT,
                "playwright install chromium", report)


def _can_apt() -> bool:
    return os.name == "posix" and os.geteuid() == 0 and shutil.which("apt-get") is not None


def _apt_install(report: Report) -> tuple[bool, str]:
    report("obtaining a browser: Debian's `chromium` package (apt-get, as root)")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
    done, last = _run(install, APT_TIMEOUT, "apt-get install chromium", report, env)
    if done:
        return done, last
    # A machine that never fetched the package lists has none to install from.
    updated, update_last = _run(["apt-get", "update", "-q"], APT_TIMEOUT, "apt-get update", report, env)
    if not updated:
        return False, f"apt-get update: {update_last}"
    return _run(install, APT_TIMEOUT, "apt-get install chromium", report, env)


def obtain(report: Report) -> Found:
    """The browser, obtained if none is found; raises BrowserUnavailableError saying what was tried."""
    found, passed = locate()
    if found or os.environ.get(CHROMIUM_ENV):
        if found:
            return found
        raise BrowserUnavailableError("; ".join(passed))
    tried = [*passed]
    done, last = _playwright_install(report)
    if done:
        found, passed = locate()
        if found:
            return Found(found.path, found.origin + ", downloaded now", found.version)
        tried += passed
    tried.append(f"`playwright install chromium` failed: {last}")
    if _can_apt():
        done, last = _apt_install(report)
        found, passed = locate()
        if found:
            return Found(found.path, found.origin + ", installed now with apt-get", found.version)
        tried.append("apt-get install chromium " + ("installed no browser" if done else f"failed: {last}"))
    else:
        tried.append("Debian's `chromium` package: needs root and apt-get")
    raise BrowserUnavailableError("; ".join(tried) + f"; install a Chromium and set {CHROMIUM_ENV} to it")
