"""The CLI as a user runs it: bad input, Ctrl-C and SIGTERM in the middle of a real run."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .conftest import ROOT, processes_in


def linkmatrix(*args: str, stdout: int = subprocess.PIPE) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=ROOT, text=True,
                            stdout=stdout, stderr=subprocess.PIPE)


def test_malformed_scenario_gives_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nproblem: p\ntraces:\n  - id: t\n    spans:\n      - name: s\n        links: [{to: 5}]\n")
    reports = tmp_path / "reports"
    process = linkmatrix("run", str(bad), "--reports", str(reports))
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"{bad}:7: traces[0].spans[0].links[0].to:" in lines[0]
    assert "Traceback" not in err
    assert not reports.exists()  # nothing started, nothing written


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupting_a_run_leaves_no_service(binaries: dict[str, Path], tmp_path: Path, signum: int,
                                              code: int) -> None:
    reports = tmp_path / "reports"
    process = linkmatrix("run", "--runtime", "local", "--reports", str(reports), stdout=subprocess.DEVNULL)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True).start()
    deadline = time.monotonic() + 120
    seen = []
    # Interrupt once Jaeger is up, while Zipkin's JVM is still starting (it takes seconds): one
    # service running, one half-started — the worst moment, and the run is surely not over yet.
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=1))
        except queue.Empty:
            continue
        if "Jaeger ready" in seen[-1]:
            break
    else:
        process.kill()
        process.stderr.close()
        pytest.fail("the run never got as far as starting Jaeger:\n" + "".join(seen))
    assert processes_in(reports), "services should be running before the interrupt"
    process.send_signal(signum)
    try:
        assert process.wait(timeout=60) == code
    finally:
        process.kill()
    tail = []
    while True:  # what it printed while stopping (the reader thread ends at end of file)
        try:
            tail.append(lines.get(timeout=2))
        except queue.Empty:
            break
    process.stderr.close()
    word = "interrupted" if signum == signal.SIGINT else "terminated"
    assert any(line.startswith(f"{word}: every service") for line in tail), tail[-5:]
    assert not any("Traceback" in line for line in seen + tail)
    assert processes_in(reports) == []


@pytest.mark.parametrize("make_reports", ["file", "inside-a-file"])
def test_a_reports_folder_that_cannot_be_written_is_one_line_and_exit_2(tmp_path: Path, make_reports: str) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("a file, not a folder")
    reports = blocker if make_reports == "file" else blocker / "reports"
    process = linkmatrix("run", str(ROOT / "scenarios" / "fan-out.yaml"), "--reports", str(reports))
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 2, err
    assert len(err.strip().splitlines()) == 2 and "Traceback" not in err  # the scenario count, then the error
    assert f"--reports {reports}:" in err.strip().splitlines()[-1]


def test_a_full_disk_is_a_problem_line_not_a_traceback(binaries: dict[str, Path], tmp_path: Path) -> None:
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(tiny)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"a full disk needs a small tmpfs, and mount failed: {mounted.stderr.decode().strip()}")
    try:
        process = linkmatrix("run", "--runtime", "local", "--backend", "jaeger", "--reports", str(tiny / "reports"),
                             str(ROOT / "scenarios" / "thousand-links.yaml"))
        out, err = process.communicate(timeout=300)
        assert process.returncode == 1, err
        assert "Traceback" not in err and "No space left on device" in err
        assert "thousand-links" in out  # the matrix still reaches the terminal
        assert processes_in(tiny) == []
    finally:
        subprocess.run(["umount", "-l", str(tiny)], check=False)


@pytest.mark.parametrize("timeout", ["nan", "inf", "0", "-1", "1e309"])
def test_a_timeout_that_is_no_deadline_is_one_line_and_exit_2(tmp_path: Path, timeout: str) -> None:
    process = linkmatrix("run", "--timeout", timeout, "--reports", str(tmp_path), str(ROOT / "scenarios" / "fan-out.yaml"))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2 and len(err.strip().splitlines()) == 1 and "--timeout" in err


def test_a_run_against_a_baseline_it_falls_short_of_exits_3_and_lists_the_cell(binaries: dict[str, Path],
                                                                              tmp_path: Path) -> None:
    scenario = str(ROOT / "scenarios" / "same-trace-link.yaml")
    first = linkmatrix("run", "--runtime", "local", "--backend", "zipkin", "--reports", str(tmp_path / "a"),
                       scenario)
    _, said = first.communicate(timeout=300)
    assert first.returncode == 0, said[-2000:]
    baseline = json.loads((tmp_path / "a" / "latest" / "matrix.json").read_text())
    # A baseline in which Lens could click through to the target: today it cannot, so that cell regressed.
    for cell in baseline["cells"]:
        if cell["feature"] == "render.target_navigable":
            cell.update(verdict="preserved", summary="")
            cell.pop("hop", None)  # a preserved cell has no hop (the report schema refuses null)
    (tmp_path / "baseline.json").write_text(json.dumps(baseline))
    again = linkmatrix("run", "--runtime", "local", "--backend", "zipkin", "--reports", str(tmp_path / "b"),
                       "--baseline", str(tmp_path / "baseline.json"), scenario)
    _, errors = again.communicate(timeout=300)
    assert again.returncode == 3, errors[-2000:]
    assert "regressed: same-trace-link · pipeline collector · render.target_navigable · zipkin/lens: preserved → lost" in errors
    written = json.loads(next((tmp_path / "b").glob("*/diff.json")).read_text())
    assert [c["feature"] for c in written["regressed"]] == ["render.target_navigable"]
    same = linkmatrix("diff", str(tmp_path / "a" / "latest" / "matrix.json"),
                      str(tmp_path / "b" / "latest" / "matrix.json"))
    same.communicate(timeout=60)
    assert same.returncode == 0


def test_shards_merged_give_the_cells_of_one_run(binaries: dict[str, Path], tmp_path: Path) -> None:
    scenarios = [str(ROOT / "scenarios" / name) for name in
                 ("same-trace-link.yaml", "fan-out.yaml", "dangling-link.yaml")]
    common = ("--runtime", "local", "--backend", "jaeger")
    runs = {name: linkmatrix("run", *common, "--reports", str(tmp_path / name), *extra, *scenarios)
            for name, extra in (("whole", ()), ("one", ("--shard", "1/2")), ("two", ("--shard", "2/2")))}
    for name, process in runs.items():
        _, said = process.communicate(timeout=300)
        assert process.returncode == 0, (name, said[-2000:])
    merged = linkmatrix("merge", str(tmp_path / "one" / "latest" / "matrix.json"),
                        str(tmp_path / "two" / "latest" / "matrix.json"), "--reports", str(tmp_path / "merged"))
    _, said = merged.communicate(timeout=60)
    assert merged.returncode == 0, said

    def verdicts(folder: str) -> dict[tuple[str, ...], str]:
        document = json.loads((tmp_path / folder / "latest" / "matrix.json").read_text())
        return {(c["scenario"], c["pipeline"], c["feature"], c["backend"], c["read_path"]): c["verdict"]
                for c in document["cells"]}

    assert verdicts("merged") == verdicts("whole")
    assert len({key[0] for key in verdicts("one")}) == 2 and len({key[0] for key in verdicts("two")}) == 1
    for name in ("matrix.md", "junit.xml", "summary.md"):
        assert (tmp_path / "merged" / "latest" / name).stat().st_size > 0
    again = linkmatrix("merge", str(tmp_path / "one" / "latest" / "matrix.json"),
                       str(tmp_path / "one" / "latest" / "matrix.json"), "--reports", str(tmp_path / "twice"))
    _, said = again.communicate(timeout=60)
    assert again.returncode == 2 and "that another shard has too" in said
    bad = linkmatrix("run", "--shard", "3/2", *scenarios)
    _, said = bad.communicate(timeout=60)
    assert bad.returncode == 2 and "--shard '3/2'" in said
