"""One run, in stages with typed hand-offs:

    stack (services, taps, collector)  →  send (Sent)  →  observe (Observations)  →  judge (cells)

`run_matrix` wires them together and hands a `RunResult` to the reports. One backend failing
costs only its own columns: its cells become `error` with the reason, the rest of the run goes on.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..backends import BACKENDS
from ..judge import Topology, judge, not_emitted, nothing_measured
from ..model import PLAIN, Evidence, Recorder, Rendered, RunResult, Scenario, Variant
from ..observe import Observer, settle_marks
from ..render import RenderStage
from ..stack import (
    Backend,
    Http,
    Stack,
    collector_version,
    describe_services,
    library_versions,
    service_versions,
)
from ..stack import runtime as runtimes
from ._cpu import CpuLedger
from ._send import send_all

Notify = Callable[[str], None]


@dataclass
class RunSettings:
    scenarios: list[Scenario]
    reports_dir: Path
    backends: list[str] | None = None  # None: every backend that can run here
    visibility_timeout: float = 60.0
    runtime: str = "auto"  # auto | local | docker | external
    runtime_reason: str = ""  # set when the caller already chose the runtime
    network_mode: str = "host"  # docker: host | network
    images: dict[str, str] = field(default_factory=dict)  # docker: service → image override
    external: dict[str, str] = field(default_factory=dict)  # external: service → endpoints
    http: Http | None = None  # every request of the run goes through it (tests pass their own)
    variants: list[Variant] = field(default_factory=lambda: [PLAIN])  # collector pipelines (harness.variants)
    # Backend family → what the user gave it, e.g. {"jaeger": {"ui_assets": "/path/to/built/jaeger-ui"}}
    backend_options: dict[str, dict[str, str]] = field(default_factory=dict)
    # The backends the run chooses from, by name: the table (a test adds its fake by one entry here).
    table: Mapping[str, Backend] = field(default_factory=lambda: BACKENDS)
    # What a stack file gave and the candidates run beside the current releases (the report's `run.stack`).
    stack: dict[str, Any] = field(default_factory=dict)


def new_run_id() -> str:
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _backends(settings: RunSettings, runtime: str, result: RunResult) -> list[Backend]:
    chosen = []
    for name in settings.backends or [name for name, backend in settings.table.items() if backend.default]:
        reason = settings.table[name].unavailable(runtime)
        if reason:
            result.skipped[name] = reason
        else:
            chosen.append(settings.table[name])
    return chosen


def run_matrix(settings: RunSettings, notify: Notify = print) -> RunResult:
    run_id = new_run_id()
    started = time.monotonic()
    # Absolute: services run in their own working directory and are handed paths in it.
    result = RunResult(run_id=run_id, run_dir=settings.reports_dir.resolve() / run_id, started=_now(),
                       scenarios=settings.scenarios, variants=settings.variants, stack=settings.stack)
    result.runtime, result.runtime_reason = ((settings.runtime, settings.runtime_reason) if settings.runtime_reason
                                             else runtimes.choose_runtime(settings.runtime))
    backends = _backends(settings, result.runtime, result)
    result.columns = [path for backend in backends for path in backend.read_paths]
    result.data_age = {backend.name: backend.data_age for backend in backends}
    result.backends = {backend.name: backend.notes() for backend in backends}
    result.run_dir.mkdir(parents=True, exist_ok=True)
    recorder = Recorder(notify)
    cpu = CpuLedger()
    with _sdk_log(result.run_dir / "logs" / "sdk.log") as sdk_log:
        _run(settings, result, backends, recorder, cpu)
    if sdk_log.failed:
        recorder.problem(f"could not write logs/sdk.log: {sdk_log.failed} (the measurements are kept)")
    result.stages, result.stage_detail, result.problems = recorder.stages, recorder.detail, recorder.problems
    result.ended = _now()
    wall = time.monotonic() - started
    result.stages["wall"] = round(wall, 3)
    result.stages["floor"] = floor(result.stage_detail)
    if result.stages["floor"] > 0:
        result.stages["ratio"] = round(wall / result.stages["floor"], 2)
    result.stages.update({f"cpu_{part}": seconds for part, seconds in cpu.seconds().items()})
    return result


def empty_run(reports_dir: Path, runtime: str, variants: list[Variant], why: str) -> RunResult:
    """A run with nothing to measure (a shard with no scenario): a valid report with no cells that says
    why. Nothing is started: the versions are this linkmatrix's own."""
    run_id, now = new_run_id(), _now()
    result = RunResult(run_id=run_id, run_dir=reports_dir.resolve() / run_id, started=now, ended=now,
                       runtime=runtime if runtime in ("local", "docker", "external") else "local",
                       runtime_reason="nothing to run", variants=variants, note=why)
    result.versions = {**library_versions(), "collector": "not started (nothing to run)"}
    result.stages = dict.fromkeys(("startup", "emit", "visibility", "read"), 0.0)
    result.run_dir.mkdir(parents=True, exist_ok=True)
    return result


def floor(detail: dict[str, dict[str, float]]) -> float:
    """What no run can beat on these backends, measured in this one: the slowest backend's
    readiness, then the longer of two waits that run side by side — the slowest read path's
    visibility followed by the slowest single trace page of any UI (a page can only show a trace
    its backend has; pages of different UIs and traces could all open at once), and the slowest
    search index to show a span it finds (a search that finds nothing has no lag to count). The
    longer, not the sum: summed, the floor of a catalog of 500-trace scenarios with a Tempo came
    out at 66.8 s for a run of 45.6 s."""
    slowest = {stage: max((detail.get(stage) or {}).values(), default=0.0)
               for stage in ("startup", "visibility", "indexing", "page")}
    return round(slowest["startup"] + max(slowest["visibility"] + slowest["page"], slowest["indexing"]), 3)


def _run(settings: RunSettings, result: RunResult, backends: list[Backend], recorder: Recorder,
         cpu: CpuLedger) -> None:
    result.versions = library_versions()
    recorder.notify(f"runtime: {result.runtime} ({result.runtime_reason})")
    runtime = runtimes.create(result.runtime, result.run_dir, settings.network_mode, settings.images,
                              settings.external)
    result.network_mode = getattr(runtime, "network_mode", "")
    http = settings.http or Http()
    evidence = Evidence(result.run_dir, recorder)
    with Stack(runtime, backends, settings.scenarios, result.run_id, result.run_dir, recorder,
               variants=settings.variants, options=settings.backend_options) as stack, \
            RenderStage(stack, http, recorder) as render_stage:
        for name, reason in result.skipped.items():
            recorder.notify(f"  {settings.table[name].title}: skipped — {reason}")
        result.services = describe_services(stack.services, result.run_dir)
        result.versions.update(service_versions(backends, stack.services, http))
        result.versions.update({f"collector ({variant.name})": collector_version(stack.releases.get(variant.collector))
                                for variant in settings.variants if variant.collector})
        marks = settle_marks(stack, http)
        render_stage.start()  # its browser opens while the spans are sent and read
        # A backend that dies or stops answering from here on is named within seconds, and its
        # reads and pages are not waited for.
        with stack.watch_health():
            sent = send_all(stack, evidence, recorder)
            result.versions.update({f"opentelemetry-sdk ({name})": version
                                    for name, version in sent.sdk_versions.items()})
            if not sent.emissions:
                why = "nothing was emitted: " + "; ".join(recorder.problems)
                result.cells = (not_emitted(sent.failed, result.columns, _topology(stack, backends), sent.planned,
                                            settings.scenarios)
                                or nothing_measured(settings.scenarios, result.columns, why))
                return
            observations, pages = Observer(stack, sent, http, recorder, evidence, settings.visibility_timeout,
                                           marks).observe(
                # the pages need only the trace reads: they are opened while the search indexes catch up
                while_searching=lambda reads: render_stage.render(sent.emissions, reads, result.run_dir))
        rendered = pages or Rendered()
        cpu.sample()  # the browser's last, and the services' so far
        render_stage.close()  # before the judging: the browser's processes are not needed any more
        for path_id, why in rendered.skipped.items():  # said in one line, and the column is left out
            result.skipped[path_id] = why
        result.columns = [path for path in result.columns if path.id not in rendered.skipped]
        topology = _topology(stack, backends)
        started = time.monotonic()
        result.emissions = sent.emissions
        result.cells = judge(settings.scenarios, sent.emissions, sent.wire, observations, result.columns, topology,
                             rendered)
        result.cells += not_emitted(sent.failed, result.columns, topology, sent.planned, settings.scenarios)
        recorder.set_stage("check", time.monotonic() - started)
        cpu.sample()  # the services' last, before they stop


def _topology(stack: Stack, backends: list[Backend]) -> Topology:
    return Topology(
        unreached=frozenset((pipeline, backend.name) for pipeline in stack.pipelines for backend in backends
                            if not stack.reaches(pipeline, backend.name)),
        failed=dict(stack.failed))


class _SdkLogFile(logging.FileHandler):
    """A file handler that, when the file cannot be written (a full disk), remembers why instead
    of printing a traceback for every record."""

    failed = ""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        self.failed = self.failed or "a write failed (is the disk full?)"


@contextlib.contextmanager
def _sdk_log(path: Path) -> Iterator[_SdkLogFile]:
    """The SDK's own warnings ("Attributes dict is full…") go to the run's logs, not the terminal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = _SdkLogFile(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    sdk_logger = logging.getLogger("opentelemetry")
    sdk_logger.addHandler(handler)
    sdk_logger.propagate = False
    try:
        yield handler
    finally:
        sdk_logger.removeHandler(handler)
        sdk_logger.propagate = True
        handler.close()


__all__ = ["RunResult", "RunSettings", "new_run_id", "run_matrix"]
