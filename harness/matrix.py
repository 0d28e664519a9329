"""Run scenarios × pipelines × backends × read paths and collect the cells of the matrix.

Flow: start backends → put a recording tap in front of each → start the collector, exporting to
those taps → emit every scenario through a wire tap (into the collector, or straight into each
backend's OTLP receiver for the `direct` pipeline) → wait until each read path shows every span →
check every feature at every hop → cells. One backend failing costs only its own columns: its
cells become `error` with the reason, the rest of the run goes on.
"""

from __future__ import annotations

import contextlib
import logging
import platform
import secrets
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

import requests

from . import __version__, pipeline, toolchain
from .backends import BACKENDS, Backend, ReadPath
from . import jsonio
from .backends.base import Answer
from .checks import ERROR, selected_features
from .emit import Emission, emit
from .errors import LinkmatrixError, NotVisibleError, ServiceDiedError
from .features import SEARCH_FEATURES
from .hops import (Cell, attach_hop_messages, cell_for, compare_with_fresh_reads, exercised_features,
                   not_in_pipeline, search_cell, upstream_outcomes)
from .model import Span
from .records import HopRecord, Key
from .runtime import Service, external_service
from .runtime.docker import DockerRuntime, daemon_answers
from .runtime.external import READINESS, ExternalRuntime
from .runtime.local import LocalRuntime
from .scenario import Scenario
from .searchability import probes_for, run_probes
from .taps import HttpPostTap, OtlpGrpcTap
from .wait import wait_until

Notify = Callable[[str], None]
COLLECTOR, DIRECT = "collector", "direct"
SETTLED = "settled"
SETTLE_TIMEOUT = 120.0  # Tempo writes its block seconds after a trace goes idle; minutes mean it is stuck


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


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    started: str
    ended: str = ""
    runtime: str = "local"
    runtime_reason: str = ""
    network_mode: str = ""
    stages: dict[str, float] = field(default_factory=dict)
    stage_detail: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    columns: list[ReadPath] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what went wrong, one line each
    skipped: dict[str, str] = field(default_factory=dict)  # backend → why it did not run


def new_run_id() -> str:
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def library_versions() -> dict[str, str]:
    versions = {"linkmatrix": __version__, "python": platform.python_version()}
    for package in ("opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-grpc", "opentelemetry-proto", "grpcio"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _command_output(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (result.stdout + result.stderr).strip()


def _by_trace(emission: Emission, keys: set[Key]) -> dict[str, set[Key]]:
    """Every trace the emission sent, with the spans of it in `keys` (maybe none)."""
    expected: dict[str, set[Key]] = {span.trace_id: set() for span in emission.sdk}
    for trace_id, span_id in keys:
        expected[trace_id].add((trace_id, span_id))
    return expected


def _keys(emission: Emission) -> set[Key]:
    return {span.key for span in emission.sdk}


class _Egress:
    """The tap between the collector and one backend: what the collector forwarded to it."""

    def __init__(self, backend: Backend, service: Service, run_id: str) -> None:
        self.backend = backend
        if backend.egress == "otlp_grpc":
            self.tap: OtlpGrpcTap | HttpPostTap = OtlpGrpcTap([backend.otlp_address(service)], run_id)
            self.target = self.tap.endpoint
        else:
            self.tap = HttpPostTap(backend.ingest_url(service), lambda body: backend.decode_egress([body], run_id))
            self.target = self.tap.url


class MatrixRun:
    def __init__(self, settings: RunSettings, notify: Notify = print) -> None:
        self.settings = settings
        self.notify = notify
        run_id = new_run_id()
        # Absolute: services run in their own working directory and are handed paths in it.
        self.result = RunResult(run_id=run_id, run_dir=settings.reports_dir.resolve() / run_id, started=_now(),
                                scenarios=settings.scenarios,
                                stages={stage: 0.0 for stage in ("startup", "emit", "visibility", "read")})
        self.result.runtime, self.result.runtime_reason = (
            (settings.runtime, settings.runtime_reason) if settings.runtime_reason else choose_runtime(settings.runtime))
        self.backends: list[Backend] = []
        for name in settings.backends or list(BACKENDS):
            reason = BACKENDS[name].unavailable(self.result.runtime)
            if reason:
                self.result.skipped[name] = reason
            else:
                self.backends.append(BACKENDS[name])
        self.result.columns = [path for backend in self.backends for path in backend.read_paths]
        self.services: dict[str, Service] = {}
        self.egress: dict[str, _Egress] = {}
        self.exporters: dict[str, tuple[str, str]] = {}  # collector exporter id → (backend, scenario)
        # The collector hop of each (backend, scenario), published once it has settled.
        self.hop_records: dict[tuple[str, str], HopRecord] = {}
        self.hop_settled: dict[tuple[str, str], threading.Event] = {}
        self.backend_errors: dict[str, str] = {}
        self.settle_marks: dict[str, Any] = {}  # backend → its state before anything was sent
        self.lock = threading.Lock()
        self.cancel = threading.Event()  # set when the run is interrupted: worker threads stop polling
        self.emit_ended = 0.0

    @property
    def pipelines(self) -> list[str]:
        return sorted({p for scenario in self.settings.scenarios for p in scenario.pipelines},
                      key=[COLLECTOR, DIRECT].index)

    # -- stages -------------------------------------------------------------------------------
    def run(self) -> RunResult:
        result = self.result
        result.run_dir.mkdir(parents=True, exist_ok=True)
        with _sdk_log(result.run_dir / "logs" / "sdk.log") as sdk_log:
            self._run()
        if sdk_log.failed:
            result.problems.append(f"could not write logs/sdk.log: {sdk_log.failed} (the measurements are kept)")
        return result

    def _make_runtime(self) -> Any:
        if self.result.runtime == "docker":
            runtime = DockerRuntime(self.result.run_dir, self.settings.network_mode, self.settings.images)
            self.result.network_mode = runtime.network_mode
            return runtime
        if self.result.runtime == "external":
            return ExternalRuntime(self.settings.external)
        return LocalRuntime(self.result.run_dir)

    def _run(self) -> None:
        result = self.result
        result.versions = library_versions()
        self.notify(f"runtime: {result.runtime} ({result.runtime_reason})")
        binaries = self._ensure_binaries() if result.runtime == "local" else {}
        with self._make_runtime() as runtime, contextlib.ExitStack() as taps:
            self.runtime = runtime
            self._start_backends(runtime, binaries, taps)
            collector = self._start_collector(runtime, binaries) if COLLECTOR in self.pipelines else None
            self._record_services()
            self._record_versions(binaries)
            self.settle_marks = {name: BACKENDS[name].settle_mark(service) for name, service in self.services.items()
                                 if name in BACKENDS and any(p.age == SETTLED for p in BACKENDS[name].read_paths)}
            emissions, wire = self._emit_all(collector)
            if emissions:
                reads = self._read_all(emissions)
                self._evaluate(emissions, wire, reads)
            else:
                self._all_errors("nothing was emitted: " + "; ".join(result.problems))
        result.ended = _now()

    def _ensure_binaries(self) -> dict[str, Path]:
        names = [toolchain.COLLECTOR.name] + [b.component for b in self.backends if b.component]
        started = time.monotonic()
        binaries = toolchain.ensure(names, report=self.notify)
        self.result.stages["toolchain"] = round(time.monotonic() - started, 3)
        return binaries

    def _start_backends(self, runtime: LocalRuntime, binaries: dict[str, Path], taps: contextlib.ExitStack) -> None:
        self.notify("starting backends")
        for name, reason in self.result.skipped.items():
            self.notify(f"  {BACKENDS[name].title}: skipped — {reason}")
        started = time.monotonic()
        for backend in self.backends:
            try:
                service = self._start_backend(runtime, backend, binaries)
            except (LinkmatrixError, ValueError) as error:
                self._backend_failed(backend.name, f"{backend.title} did not start: {error}")
                continue
            self.services[backend.name] = service
            egress = self._enter_egress(taps, backend, service)
            if egress:
                self.egress[backend.name] = egress
            self.notify(f"  {backend.title} ready in {service.startup_seconds:.1f}s")
        self.result.stages["startup"] = round(time.monotonic() - started, 3)

    @staticmethod
    def _start_backend(runtime: Any, backend: Backend, binaries: dict[str, Path]) -> Service:
        given = backend.external() if runtime.name == "local" else None
        if runtime.name == "external" or given:  # someone else runs it: check it answers, never stop it
            service = (runtime.service(backend.name, backend.query_port) if runtime.name == "external"
                       else external_service(backend.name, *given, READINESS.get(backend.name, "/"),
                                             backend.query_port))
            url = f"http://{service.address(service.spec.readiness.port)}{service.spec.readiness.path}"
            wait_until(lambda: requests.get(url, timeout=5).status_code, lambda status: status == 200,
                       timeout=30, what=f"{backend.title} at {url}", describe=lambda status: f"HTTP {status}")
            return service
        binary = binaries.get(backend.component) if backend.component else None
        return runtime.start(backend.service(binary, runtime.allocate_ports(backend.ports), listen=runtime.listen))

    def _enter_egress(self, taps: contextlib.ExitStack, backend: Backend, service: Service) -> _Egress | None:
        if not self.runtime.taps_reach_backends:
            return None  # the collector sends straight to the backend (see _collector_target)
        egress = _Egress(backend, service, self.result.run_id)
        taps.enter_context(egress.tap)
        return egress

    def _collector_target(self, backend: Backend, service: Service) -> str:
        egress = self.egress.get(backend.name)
        if egress:
            return egress.target
        if backend.egress == "otlp_grpc":
            return self.runtime.peer_address(service, "otlp_grpc")
        return f"http://{self.runtime.peer_address(service, backend.ingest_port)}"

    def _routes(self) -> list[pipeline.Route]:
        """One route per scenario through the collector, each with its own exporter per backend."""
        routes = []
        for scenario in self.settings.scenarios:
            if COLLECTOR not in scenario.pipelines:
                continue
            exporters = {}
            for backend in self.backends:
                if backend.name in self.services:
                    kind, config = backend.collector_exporter(self._collector_target(backend, self.services[backend.name]))
                    exporter = pipeline.exporter_id(kind, backend.name, scenario.name)
                    exporters[exporter] = config
                    self.exporters[exporter] = (backend.name, scenario.name)
            routes.append(pipeline.Route(scenario.name, exporters))
        return routes

    def _start_collector(self, runtime: Any, binaries: dict[str, Path]) -> Service | None:
        if runtime.name == "external":
            return runtime.collector()
        started = time.monotonic()
        routes = self._routes()
        try:
            spec = pipeline.collector_service(binaries.get(toolchain.COLLECTOR.name),
                                              runtime.allocate_ports(pipeline.ports(route.scenario for route in routes)),
                                              routes, self.result.run_dir / pipeline.FORWARDED_FILE,
                                              listen=runtime.listen)
            collector = runtime.start(spec)
        except LinkmatrixError as error:
            self.result.problems.append(f"the collector did not start: {error}")
            return None
        self.services[pipeline.NAME] = collector
        self.notify(f"  collector ready in {collector.startup_seconds:.1f}s")
        self.result.stages["startup"] += round(time.monotonic() - started, 3)
        return collector

    def _record_services(self) -> None:
        self.result.stage_detail["startup"] = {name: round(service.startup_seconds, 3)
                                               for name, service in self.services.items()}
        images = self.runtime.started_images
        for name, service in self.services.items():
            self.result.services[name] = {"ports": dict(service.spec.ports), "host": service.host,
                                          "log": (str(service.log_path.relative_to(self.result.run_dir))
                                                  if service.log_path else "not started by linkmatrix")}
            if name in images:
                self.result.services[name]["image"] = images[name]

    def _upstreams(self, pipeline_name: str, scenario: str, collector: Service | None) -> list[str]:
        """Where one scenario's spans go: its own receiver on the collector, or each backend's own."""
        if pipeline_name == COLLECTOR:
            if collector is None:
                return []
            own = pipeline.receiver_port(scenario)  # someone else's collector has only a shared receiver
            return [collector.address(own if own in collector.spec.ports else pipeline.receiver_port(pipeline.SHARED))]
        return [address for backend in self.backends if backend.name in self.services
                if (address := backend.otlp_address(self.services[backend.name]))]

    def _emit_all(self, collector: Service | None) -> tuple[list[Emission], dict[tuple[str, str], list[Span]]]:
        started = time.monotonic()
        emissions: list[Emission] = []
        wire: dict[tuple[str, str], list[Span]] = {}  # (scenario, pipeline) → what its exporter sent
        if COLLECTOR in self.pipelines and collector is None:
            self.result.problems.append("pipeline collector: nothing to send to (the collector did not start)")
        for pipeline_name in self.pipelines:
            if pipeline_name == COLLECTOR and collector is None:
                continue
            wire_file = self.result.run_dir / "raw" / "wire" / f"{pipeline_name}.jsonl"
            for scenario in self.settings.scenarios:
                if pipeline_name not in scenario.pipelines:
                    continue
                self.notify(f"emitting {scenario.name}" + (f" ({pipeline_name})" if pipeline_name != COLLECTOR else ""))
                # A tap of its own: the wire of one scenario is never mixed with another's.
                with OtlpGrpcTap(self._upstreams(pipeline_name, scenario.name, collector), self.result.run_id) as tap:
                    try:
                        emissions.append(emit(scenario, self.result.run_id, tap.endpoint, pipeline_name))
                    except LinkmatrixError as error:
                        self.result.problems.append(str(error))
                    wire[(scenario.name, pipeline_name)] = tap.spans()
                    self._save(wire_file, lambda path, tap=tap: tap.save(path, append=True))
        self.emit_ended = time.monotonic()
        self.result.stages["emit"] = round(self.emit_ended - started, 3)
        self._write_json("sent.json", {
            "run_id": self.result.run_id,
            "emissions": [{"scenario": e.scenario, "pipeline": e.pipeline,
                           "requested": [s.to_json() for s in e.requested],
                           "sdk": [s.to_json() for s in e.sdk],
                           "labels": {f"{t}/{s}": label for (t, s), label in e.labels.items()},
                           "messages": e.messages} for e in emissions]})
        return emissions, wire

    def _collector_hop(self, backend: str, emissions: list[Emission]) -> None:
        """What the collector forwarded to `backend`, per scenario, published as each one settles:
        every span arrived, or the collector's log accounts for the rest as dropped. Without a tap
        in front of the backend, it is what the collector's `file` export recorded."""
        egress = self.egress.get(backend)
        collector = self.services.get(pipeline.NAME)
        forwarded = self.result.run_dir / pipeline.FORWARDED_FILE
        run_id = self.result.run_id
        pending = {e.scenario: e for e in emissions if e.pipeline == COLLECTOR}
        owner = {key: e.scenario for e in pending.values() for key in _keys(e)}  # span → its scenario

        def records() -> dict[str, HopRecord]:
            found = {scenario: HopRecord([], exact=egress is not None) for scenario in pending}
            for span in egress.tap.spans() if egress else pipeline.read_forwarded(forwarded, run_id):
                if owner.get(span.key) in found:
                    found[owner[span.key]].spans.append(span)
            for key, why in (egress.tap.refusals() if egress else {}).items():
                if owner.get(key) in found:
                    found[owner[key]].refused[key] = why
            for failure in pipeline.export_failures(collector.read_log()) if collector else []:
                exporter_backend, scenario = self.exporters.get(failure.exporter, ("", ""))
                if exporter_backend == backend and scenario in found:
                    found[scenario].dropped += failure.dropped
                    found[scenario].messages.append(failure.describe())
            return found

        def publish(found: dict[str, HopRecord]) -> bool:
            # A dead collector forwards nothing more: what its tap holds now is its final record.
            death = collector.death_notice() if collector else None
            for scenario, record in found.items():
                if death or record.settled(_keys(pending[scenario])):
                    if death:
                        record.messages.append(death.splitlines()[0])
                    self.hop_records[(backend, scenario)] = record
                    self.hop_settled[(backend, scenario)].set()
                    del pending[scenario]
            if death:
                with self.lock:
                    if death not in self.result.problems:
                        self.result.problems.append(death)
            return not pending

        try:
            # Polled briskly: every read of this backend waits for it (decoding is incremental).
            wait_until(records, publish, timeout=self.settings.visibility_timeout, cancel=self.cancel,
                       what=f"collector → {backend}", max_delay=0.2,
                       describe=lambda found: f"still unsettled: {', '.join(sorted(pending))}")
        except Exception as error:  # not all there, or unreadable: the hop shows what it has
            with self.lock:
                self.result.problems.append(f"collector → {backend}: {error}")
            try:
                last = records()
            except Exception:
                last = {scenario: HopRecord([], exact=egress is not None) for scenario in pending}
            for scenario, record in last.items():
                record.messages.append(f"the collector hop did not settle: {str(error).splitlines()[0]}")
                self.hop_records[(backend, scenario)] = record
                self.hop_settled[(backend, scenario)].set()
        if egress:
            with self.lock:
                self.result.problems.extend(f"collector → {backend}: a request could not be decoded: {problem}"
                                            for problem in egress.tap.errors)
            self._save(self.result.run_dir / "raw" / backend / "collector-egress.jsonl", egress.tap.save)

    def _reaching(self, backend: str, emission: Emission) -> set[Key]:
        """The spans a read of `backend` should wait for: all that were sent, less the ones a hop's
        own record proves never reached it (waiting for the collector hop to settle first)."""
        expected = _keys(emission)
        settled = self.hop_settled.get((backend, emission.scenario))
        if emission.pipeline != COLLECTOR or settled is None:
            return expected
        if not settled.wait(self.settings.visibility_timeout) or self.cancel.is_set():
            return expected
        return self.hop_records[(backend, emission.scenario)].reaching_backend(expected)

    def _read_emission(self, path: ReadPath, base_url: str, emission: Emission, raw_dir: Path) -> tuple[list[Span], float, int]:
        spans: list[Span] = []
        read_seconds, attempts = 0.0, 0
        service = self.services[path.backend]
        for trace_id, keys in sorted(_by_trace(emission, self._reaching(path.backend, emission)).items()):
            if self.cancel.is_set():  # interrupted: no further trace is read
                raise NotVisibleError("stopped: the run is being interrupted")

            def probe(trace_id: str = trace_id) -> tuple[Answer, float]:
                death = service.death_notice()
                if death:  # a dead service never shows a span: say so now, not at the deadline
                    raise ServiceDiedError(death)
                begun = time.monotonic()
                return path.read(base_url, trace_id), time.monotonic() - begun

            waited = wait_until(
                probe, lambda got, keys=keys: keys <= {span.key for span in got[0].spans},
                timeout=self.settings.visibility_timeout, cancel=self.cancel,
                what=f"trace {trace_id} of {emission.scenario}",
                describe=lambda got, keys=keys: _missing(keys, got[0], emission))
            answer, seconds = waited.value
            read_seconds += seconds
            attempts += waited.attempts
            spans.extend(answer.spans)
            self._save(raw_dir / f"{trace_id}.json", jsonio.dumps(answer.raw, indent=1, sort_keys=True))
        return spans, read_seconds, attempts

    def _search_path(self, path: ReadPath, emissions: list[Emission]) -> dict[int, Any]:
        """Run every search probe of every emission on one search read path, with its own deadline."""
        base_url = BACKENDS[path.backend].base_url(self.services[path.backend])
        by_emission = {}
        for emission in emissions:
            if not self._reaches(emission, path.backend):
                continue
            scenario = self._scenario(emission)
            # Only the search features the scenario lists: judging the others is the check stage's work.
            asked = tuple(f for f in selected_features(scenario.checks) if f in SEARCH_FEATURES)
            wanted = exercised_features(emission, asked) if asked else []
            by_emission[id(emission)] = probes_for(emission, wanted)
            reaching = self._reaching(path.backend, emission)
            for probe in by_emission[id(emission)]:
                if probe.expect not in reaching:  # a hop's record proves the span never got there
                    probe.unreachable = "the linking span never reached this backend (see the hop that lost it)"
        probes = [probe for group in by_emission.values() for probe in group]
        service = self.services[path.backend]
        seconds = run_probes(path, base_url, probes, self.notify, self.cancel, service.death_notice) if probes else 0.0
        if any(probe.died for probe in probes):
            self._backend_failed(path.backend, next(probe.error for probe in probes if probe.died))
        raw_dir = self.result.run_dir / "raw" / path.backend / path.name
        self._save(raw_dir / "answers.json", jsonio.dumps(
            [{"query": p.answer.query_text, "expect": "/".join(p.expect), "found": p.found, "status": p.answer.status,
              "answer": p.answer.raw} for p in probes if p.answer], indent=1, sort_keys=True))
        with self.lock:
            self.result.stage_detail.setdefault("search", {})[path.id] = round(seconds, 3)
        return by_emission

    def _scenario(self, emission: Emission) -> Scenario:
        return next(s for s in self.settings.scenarios if s.name == emission.scenario)

    def _read_path(self, path: ReadPath, emissions: list[Emission]) -> dict[int, Any]:
        """Poll one read path for every trace of every emission; record visibility and read times."""
        backend_error = self.backend_errors.get(path.backend)
        if backend_error:
            return {id(emission): LinkmatrixError(backend_error) for emission in emissions}
        if path.is_search:
            return self._search_path(path, emissions)
        if path.age == SETTLED:
            try:
                self._await_settled(path)
            except LinkmatrixError as error:
                with self.lock:
                    self.result.problems.append(f"{path.label}: {error}")
                return {id(emission): error for emission in emissions}
        base_url = BACKENDS[path.backend].base_url(self.services[path.backend])
        raw_dir = self.result.run_dir / "raw" / path.backend / path.name
        results: dict[int, list[Span] | Exception] = {}
        read_seconds, attempts = 0.0, 0
        for emission in emissions:
            if not self._reaches(emission, path.backend):
                continue
            if path.backend in self.backend_errors:  # it died: the other reads fail at once
                results[id(emission)] = LinkmatrixError(self.backend_errors[path.backend])
                continue
            try:
                spans, seconds, tries = self._read_emission(path, base_url, emission, raw_dir)
                results[id(emission)] = spans
                read_seconds, attempts = read_seconds + seconds, attempts + tries
            except ServiceDiedError as error:
                results[id(emission)] = error
                self._backend_failed(path.backend, str(error))
            except Exception as error:  # one read path failing costs only its own cells
                results[id(emission)] = error
                with self.lock:
                    self.result.problems.append(f"{path.label}: {error}")
        with self.lock:
            detail = self.result.stage_detail
            detail.setdefault("visibility", {})[path.id] = round(time.monotonic() - self.emit_ended, 3)
            detail.setdefault("read", {})[path.id] = round(read_seconds, 3)
            detail.setdefault("read_attempts", {})[path.id] = attempts
        return results

    def _await_settled(self, path: ReadPath) -> None:
        """Wait (bounded) until the backend says everything sent is in its final form."""
        backend, service = BACKENDS[path.backend], self.services[path.backend]

        def still_settling() -> str | None:
            death = service.death_notice()
            if death:
                raise ServiceDiedError(death)
            return backend.settled(service, self.settle_marks.get(path.backend))

        wait_until(still_settling, lambda waiting: waiting is None, timeout=SETTLE_TIMEOUT, cancel=self.cancel,
                   what=f"{backend.title}'s store to settle", describe=str, max_delay=0.5)
        with self.lock:
            self.result.stage_detail.setdefault("settled", {})[path.backend] = round(
                time.monotonic() - self.emit_ended, 3)

    def _reaches(self, emission: Emission, backend: str) -> bool:
        """Whether spans of this emission were sent towards `backend` at all."""
        if emission.pipeline == DIRECT:
            service = self.services.get(backend)
            return service is not None and BACKENDS[backend].otlp_address(service) is not None
        return True

    def _read_all(self, emissions: list[Emission]) -> dict[str, dict[int, Any]]:
        self.notify("waiting until every read path shows every span")
        started = time.monotonic()
        # The collector hop: per backend from its tap, else from the collector's file export;
        # not known at all when someone else runs the collector.
        recorded = self.runtime.name != "external" and COLLECTOR in self.pipelines
        hop_backends = [name for name in self.services if name in BACKENDS and recorded]
        # Read paths poll in parallel: a slow one must not hold the others up.
        pool = ThreadPoolExecutor(max_workers=max(1, len(self.result.columns) + len(hop_backends)))
        for name in hop_backends:
            for emission in emissions:
                if emission.pipeline == COLLECTOR:
                    self.hop_settled[(name, emission.scenario)] = threading.Event()
        try:
            collector = [pool.submit(self._collector_hop, name, emissions) for name in hop_backends]
            reads = {path.id: pool.submit(self._read_path, path, emissions) for path in self.result.columns}
            outcome = {key: future.result() for key, future in reads.items()}
            for future in collector:
                future.result()
        except BaseException:  # Ctrl-C, SIGTERM: stop the pollers now, not at their deadlines
            self.cancel.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        detail = self.result.stage_detail
        self.result.stages["visibility"] = max(detail.get("visibility", {}).values(), default=0.0)
        self.result.stages["search"] = max(detail.get("search", {}).values(), default=0.0)
        self.result.stages["read"] = round(sum(detail.get("read", {}).values()), 3)
        self.result.stages["reads_total"] = round(time.monotonic() - started, 3)
        return outcome

    def _evaluate(self, emissions: list[Emission], wire: dict[tuple[str, str], list[Span]],
                  reads: dict[str, Any]) -> None:
        started = time.monotonic()
        for emission in emissions:
            scenario = self._scenario(emission)
            for feature in exercised_features(emission, scenario.checks):
                for path in self.result.columns:
                    if path.is_search != (feature in SEARCH_FEATURES):
                        continue  # search features are read by search paths only, and the other way round
                    if not self._reaches(emission, path.backend) and path.backend not in self.backend_errors:
                        self.result.cells.append(not_in_pipeline(emission, feature, path))
                        continue
                    # Every hop is this emission's own record: no verdict depends on other scenarios.
                    hop_spans = {"sdk": emission.sdk, "wire": wire.get((emission.scenario, emission.pipeline), [])}
                    record = self.hop_records.get((path.backend, emission.scenario))
                    if emission.pipeline == COLLECTOR and record is not None:
                        hop_spans["collector"] = record.view(_keys(emission))
                    upstream = upstream_outcomes(emission, feature, hop_spans)
                    received = reads[path.id].get(id(emission), LinkmatrixError("not read"))
                    make = search_cell if path.is_search else cell_for
                    cell = make(emission, feature, path, upstream, received)
                    if record is not None and emission.pipeline == COLLECTOR:
                        attach_hop_messages(cell, record)
                    self.result.cells.append(cell)
        compare_with_fresh_reads(self.result.cells, self.result.columns)
        self.result.stages["check"] = round(time.monotonic() - started, 3)

    # -- bookkeeping ----------------------------------------------------------------------------
    def _backend_failed(self, backend: str, message: str) -> None:
        with self.lock:
            if backend in self.backend_errors:
                return  # said once is enough: every read of it fails for the same reason
            self.backend_errors[backend] = message
            self.result.problems.append(message)
        self.notify(f"  ! {message.splitlines()[0]}")

    def _all_errors(self, reason: str) -> None:
        for scenario in self.settings.scenarios:
            for path in self.result.columns:
                self.result.cells.append(Cell(scenario.name, "link.present", path.backend, path.name,
                                              scenario.pipelines[0], ERROR, reason=reason))

    def _record_versions(self, binaries: dict[str, Path]) -> None:
        """Versions as the running programs report them, not as the pins say (in containers:
        the image's tag; the image's id and digest are under run.services)."""
        versions = self.result.versions
        images = self.runtime.started_images
        if binaries.get(toolchain.COLLECTOR.name):
            collector = _command_output([str(binaries[toolchain.COLLECTOR.name]), "--version"])
            versions["collector"] = (collector.rsplit(" ", 1)[-1] if collector.strip()
                                     else "unknown (`otelcol --version` printed nothing)")
        else:
            versions["collector"] = _image_tag(images.get("collector")) or "unknown (not started by linkmatrix)"
        for backend in self.backends:
            binary = binaries.get(backend.component) if backend.component else None
            if self.result.runtime == "local" or backend.name not in images:
                try:
                    versions[backend.name] = backend.version(binary, self.services.get(backend.name))
                except Exception as error:  # a version is worth a line in the report, never the run
                    versions[backend.name] = f"unknown (asking it failed: {type(error).__name__})"
            if versions.get(backend.name, "unknown").startswith("unknown") and backend.name in images:
                versions[backend.name] = _image_tag(images[backend.name]) or versions[backend.name]
        if self.result.runtime == "local" and any(backend.name == "zipkin" for backend in self.backends):
            java = _command_output(["java", "-version"])
            versions["java"] = java.split('"')[1] if '"' in java else "unknown (`java -version` did not say)"

    def _write_json(self, name: str, data: Any) -> None:
        self._save(self.result.run_dir / name, jsonio.dumps(data, indent=1, sort_keys=True))

    def _save(self, path: Path, content: str | Callable[[Path], None]) -> None:
        """Write evidence (text, or a writer given the path). A full disk costs that file, named
        among the problems, never the measurements already made."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, str):
                path.write_text(content)
            else:
                content(path)
        except OSError as error:
            with self.lock:
                self.result.problems.append(f"could not write {path.relative_to(self.result.run_dir)}: "
                                            f"{error.strerror or error} (the measurements are kept)")


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


def choose_runtime(asked: str) -> tuple[str, str]:
    """(runtime, why): `auto` is docker when a Docker daemon answers, else local."""
    if asked != "auto":
        return asked, "asked for"
    problem = daemon_answers()
    if problem:
        return "local", f"{problem}; falling back to local processes"
    return "docker", "a Docker daemon answers"


def _image_tag(record: dict[str, str] | None) -> str:
    reference = (record or {}).get("name", "")
    return reference.rsplit(":", 1)[1] if ":" in reference.rsplit("/", 1)[-1] else ""


def _missing(keys: set[tuple[str, str]], answer: Answer, emission: Emission) -> str:
    seen = {span.key for span in answer.spans}
    missing = sorted(emission.labels.get(key, f"{key[0]}/{key[1]}") for key in keys - seen)
    return f"HTTP {answer.status}; missing spans: {', '.join(missing)}"
