"""`make bench`: how linkmatrix scales, measured (not a timed test). Each case is a catalog made
on the fly, run as a user runs it (`linkmatrix run`, local runtime, every default backend), with its
wall time, the peak RSS of the linkmatrix process, its cells per second, and whether every run
ended with a complete matrix (no error cell).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

LinksCase = Callable[[Path], None]
SHOWN_STAGES = ("startup", "emit", "visibility", "read", "search", "render", "check")


def _many_links(folder: Path, traces: int = 20, spans: int = 50, links: int = 10) -> None:
    """traces × spans × links links: 20 × 50 × 10 = 10,000."""
    names = "\n".join(f"      - name: w{i}\n        links:\n          - to: target.origin\n"
                      f"            count: {links}\n            attributes: {{i: \"{{index}}\"}}" for i in range(spans))
    (folder / "many-links.yaml").write_text(
        f"name: many-links\nproblem: {traces} traces of {spans} spans with {links} links each.\n"
        f"traces:\n  - id: target\n    spans:\n      - name: origin\n  - id: work\n    repeat: {traces}\n"
        f"    spans:\n{names}\n")


def _one_span(folder: Path, links: int = 10_000) -> None:
    (folder / "one-span.yaml").write_text(
        f"name: one-span\nproblem: {links} links on one span.\nsdk:\n  span_limits: {{max_links: {links}}}\n"
        "traces:\n  - id: target\n    spans:\n      - name: origin\n  - id: batch\n    spans:\n"
        f"      - name: consume\n        links:\n          - to: target.origin\n            count: {links}\n")


def _many_scenarios(folder: Path, count: int = 200) -> None:
    for i in range(count):
        (folder / f"s{i:03d}.yaml").write_text(
            f"name: s{i:03d}\nproblem: one of {count} small scenarios.\ntraces:\n  - id: a\n    spans:\n"
            "      - name: produce\n  - id: b\n    spans:\n      - name: consume\n        links:\n"
            "          - to: a.produce\n            attributes: {k: v}\n")


def _fifty_thousand(folder: Path) -> None:
    _many_links(folder, traces=100)


CASES: dict[str, LinksCase] = {"10,000 links (20 traces × 50 spans × 10)": _many_links,
                               "50,000 links (100 traces × 50 spans × 10)": _fifty_thousand,
                               "one span with 10,000 links": _one_span, "200 scenarios": _many_scenarios}


def _run(folder: Path) -> tuple[float, float, int, int, int, dict[str, float]]:
    """(wall seconds, peak RSS MiB, cells, error cells, exit code, the run's stages) of one `linkmatrix run`."""
    reports = folder / "reports"
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "harness", "run", "--runtime", "local",
                                "--reports", str(reports), str(folder)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    watched, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.2)
    wall = time.monotonic() - started
    try:
        document = json.loads((reports / "latest" / "matrix.json").read_text())
        cells, stages = document["cells"], document["run"]["stages"]
    except (OSError, ValueError, KeyError):
        cells, stages = [], {}
    errors = sum(1 for cell in cells if cell.get("verdict") == "error")
    return wall, peak / 2**20, len(cells), errors, process.returncode, stages


def main() -> None:
    print(f"{'case':45} {'wall s':>8} {'peak RSS MiB':>13} {'cells':>7} {'cells/s':>8} {'errors':>7} exit")
    failed = False
    for title, make in CASES.items():
        with tempfile.TemporaryDirectory(prefix="linkmatrix-bench-") as folder:
            make(Path(folder))
            wall, peak, cells, errors, code, stages = _run(Path(folder))
        failed |= code != 0 or errors > 0 or cells == 0
        print(f"{title:45} {wall:8.1f} {peak:13.0f} {cells:7d} {cells / wall:8.1f} {errors:7d} {code}", flush=True)
        print(f"{'':45} stages: " + " · ".join(f"{name} {seconds:.1f}" for name, seconds in stages.items()
                                               if name in SHOWN_STAGES), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
