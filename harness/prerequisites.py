"""What `make matrix` and `make test` need, checked in seconds before anything is installed or
built: Python, Go, Java and a browser, each found or said missing with how it will be obtained.

Run by the Makefile with the machine's own Python (`python3 -m harness.prerequisites`), so it uses
the standard library only. Exit 2 when something that cannot be obtained for the user is missing;
a missing browser is not that: `make` obtains one next (`linkmatrix browser`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

PYTHON_MINIMUM = (3, 10)
GO_MINIMUM = (1, 24)
JAVA_MINIMUM = (17,)
# What `go version` and `java -version` print their version as (the toolchain checks them the same way).
GO_VERSION = r"go(\d+)\.(\d+)(?:\.(\d+))?"
JAVA_VERSION = r'version "(\d+)(?:\.(\d+))?(?:\.(\d+))?'
BROWSER_ENV = "LINKMATRIX_CHROMIUM"  # the browser a user names (harness.stack.toolchain finds and obtains one)
BROWSERS_ON_PATH = ("chromium", "chromium-browser", "google-chrome")


@dataclass(frozen=True)
class Check:
    name: str
    found: str  # its version, or "" when missing
    missing: str = ""  # what to do about it
    fatal: bool = False  # missing, and nothing here can obtain it

    def word(self) -> str:
        return f"{self.name} {self.found}" if self.found else f"{self.name} missing — {self.missing}"


def tool_version(command: list[str], pattern: str) -> tuple[int, ...]:
    """The version `command` prints, as numbers (the groups of `pattern`); () when it cannot say."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    match = re.search(pattern, done.stdout + done.stderr)
    return tuple(int(part) for part in match.groups() if part is not None) if match else ()


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def check_python() -> Check:
    found = sys.version_info[:3]
    if found[:2] >= PYTHON_MINIMUM:
        return Check("Python", _dotted(found))
    return Check("Python", "", f"found {_dotted(found)}; {_dotted(PYTHON_MINIMUM)}+ is needed "
                 "(set PYTHON=python3.11 for make)", fatal=True)


def _tool(name: str, tool: str, version_args: list[str], pattern: str, minimum: tuple[int, ...],
          why: str, how: str, fatal: bool = True) -> Check:
    if shutil.which(tool) is None:
        return Check(name, "", f"{why}; {how}", fatal=fatal)
    found = tool_version([tool, *version_args], pattern)
    if found < minimum:
        return Check(name, "", f"found {_dotted(found) or 'an unknown version'}, {_dotted(minimum)}+ is needed "
                     f"{why}; {how}", fatal=fatal)
    return Check(name, _dotted(found))


def check_go() -> Check:
    # Not fatal: a warm cache needs no Go, and a build that needs it stops at once saying so.
    return _tool("Go", "go", ["version"], GO_VERSION, GO_MINIMUM,
                 "to build the collector and Jaeger once, into the cache (a warm cache needs none)",
                 "install it from your package manager or go.dev", fatal=False)


def check_java() -> Check:
    return _tool("Java", "java", ["-version"], JAVA_VERSION, JAVA_MINIMUM, "to run Zipkin",
                 "install a JDK 17+ (Debian: openjdk-17-jdk-headless)")


def check_browser() -> Check:
    given = os.environ.get(BROWSER_ENV)
    if given:
        return Check("browser", f"{BROWSER_ENV}={given}")
    on_path = next((name for name in BROWSERS_ON_PATH if shutil.which(name)), None)
    if on_path:
        return Check("browser", f"`{on_path}` on PATH")
    return Check("browser", "", "none on PATH yet: `linkmatrix browser` obtains one next (Playwright's own, "
                 "its download, else Debian's chromium with apt-get as root)")


def main() -> int:
    checks = [check_python(), check_go(), check_java(), check_browser()]
    print("prerequisites: " + " · ".join(check.word() for check in checks), flush=True)
    fatal = [check for check in checks if check.fatal]
    if fatal:
        print(f"prerequisites: cannot go on without {', '.join(check.name for check in fatal)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
