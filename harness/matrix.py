"""Run scenarios × backends × read paths and collect the cells of the matrix.

Flow: start services → emit every scenario through the wire tap into the collector → wait until
each hop and each read path shows every span → check every feature → cells. One backend failing
costs only its own columns: its cells become `error` with the reason, the rest of the run goes on.
"""

from __future__ import annotations

import json
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
from typing import Any, Callable

from . import __version__, pipeline, toolchain
from .backends import BACKENDS, Backend, ReadPath
from .backends.base import Answer
from .emit import Emission, emit
from .errors import LinkmatrixError, NotVisibleError
from .hops import Cell, cell_for, exercised_features, upstream_outcomes
from .model import Span
from .runtime import Service
from .runtime.local import LocalRuntime
from .scenario import Scenario
from .wait import wait_until
from .wiretap import WireTap

Notify = Callable[[str], None]


@dataclass
class RunSettings:
    scenarios: list[Scenario]
    reports_dir: Path
    backends: list[str] = field(default_factory=lambda: list(BACKENDS))
    visibility_timeout: float = 60.0
    pipeline: str = pipeline.DEFAULT_PIPELINE


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    started: str
    ended: str = ""
    runtime: str = "local"
    stages: dict[str, float] = field(default_factory=dict)
    stage_detail: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    columns: list[ReadPath] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what went wrong, one line each


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


def _expected_keys(emission: Emission) -> dict[str, set[tuple[str, str]]]:
    expected: dict[str, set[tuple[str, str]]] = {}
    for span in emission.sdk:
        expected.setdefault(span.trace_id, set()).add(span.key)
    return expected


class MatrixRun:
    def __init__(self, settings: RunSettings, notify: Notify = print) -> None:
        self.settings = settings
        self.notify = notify
        run_id = new_run_id()
        # Absolute: services run in their own working directory and are handed paths in it.
        self.result = RunResult(run_id=run_id, run_dir=settings.reports_dir.resolve() / run_id, started=_now(),
                                scenarios=settings.scenarios,
                                stages={stage: 0.0 for stage in ("startup", "emit", "visibility", "read")})
        self.backends: list[Backend] = [BACKENDS[name] for name in settings.backends]
        self.result.columns = [path for backend in self.backends for path in backend.read_paths]
        self.services: dict[str, Service] = {}
        self.backend_errors: dict[str, str] = {}
        self.lock = threading.Lock()

    # -- stages -------------------------------------------------------------------------------
    def run(self) -> RunResult:
        result = self.result
        result.run_dir.mkdir(parents=True, exist_ok=True)
        result.versions = library_versions()
        binaries = self._ensure_binaries()
        with LocalRuntime(result.run_dir) as runtime:
            result.runtime = runtime.name
            collector = self._start_services(runtime, binaries)
            emissions = self._emit_all(collector) if collector else []
            self._record_versions(binaries)
            if emissions:
                hop_spans = self._upstream_hops(emissions)
                reads = self._read_all(emissions)
                self._evaluate(emissions, hop_spans, reads)
            else:
                self._all_errors("nothing was emitted: " + "; ".join(result.problems))
        result.ended = _now()
        return result

    def _ensure_binaries(self) -> dict[str, Path]:
        names = [toolchain.COLLECTOR.name] + [backend.component for backend in self.backends]
        started = time.monotonic()
        binaries = toolchain.ensure(names, report=self.notify)
        self.result.stages["toolchain"] = round(time.monotonic() - started, 3)
        return binaries

    def _start_services(self, runtime: LocalRuntime, binaries: dict[str, Path]) -> Service | None:
        self.notify("starting backends")
        started = time.monotonic()
        for backend in self.backends:
            try:
                spec = backend.service(binaries[backend.component], runtime.allocate_ports(backend.ports))
                service = runtime.start(spec)
            except LinkmatrixError as error:
                self._backend_failed(backend.name, f"{backend.title} did not start: {error}")
                continue
            self.services[backend.name] = service
            self.notify(f"  {backend.title} ready in {service.startup_seconds:.1f}s")
        exporters = dict(backend.collector_exporter(self.services[backend.name])
                         for backend in self.backends if backend.name in self.services)
        collector = None
        try:
            spec = pipeline.collector_service(binaries[toolchain.COLLECTOR.name],
                                              runtime.allocate_ports(pipeline.PORTS), exporters,
                                              self._forwarded_path)
            collector = runtime.start(spec)
            self.services[pipeline.NAME] = collector
            self.notify(f"  collector ready in {collector.startup_seconds:.1f}s")
        except LinkmatrixError as error:
            self.result.problems.append(f"the collector did not start: {error}")
        self.result.stages["startup"] = round(time.monotonic() - started, 3)
        self.result.stage_detail["startup"] = {name: round(service.startup_seconds, 3)
                                               for name, service in self.services.items()}
        for name, service in self.services.items():
            self.result.services[name] = {"ports": dict(service.spec.ports), "log": str(service.log_path.relative_to(self.result.run_dir))}
        return collector

    @property
    def _forwarded_path(self) -> Path:
        return self.result.run_dir / pipeline.FORWARDED_FILE

    def _emit_all(self, collector: Service) -> list[Emission]:
        started = time.monotonic()
        emissions: list[Emission] = []
        with WireTap(collector.address("otlp_grpc")) as tap:
            for scenario in self.settings.scenarios:
                self.notify(f"emitting {scenario.name}")
                try:
                    emissions.append(emit(scenario, self.result.run_id, tap.endpoint))
                except LinkmatrixError as error:
                    self.result.problems.append(str(error))
            self.wire_spans = tap.spans(self.result.run_id)
        self.emit_ended = time.monotonic()
        self.result.stages["emit"] = round(self.emit_ended - started, 3)
        self._write_json("sent.json", {
            "run_id": self.result.run_id,
            "scenarios": {e.scenario: {"requested": [s.to_json() for s in e.requested],
                                       "sdk": [s.to_json() for s in e.sdk],
                                       "labels": {f"{t}/{s}": label for (t, s), label in e.labels.items()},
                                       "messages": e.messages}
                          for e in emissions}})
        return emissions

    def _upstream_hops(self, emissions: list[Emission]) -> dict[str, list[Span]]:
        expected = {key for emission in emissions for keys in _expected_keys(emission).values() for key in keys}
        try:
            waited = wait_until(lambda: pipeline.read_forwarded(self._forwarded_path, self.result.run_id),
                                lambda spans: expected <= {span.key for span in spans},
                                timeout=30, what="collector file export",
                                describe=lambda spans: f"{len(spans)} of {len(expected)} spans")
            forwarded = waited.value
        except NotVisibleError as error:
            self.result.problems.append(str(error))
            forwarded = pipeline.read_forwarded(self._forwarded_path, self.result.run_id)
        sdk = [span for emission in emissions for span in emission.sdk]
        return {"sdk": sdk, "wire": self.wire_spans, "collector": forwarded}

    def _read_path(self, path: ReadPath, emissions: list[Emission]) -> dict[str, list[Span] | Exception]:
        """Poll one read path for every trace of every scenario; record visibility and read times."""
        backend_error = self.backend_errors.get(path.backend)
        if backend_error:
            return {emission.scenario: LinkmatrixError(backend_error) for emission in emissions}
        base_url = BACKENDS[path.backend].base_url(self.services[path.backend])
        raw_dir = self.result.run_dir / "raw" / path.backend / path.name
        raw_dir.mkdir(parents=True, exist_ok=True)
        results: dict[str, list[Span] | Exception] = {}
        read_seconds, attempts = 0.0, 0
        for emission in emissions:
            spans: list[Span] = []
            try:
                for trace_id, keys in sorted(_expected_keys(emission).items()):
                    def probe(trace_id: str = trace_id) -> tuple[Answer, float]:
                        begun = time.monotonic()
                        return path.read(base_url, trace_id), time.monotonic() - begun

                    waited = wait_until(
                        probe, lambda got, keys=keys: keys <= {span.key for span in got[0].spans},
                        timeout=self.settings.visibility_timeout,
                        what=f"{path.label}: trace {trace_id} of {emission.scenario}",
                        describe=lambda got, keys=keys: _missing(keys, got[0], emission))
                    answer, seconds = waited.value
                    read_seconds += seconds
                    attempts += waited.attempts
                    spans.extend(answer.spans)
                    (raw_dir / f"{trace_id}.json").write_text(json.dumps(answer.raw, indent=1, sort_keys=True))
                results[emission.scenario] = spans
            except Exception as error:  # one read path failing costs only its own cells
                results[emission.scenario] = error
                with self.lock:
                    self.result.problems.append(f"{path.label}: {error}")
        with self.lock:
            detail = self.result.stage_detail
            detail.setdefault("visibility", {})[path.id] = round(time.monotonic() - self.emit_ended, 3)
            detail.setdefault("read", {})[path.id] = round(read_seconds, 3)
            detail.setdefault("read_attempts", {})[path.id] = attempts
        return results

    def _read_all(self, emissions: list[Emission]) -> dict[str, dict[str, list[Span] | Exception]]:
        self.notify("waiting until every read path shows every span")
        started = time.monotonic()
        # Read paths poll in parallel: a slow one must not hold the others up.
        with ThreadPoolExecutor(max_workers=max(1, len(self.result.columns))) as pool:
            futures = {path.id: pool.submit(self._read_path, path, emissions) for path in self.result.columns}
            reads = {path_id: future.result() for path_id, future in futures.items()}
        detail = self.result.stage_detail
        self.result.stages["visibility"] = max(detail.get("visibility", {}).values(), default=0.0)
        self.result.stages["read"] = round(sum(detail.get("read", {}).values()), 3)
        self.result.stages["reads_total"] = round(time.monotonic() - started, 3)
        return reads

    def _evaluate(self, emissions: list[Emission], hop_spans: dict[str, list[Span]],
                  reads: dict[str, dict[str, list[Span] | Exception]]) -> None:
        started = time.monotonic()
        for emission in emissions:
            scenario = next(s for s in self.settings.scenarios if s.name == emission.scenario)
            for feature in exercised_features(emission, scenario.checks):
                upstream = upstream_outcomes(emission, feature, hop_spans)
                for path in self.result.columns:
                    self.result.cells.append(cell_for(emission, feature, path, self.settings.pipeline,
                                                      upstream, reads[path.id][emission.scenario]))
        self.result.stages["check"] = round(time.monotonic() - started, 3)

    # -- bookkeeping ----------------------------------------------------------------------------
    def _backend_failed(self, backend: str, message: str) -> None:
        self.backend_errors[backend] = message
        self.result.problems.append(message)
        self.notify(f"  ! {message.splitlines()[0]}")

    def _all_errors(self, reason: str) -> None:
        from .checks import ERROR
        for scenario in self.settings.scenarios:
            for path in self.result.columns:
                self.result.cells.append(Cell(scenario.name, "link.present", path.backend, path.name,
                                              self.settings.pipeline, ERROR, reason=reason))

    def _record_versions(self, binaries: dict[str, Path]) -> None:
        """Versions as the running programs report them, not as the pins say."""
        versions = self.result.versions
        collector = _command_output([str(binaries[toolchain.COLLECTOR.name]), "--version"])
        versions["collector"] = collector.rsplit(" ", 1)[-1] if collector else "unknown"
        for backend in self.backends:
            versions[backend.name] = backend.version(binaries[backend.component], self.services.get(backend.name))
        if any(backend.name == "zipkin" for backend in self.backends):
            java = _command_output(["java", "-version"])
            versions["java"] = java.split('"')[1] if '"' in java else "unknown"

    def _write_json(self, name: str, data: Any) -> None:
        (self.result.run_dir / name).write_text(json.dumps(data, indent=1, sort_keys=True))


def _missing(keys: set[tuple[str, str]], answer: Answer, emission: Emission) -> str:
    seen = {span.key for span in answer.spans}
    missing = sorted(emission.labels.get(key, f"{key[0]}/{key[1]}") for key in keys - seen)
    return f"HTTP {answer.status}; missing spans: {', '.join(missing)}"
