"""Faults injected into the files linkmatrix reads and writes: every hostile input is one line and
exit 2 within seconds (never a traceback, a hang or a memory blow-up), and no report file is ever
left half written."""

from __future__ import annotations

import copy
import errno
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import unicodedata
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from harness.emit._taps import HttpPostTap
from harness.model import _inputs as inputs
from harness.model._errors import InputError
from harness.report import load_report
from harness.stack.toolchain import _builds as toolchain

REPO = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("linkmatrix")
SCENARIO = REPO / "scenarios" / "fan-in-via-headers.yaml"
QUICK = 30  # seconds a refusal may take at most (each measured well under 2 s)

VALID_REPORT: dict[str, Any] = {
    "schema_version": 1,
    "run": {"id": "r1", "started": "2026-01-01T00:00:00Z", "ended": "2026-01-01T00:01:00Z", "runtime": "local",
            "pipeline": "collector", "pipelines": ["collector"], "problems": [], "skipped": {}, "data_age": {},
            "releases_compared": {}, "stages": {"startup": 1.0, "emit": 1.0, "visibility": 1.0, "read": 1.0},
            "versions": {"linkmatrix": "1", "opentelemetry-sdk": "1.45.2",
                         "opentelemetry-exporter-otlp-proto-grpc": "1.45.2", "collector": "0.161.0"}},
    "scenarios": [{"name": "s", "file": "s.yaml", "problem": "p"}],
    "columns": [{"backend": "jaeger", "read_path": "api_v3", "label": "Jaeger api_v3", "cannot_carry": []}],
    "features": [{"id": "link.present", "title": "link present", "question": "is the link there?"}],
    "cells": [{"scenario": "s", "pipeline": "collector", "feature": "link.present", "backend": "jaeger",
               "read_path": "api_v3", "verdict": "preserved", "evidence": {}}],
    "between_versions": [],
}


def report(tmp_path: Path, name: str = "good.json", **changes: Any) -> Path:
    document = copy.deepcopy(VALID_REPORT)
    document.update(changes)
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def cli(*args: str | Path, cwd: Path = REPO) -> tuple[int, str, float]:
    """(exit code, stderr + stdout, seconds) of the real CLI; a hang fails the test instead of hanging it."""
    started = time.monotonic()
    try:
        done = subprocess.run([str(CLI), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=QUICK,
                              env={**os.environ, "LINKMATRIX_RUNTIME": "local", "COLUMNS": "300"})
    except subprocess.TimeoutExpired:
        pytest.fail(f"linkmatrix {' '.join(map(str, args))} still ran after {QUICK} s")
    return done.returncode, done.stderr + done.stdout, time.monotonic() - started


def assert_one_line(code: int, output: str, *words: str) -> None:
    assert code == 2, output
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1, output
    for word in words:
        assert word in output, output


# --- the loader itself -------------------------------------------------------------------------

def test_a_valid_report_loads(tmp_path: Path) -> None:
    assert load_report(report(tmp_path))["cells"][0]["verdict"] == "preserved"


@pytest.mark.parametrize(("change", "where", "words"), [
    ({"cells": [{**VALID_REPORT["cells"][0], "verdict": "banana"}]}, "$.cells[0].verdict", "'banana' is not one of"),
    ({"run": None}, "$.run", "is not of type object"),
    ({"schema_version": 2}, "$.schema_version", "this linkmatrix reads 1"),
])
def test_a_report_that_breaks_its_schema_is_refused_where_it_breaks(tmp_path: Path, change: dict[str, Any],
                                                                    where: str, words: str) -> None:
    with pytest.raises(InputError) as raised:
        load_report(report(tmp_path, **change))
    assert raised.value.field == where and words in raised.value.message


def test_a_report_without_run_is_refused(tmp_path: Path) -> None:
    document = {key: value for key, value in VALID_REPORT.items() if key != "run"}
    (tmp_path / "norun.json").write_text(json.dumps(document))
    with pytest.raises(InputError) as raised:
        load_report(tmp_path / "norun.json")
    assert (raised.value.field, raised.value.message) == ("$.run", "is required")


@pytest.mark.parametrize(("text", "words"), [
    ('{"a": NaN}', "NaN is not JSON"),
    ('{"a": 1, "a": 2}', "written twice"),
    ('{"a": [1, 2}', "not valid JSON"),
    ('"[[[[" ' * 3, "not valid JSON"),  # brackets inside strings do not nest
])
def test_json_is_parsed_strictly(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "strict.json"
    path.write_text(text)
    with pytest.raises(InputError, match=words):
        inputs.load_json(path, limit=1000, kind="test files")


def test_nesting_is_capped_before_the_parser_recurses(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    for text in ("[" * 100_000 + "]" * 100_000, "[" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000):
        path.write_text(text)
        with pytest.raises(InputError, match=f"nested more than {inputs.MAX_DEPTH} levels"):
            inputs.load_json(path, limit=1 << 20, kind="test files")
    path.write_text("[" * inputs.MAX_DEPTH + "]" * inputs.MAX_DEPTH + " " + '"' + "[" * 200 + '"')
    with pytest.raises(InputError, match="not valid JSON: Extra data"):  # as deep as allowed: parsed
        inputs.load_json(path, limit=1 << 20, kind="test files")


def test_a_file_bigger_than_the_cap_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with open(path, "wb") as out:  # sparse: no disk is used
        out.truncate(inputs.MAX_REPORT_BYTES + 1)
    started = time.monotonic()
    with pytest.raises(InputError, match=f"report files are at most {inputs.MAX_REPORT_BYTES:,} bytes"):
        load_report(path)
    assert time.monotonic() - started < 1


# --- through the CLI: diff, merge, run --baseline, --pipelines-file -------------------------------

def _hostile(tmp_path: Path, kind: str) -> tuple[Path, tuple[str, ...]]:
    """A hostile report file and the words its one line must say."""
    if kind == "fifo":
        os.mkfifo(tmp_path / "fifo.json")
        return tmp_path / "fifo.json", ("not a regular file (a FIFO)",)
    if kind == "dev-zero":
        return Path("/dev/zero"), ("not a regular file (a device)",)
    if kind == "50MB":
        path = tmp_path / "big.json"
        path.write_text('{"schema_version": 1, "padding": "' + "x" * 50_000_000 + '"}')
        return path, ("$.run: is required",)
    if kind == "deep":
        path = tmp_path / "deep.json"
        path.write_text("[" * 100_000 + "]" * 100_000)
        return path, (f"nested more than {inputs.MAX_DEPTH} levels",)
    if kind == "no-run":
        path = tmp_path / "norun.json"
        path.write_text(json.dumps({key: value for key, value in VALID_REPORT.items() if key != "run"}))
        return path, ("$.run: is required",)
    path = report(tmp_path, "banana.json", cells=[{**VALID_REPORT["cells"][0], "verdict": "banana"}])
    return path, ("$.cells[0].verdict", "'banana' is not one of")


HOSTILE = ["fifo", "dev-zero", "50MB", "deep", "no-run", "banana"]


@pytest.mark.parametrize("kind", HOSTILE)
def test_diff_refuses_a_hostile_report_in_one_line(tmp_path: Path, kind: str) -> None:
    path, words = _hostile(tmp_path, kind)
    code, output, seconds = cli("diff", report(tmp_path), path)
    assert_one_line(code, output, str(path), *words)
    assert seconds < 10


@pytest.mark.parametrize("kind", ["fifo", "deep", "banana"])
def test_merge_refuses_a_hostile_report_in_one_line(tmp_path: Path, kind: str) -> None:
    path, words = _hostile(tmp_path, kind)
    code, output, _ = cli("merge", "--reports", tmp_path / "merged", report(tmp_path), path)
    assert_one_line(code, output, str(path), *words)
    assert not (tmp_path / "merged").exists()


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "no-run"])
def test_a_hostile_baseline_is_refused_before_anything_starts(tmp_path: Path, kind: str) -> None:
    path, words = _hostile(tmp_path, kind)
    code, output, _ = cli("run", "--reports", tmp_path / "reports", "--baseline", path, SCENARIO)
    assert_one_line(code, output, str(path), *words)
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(("content", "words"), [
    ("fifo", "not a regular file (a FIFO)"),
    ("[" * 100_000 + "]" * 100_000, "nest"),  # libyaml's own cap (1,000 levels) or ours
    ("[" * 500 + "]" * 500, f"nested more than {inputs.MAX_DEPTH} levels"),
    ("variants:\n  collector: &a {about: x}\n  other: {about: y, about: z}\n", "written twice"),
])
def test_a_hostile_pipelines_file_is_refused_in_one_line(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "pipelines.yaml"
    if content == "fifo":
        os.mkfifo(path)
    else:
        path.write_text(content)
    code, output, _ = cli("run", "--reports", tmp_path / "reports", "--pipelines-file", path, SCENARIO)
    assert_one_line(code, output, str(path), words)


# --- a read-only cache ----------------------------------------------------------------------------

def read_only(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make every write under `folder` fail as on a read-only mount (EROFS), even for root (whom
    file modes do not stop)."""
    def inside(path: Any) -> bool:
        return isinstance(path, (str, os.PathLike)) and Path(os.path.abspath(path)).is_relative_to(folder)

    def refuse(real: Any, writes: Any = lambda *args: True) -> Any:
        def call(path: Any, *args: Any, **kwargs: Any) -> Any:
            if inside(path) and writes(*args):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
            return real(path, *args, **kwargs)
        return call

    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | getattr(os, "O_TMPFILE", 0)
    monkeypatch.setattr(os, "open", refuse(os.open, lambda flags, *rest: bool(flags & writing)))
    for name in ("mkdir", "unlink", "replace", "rename"):
        monkeypatch.setattr(os, name, refuse(getattr(os, name)))


@pytest.fixture
def java(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "java").write_text("")
    monkeypatch.setattr("shutil.which", lambda name: str(tmp_path / "java"))


def _jar(cache: Path) -> Path:
    jar = cache / "maven" / "zipkin-server-exec.jar"
    jar.parent.mkdir(parents=True, exist_ok=True)
    jar.write_bytes(b"the jar's bytes")
    return jar


@pytest.mark.usefixtures("java")
def test_a_read_only_cache_is_only_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("LINKMATRIX_CACHE", str(cache))
    jar = _jar(cache)
    read_only(monkeypatch, cache)
    assert toolchain.class_data_archive(jar) == ((), None)  # no archive there: none is made, nothing raised
    lines: list[str] = []
    monkeypatch.setattr(toolchain, "COMPONENTS", {"zipkin": _Cached(jar)})
    assert toolchain.ensure(["zipkin"], report=lines.append) == {"zipkin": jar}
    assert len(lines) == 1 and "read-only: used as it is" in lines[0]


@pytest.mark.usefixtures("java")
def test_a_cache_that_turns_read_only_while_the_jvm_runs_ends_quietly(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("LINKMATRIX_CACHE", str(cache))
    jar = _jar(cache)
    options, promote = toolchain.class_data_archive(jar)
    assert promote is not None and options[0].startswith("-XX:ArchiveClassesAtExit=")
    read_only(monkeypatch, cache)
    promote()  # at shutdown, nothing was written: no OSError
    monkeypatch.undo()
    monkeypatch.setenv("LINKMATRIX_CACHE", str(cache))
    monkeypatch.setattr("shutil.which", lambda name: str(tmp_path / "java"))
    Path(options[0].split("=", 1)[1]).write_bytes(b"archive")  # the JVM wrote it as it exited
    read_only(monkeypatch, cache)
    promote()  # cannot be moved into place: no OSError either


@pytest.mark.usefixtures("java")
def test_a_class_archive_is_found_by_the_jars_content_wherever_the_cache_is(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    first = tmp_path / "first"
    monkeypatch.setenv("LINKMATRIX_CACHE", str(first))
    options, promote = toolchain.class_data_archive(_jar(first))
    assert promote is not None
    Path(options[0].split("=", 1)[1]).write_bytes(b"archive")
    promote()
    moved = tmp_path / "moved"
    shutil.copytree(first, moved)  # the same cache at a new path, then made read-only
    monkeypatch.setenv("LINKMATRIX_CACHE", str(moved))
    read_only(monkeypatch, moved)
    options, promote = toolchain.class_data_archive(moved / "maven" / "zipkin-server-exec.jar")
    assert promote is None and options == (f"-XX:SharedArchiveFile={next((moved / 'cds').glob('*.jsa'))}",)


class _Cached:
    """A component already in the cache."""

    def __init__(self, path: Path) -> None:
        self.path_in_cache = path

    def ensure(self, cache: Path, report: Any) -> Path:
        return self.path_in_cache


# --- the Zipkin wire tap when its sender is killed mid-send ----------------------------------------

class _SlowUpstream(BaseHTTPRequestHandler):
    """A backend that answers after a while: long enough for the sender to be gone by then."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(0.3)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _killed_sender(address: str, request: bytes) -> None:
    """Send `request` and vanish at once, as a killed process does (a reset, not a goodbye)."""
    host, port = address.split(":")
    with socket.create_connection((host, int(port))) as sender:
        sender.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sender.sendall(request)


def test_the_http_tap_stays_quiet_when_its_sender_dies_mid_send(capfd: pytest.CaptureFixture[str]) -> None:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _SlowUpstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    body = b'[{"traceId": "1", "id": "2", "name": "n"}]'
    try:
        with HttpPostTap(f"http://127.0.0.1:{upstream.server_address[1]}") as tap:
            for _ in range(4):  # the whole request, then gone before the answer
                _killed_sender(tap.address, b"POST /api/v2/spans HTTP/1.1\r\nContent-Type: application/json\r\n"
                               b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            _killed_sender(tap.address, b"POST /api/v2/spans HTTP/1.1\r\nContent-Length: 1000\r\n\r\n[{")  # half
            _killed_sender(tap.address, b"POST /api/v2/spans HTTP/1.1\r\nContent-Len")  # not even the headers
            time.sleep(1.0)  # every answer was written into a reset connection
            assert len(tap.recorded()) == 4  # the half request was never sent: it is not recorded
            assert tap.errors == []
    finally:
        upstream.shutdown()
        upstream.server_close()
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out and "Error" not in captured.err, captured.err


# --- reports: written whole or not at all; an empty shard; text shown as it is --------------------

WRITE_WITH_A_FULL_DISK = """
import json, resource, signal, sys
from pathlib import Path
from harness.report import write_document
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), resource.RLIM_INFINITY))
try:
    write_document(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[3]))
except OSError as error:
    print("refused:", error.strerror)
"""


@pytest.mark.parametrize("room", [0, 500])  # a disk already full; one that fills during the write
def test_a_failed_write_never_leaves_a_partial_or_empty_report(tmp_path: Path, room: int) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "matrix.json").write_text("the previous, whole report\n")
    source = report(tmp_path)
    done = subprocess.run([sys.executable, "-c", WRITE_WITH_A_FULL_DISK, str(source), str(room), str(run_dir)],
                          capture_output=True, text=True, timeout=QUICK, cwd=REPO)
    assert done.stdout.startswith("refused:"), done.stdout + done.stderr
    assert sorted(path.name for path in run_dir.iterdir()) == ["matrix.json"]  # no partial file beside it
    assert (run_dir / "matrix.json").read_text() == "the previous, whole report\n"


def test_a_shard_with_no_scenario_is_a_valid_empty_run(tmp_path: Path) -> None:
    code, output, seconds = cli("run", "--reports", tmp_path / "reports", "--shard", "2/1000000", SCENARIO)
    assert code == 0 and "Traceback" not in output, output
    assert "shard 2/1000000 has no scenario" in output and seconds < QUICK
    latest = tmp_path / "reports" / "latest"
    document = load_report(latest / "matrix.json")
    assert document["cells"] == [] and "has no scenario" in document["run"]["note"]
    assert "**Note:** shard 2/1000000 has no scenario" in (latest / "matrix.md").read_text()
    merged = tmp_path / "merged"
    code, output, _ = cli("merge", "--reports", merged, report(tmp_path), latest / "matrix.json")
    assert code == 0, output  # an empty shard does not break the merge of the others
    assert len(load_report(merged / "latest" / "matrix.json")["cells"]) == 1


BIDI = "safe\u202eexe.txt\u2066x\u2069\u200b\U000e0041"


def _hostile_document(text: str) -> dict[str, Any]:
    document = copy.deepcopy(VALID_REPORT)
    document["run"].update(problems=[text], skipped={"tempo": text})
    document["scenarios"][0].update(name="s" + text, problem=text)
    document["cells"] = [
        {**VALID_REPORT["cells"][0], "scenario": "s" + text},
        {**VALID_REPORT["cells"][0], "scenario": "s" + text, "feature": "render.attributes_shown",
         "verdict": "degraded", "hop": "render", "summary": text, "meaning": text,
         "evidence": {"difference": [{"path": "p", "expected": "k=" + text, "actual": text, "note": text,
                                      "kind": "value_changed"}], "hop_messages": {"render": [text]}}},
    ]
    return document


def test_invisible_characters_are_shown_escaped_in_every_report(tmp_path: Path) -> None:
    from harness.report.ci import summary
    from harness.report.html import render_html
    from harness.report.markdown import render_markdown

    for name, text in (("md", render_markdown(_hostile_document(BIDI))), ("html", render_html(_hostile_document(BIDI))),
                       ("summary", summary(_hostile_document(BIDI)))):
        assert not any(unicodedata.category(char) == "Cf" for char in text), name
        assert "safe\\u202eexe.txt\\u2066x\\u2069\\u200b\\U000e0041" in text, name


def test_every_format_character_is_made_visible() -> None:
    from harness.report import visible

    every = "".join(chr(code) for code in range(0x110000)
                    if unicodedata.category(chr(code)) in ("Cf", "Zl", "Zp"))
    assert not any(unicodedata.category(char) in ("Cf", "Zl", "Zp") for char in visible(every))


def test_html_escapes_each_value_once() -> None:
    from harness.report.html import render_html

    page = render_html(_hostile_document("<img src=x onerror=alert(1)> & \"q\""))
    assert "<img" not in page and "&amp;lt;" not in page and "&amp;amp;" not in page
    assert "&lt;img src=x onerror=alert(1)&gt; &amp;" in page
