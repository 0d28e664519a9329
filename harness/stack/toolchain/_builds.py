"""Fetch or build every pinned binary by its official route into a cache outside the repo.

The versions table below pins what is no backend (the collector, the Python SDK); a backend's pins
(its storage engines' too) are in its folder, and its adapter hands its `Build` to the runtime.
Each is built once; later runs find it in the cache and take seconds.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import requests
import yaml

from ...model import ToolchainError
from ...prerequisites import GO_MINIMUM, GO_VERSION, JAVA_VERSION, tool_version

Report = Callable[[str], None]


def cache_dir() -> Path:
    """$LINKMATRIX_CACHE, else $XDG_CACHE_HOME/linkmatrix, else ~/.cache/linkmatrix."""
    if os.environ.get("LINKMATRIX_CACHE"):
        return Path(os.environ["LINKMATRIX_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "linkmatrix"


def writable(folder: Path) -> bool:
    """Whether files can be made in `folder` (made if missing): a read-only cache is used as it is."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


@functools.lru_cache(maxsize=8)
def _content_digest(path: Path, size: int, mtime_ns: int) -> str:
    """A file's SHA-256, once per process for each version of it (size and mtime tell versions apart)."""
    return _file_digest(path)


def _archive_key(runtime: Path, jar: Path) -> str:
    """What a class-data archive depends on: the JVM, and the jar's content — not where the jar is,
    so that a cache copied or mounted elsewhere still finds its archives."""
    info = jar.stat()
    content = _content_digest(jar.resolve(), info.st_size, info.st_mtime_ns)
    return hashlib.sha256(f"{runtime}:{runtime.stat().st_mtime_ns}:{info.st_size}:{content}".encode()).hexdigest()[:12]


def class_data_archive(jar: Path) -> tuple[tuple[str, ...], Callable[[], None] | None]:
    """JVM options that start `jar` from a class-data sharing archive in the cache, and what to do
    once the JVM stopped. The first run of a jar on a JVM writes the archive as it exits (under a
    name of its own, moved into place only when whole); later runs map it instead of loading and
    verifying every class again (measured for Zipkin 3.6.1 here: ready in 2.6 s instead of 3.1 s).
    A JVM that finds the archive unusable starts without it (-Xshare:auto, the default). A cache
    that cannot be written (read-only) is only read: without an archive there, none is made."""
    java = shutil.which("java")
    if java is None or not jar.is_file():
        return (), None
    archive = cache_dir() / "cds" / f"{jar.stem}-{_archive_key(Path(java).resolve(), jar)}.jsa"
    if archive.is_file() and archive.stat().st_size:
        return (f"-XX:SharedArchiveFile={archive}",), None
    if not writable(archive.parent):
        return (), None
    pending = archive.with_name(f"{archive.name}.{os.getpid()}-{time.monotonic_ns()}")

    def promote() -> None:
        with contextlib.suppress(OSError):  # the cache turned read-only or full meanwhile: the next run tries again
            if pending.is_file() and pending.stat().st_size:
                os.replace(pending, archive)
            else:  # killed before it could write the whole archive: the next run tries again
                pending.unlink(missing_ok=True)

    return (f"-XX:ArchiveClassesAtExit={pending}", "-Xlog:cds=off"), promote


BAR_WIDTH = 24


def progress_line(what: str, elapsed: float, expected: float | None) -> str:
    """"building jaeger 2.13.0 [#########...............] 1m30s of ~3m20s (its last build here)"."""
    if not expected:
        return f"  … {what}: {_clock(elapsed)} (no earlier build here to compare with)"
    done = min(BAR_WIDTH, int(BAR_WIDTH * elapsed / expected))
    bar = "#" * done + "." * (BAR_WIDTH - done)
    return f"  … {what} [{bar}] {_clock(elapsed)} of ~{_clock(expected)} (its last build here)"


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


class BuildClock:
    """How long a component's build took last time on this machine (kept in the cache), to say how
    far the current one is; written when the build succeeds."""

    def __init__(self, cache: Path, name: str) -> None:
        self.path = cache / "logs" / f"{name}-build.seconds"
        self.started = time.monotonic()
        try:
            self.expected: float | None = float(self.path.read_text())
        except (OSError, ValueError):
            self.expected = None

    def done(self) -> None:
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(f"{time.monotonic() - self.started:.1f}\n")


_RUNNING: set[subprocess.Popen[bytes]] = set()  # build steps running now, in any thread
_RUNNING_LOCK = threading.Lock()


def _stop_running() -> None:
    """Interrupted: kill every build step still running (their threads then end at once)."""
    with _RUNNING_LOCK:
        for process in _RUNNING:
            with contextlib.suppress(OSError):
                process.kill()


def _run(command: list[str], log: Path, cwd: Path, env: dict[str, str] | None = None, what: str = "",
         report: Report | None = None, heartbeat: float = 10.0, clock: BuildClock | None = None) -> None:
    """Run a build step, its output into `log`; every `heartbeat` seconds say how far it is (against
    the last build's time when `clock` has one)."""
    started = time.monotonic()
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(command)}\n".encode())
        out.flush()
        try:
            process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                       env={**os.environ, **(env or {})})
        except FileNotFoundError:
            raise ToolchainError(f"{what}: `{command[0]}` is not installed or not on PATH") from None
        with _RUNNING_LOCK:
            _RUNNING.add(process)
        try:
            while True:
                try:
                    returncode = process.wait(timeout=heartbeat)
                    break
                except subprocess.TimeoutExpired:
                    if report:
                        elapsed = time.monotonic() - (clock.started if clock else started)
                        report(progress_line(f"building {what}", elapsed, clock.expected if clock else None))
        finally:
            if process.poll() is None:  # interrupted: do not leave a compiler running
                process.kill()
                process.wait()
            with _RUNNING_LOCK:
                _RUNNING.discard(process)
    if returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-12:])
        raise ToolchainError(f"{what}: `{' '.join(command[:3])} …` failed (exit {returncode}); "
                             f"full log: {log}\n{tail}")


def _require(tool: str, version_args: list[str], pattern: str, minimum: tuple[int, ...], why: str) -> None:
    path = shutil.which(tool)
    if not path:
        raise ToolchainError(f"{tool} is needed {why}, and it is not on PATH")
    found = tool_version([path, *version_args], pattern)
    if found < minimum:
        raise ToolchainError(f"{tool} {'.'.join(map(str, minimum))} or newer is needed {why}; "
                             f"found {'.'.join(map(str, found)) or 'an unknown version'}")


def _begin_go_build(cache: Path, name: str) -> Path:
    """Check Go is there and start a fresh build log; returns the log's path."""
    _require("go", ["version"], GO_VERSION, GO_MINIMUM, f"to build {name}")
    log = cache / "logs" / f"{name}-build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    return log


def _file_digest(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as binary:
        for chunk in iter(lambda: binary.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _checksum_file(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _install(built: Path, target: Path, work: Path) -> Path:
    """Move a finished build into place in one step (a half-built binary never looks cached),
    with the checksum later runs verify it by."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _checksum_file(target).write_text(_file_digest(built) + "\n")
    os.replace(built, target)
    shutil.rmtree(work, ignore_errors=True)
    return target


def _cached(target: Path, name: str, report: Report) -> bool:
    """True when `target` is in the cache and still what was built; a corrupt or unverifiable
    one is said so and built again."""
    if not target.exists():
        return False
    try:
        recorded = _checksum_file(target).read_text().strip()
    except OSError:
        recorded = ""
    if recorded and recorded == _file_digest(target):
        return True
    report(f"the cached {name} at {target} " + ("does not match the checksum recorded when it was built"
                                                  if recorded else "has no recorded checksum") + "; building it again")
    return False


def _build_into_cache(cache: Path, target: Path, name: str, version: str, work: Path, report: Report,
                      build: Callable[[Path, BuildClock], Path]) -> Path:
    """What every Go build here shares: a cached binary that still matches its checksum is used as it
    is; else a fresh log and work folder, the build (`build(log, clock)` gives the finished file),
    and the file moved into place in one step with its checksum, the build's time kept for the next
    progress bar."""
    if _cached(target, name, report):
        return target
    log = _begin_go_build(cache, f"{name}-{version}")  # two releases may build at once
    shutil.rmtree(work, ignore_errors=True)
    clock = BuildClock(cache, f"{name}-{version}")
    installed = _install(build(log, clock), target, work)
    clock.done()
    return installed


class Build(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def source(self) -> str: ...

    def path(self, cache: Path) -> Path: ...

    def ensure(self, cache: Path, report: Report) -> Path: ...


@dataclass(frozen=True)
class GoProgram:
    """A Go program built from the Go module proxy, inside a throwaway module (`go get -tool`)."""

    name: str
    version: str  # the product version reports show
    module_version: str
    package: str
    ldflags: str = ""

    @property
    def source(self) -> str:
        return f"{self.package}@{self.module_version} (Go module proxy)"

    def path(self, cache: Path) -> Path:
        return cache / "bin" / f"{self.name}-{self.version}"

    def ensure(self, cache: Path, report: Report) -> Path:
        work = cache / "build" / f"{self.name}-{self.version}"
        return _build_into_cache(cache, self.path(cache), self.name, self.version, work, report,
                                 lambda log, clock: self._build(work, log, clock, report))

    def _build(self, work: Path, log: Path, clock: BuildClock, report: Report) -> Path:
        """`go get -tool` the package in a throwaway module, then `go build` it static."""
        report(f"building {self.name} {self.version} from {self.source} (first time only, a few minutes)")
        work.mkdir(parents=True)
        env = {"CGO_ENABLED": "0"}  # static: runs anywhere, and in a FROM-scratch image
        what = f"{self.name} {self.version}"
        _run(["go", "mod", "init", f"linkmatrix.build/{self.name}"], log, work, env, self.name)
        _run(["go", "get", "-tool", f"{self.package}@{self.module_version}"], log, work, env, what, report,
             clock=clock)
        built = work / self.name
        _run(["go", "build", "-trimpath", f"-ldflags=-s -w {self.ldflags}", "-o", str(built), self.package],
             log, work, env, what, report, clock=clock)
        return built


@dataclass(frozen=True)
class CollectorBuild:
    """A collector made by the official builder (ocb) from the manifest kept in this package: the
    pinned release as written there, an earlier one with every module at that release instead
    (the same components, so that only the release differs)."""

    name: str
    version: str
    builder_version: str
    manifest: str = "otelcol-builder.yaml"

    @property
    def source(self) -> str:
        return f"ocb {self.builder_version} + {self.manifest} (Go module proxy)"

    def _text(self) -> str:
        text = resources.files(__package__).joinpath(self.manifest).read_text()
        if f"version: {self.version}\n" in text:
            return text  # the manifest's own release
        # Every module of the manifest is at one release (mixing them fails the build): move them all.
        text = re.sub(r"(gomod: \S+) v\d+\.\d+\.\d+", rf"\1 {self.builder_version}", text)
        return re.sub(r"(?m)^(  version: )\S+$", rf"\g<1>{self.version}", text)

    def _manifest(self) -> dict[str, Any]:
        manifest: dict[str, Any] = yaml.safe_load(self._text())
        return manifest

    def _digest(self) -> str:
        return hashlib.sha256(self._text().encode()).hexdigest()[:10]

    def path(self, cache: Path) -> Path:
        # The manifest's digest is in the name: editing the manifest builds a new collector.
        return cache / "bin" / f"{self.name}-{self.version}-{self._digest()}"

    def ensure(self, cache: Path, report: Report) -> Path:
        work = cache / "build" / f"{self.name}-{self._digest()}"
        return _build_into_cache(cache, self.path(cache), self.name, self.version, work, report,
                                 lambda log, clock: self._build(cache, work, log, clock, report))

    def _build(self, cache: Path, work: Path, log: Path, clock: BuildClock, report: Report) -> Path:
        """The builder (installed once per release), run on the manifest with the output in `work`."""
        tools = cache / "tools" / f"ocb-{self.builder_version}"
        builder = tools / "builder"
        if not builder.exists():
            report(f"installing the collector builder ocb {self.builder_version}")
            _run(["go", "install", f"go.opentelemetry.io/collector/cmd/builder@{self.builder_version}"],
                 log, cache, {"GOBIN": str(tools), "CGO_ENABLED": "0"}, "ocb")
        report(f"building {self.name} {self.version} with ocb (first time only, a few minutes)")
        manifest = self._manifest()
        manifest["dist"]["output_path"] = str(work)
        manifest_path = cache / "build" / f"{self.name}-{self._digest()}.yaml"
        manifest_path.parent.mkdir(parents=True, exist_ok=True)
        manifest_path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        _run([str(builder), "--config", str(manifest_path)], log, cache, {"CGO_ENABLED": "0"},
             f"{self.name} {self.version}", report, clock=clock)
        built: Path = work / manifest["dist"]["name"]
        return built


@dataclass(frozen=True)
class MavenFile:
    """One file of an artifact on Maven Central, checked against its pinned SHA-1: a jar (Zipkin's
    server), or a runnable distribution zip, unpacked afresh for each run by the service that runs
    it (see Jaeger's storages in harness.backends.jaeger)."""

    name: str
    version: str
    group: str
    artifact: str
    sha1: str
    classifier: str = ""
    packaging: str = "jar"  # or zip
    needs_java: int = 17

    @property
    def source(self) -> str:
        classified = f":{self.classifier}" if self.classifier else ""
        mirror = os.environ.get("LINKMATRIX_MAVEN_REPO")
        return f"{self.group}:{self.artifact}:{self.version}{classified}@{self.packaging} " + \
            (f"(the Maven mirror {mirror})" if mirror else "(Maven Central)")

    @property
    def _ending(self) -> str:
        return (f"-{self.classifier}" if self.classifier else "") + f".{self.packaging}"

    def path(self, cache: Path) -> Path:
        folder = "jars" if self.packaging == "jar" else "archives"
        return cache / folder / f"{self.artifact}-{self.version}{self._ending}"

    def url(self) -> str:
        return _maven_url(self.group, self.artifact, self.version, self._ending)

    def ensure(self, cache: Path, report: Report) -> Path:
        _require("java", ["-version"], JAVA_VERSION, (self.needs_java,), f"to run {self.name}")
        # A release the table does not pin (a stack file's) is checked against the SHA-1 its repository publishes.
        sha1 = self.sha1 or _published_sha1(self.name, self.url())
        return _maven_download(self.name, self.source, self.url(), self.path(cache), sha1, report)


def _published_sha1(name: str, url: str) -> str:
    try:
        response = requests.get(f"{url}.sha1", timeout=30)
        response.raise_for_status()
    except requests.RequestException as error:
        raise ToolchainError(f"{name}: no published SHA-1 at {url}.sha1 ({error}); is that release there?") from None
    return response.text.split()[0].strip().lower() if response.text.split() else ""


def _maven_url(group: str, artifact: str, version: str, ending: str) -> str:
    """Where Maven Central (or the mirror in LINKMATRIX_MAVEN_REPO) keeps one file of an artifact."""
    repository = os.environ.get("LINKMATRIX_MAVEN_REPO", "https://repo1.maven.org/maven2").rstrip("/")
    return f"{repository}/{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}{ending}"


def _maven_download(name: str, source: str, url: str, target: Path, sha1: str, report: Report) -> Path:
    """A Maven Central file into the cache, checked against its pinned SHA-1; never half a file."""
    if target.exists():
        if _file_digest(target, "sha1") == sha1:
            return target
        report(f"the cached {target} does not have the pinned SHA-1; downloading it again")
    report(f"downloading {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1()
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as partial:
        pass
    try:
        with open(partial.name, "wb") as out, requests.get(url, stream=True, timeout=60) as response:
            response.raise_for_status()
            for chunk in response.iter_content(1 << 20):
                out.write(chunk)
                digest.update(chunk)
        if digest.hexdigest() != sha1:
            raise ToolchainError(f"{name}: {url} has SHA-1 {digest.hexdigest()}, expected the pinned {sha1}")
        os.chmod(partial.name, 0o644)
        os.replace(partial.name, target)
    except requests.RequestException as error:
        raise ToolchainError(f"{name}: download of {url} failed: {error}") from None
    finally:
        if os.path.exists(partial.name):  # whatever stopped it (even Ctrl-C): no half a file
            os.unlink(partial.name)
    return target


# The versions table of what is no backend (each backend's pins are in its folder): change a pin here
# and nowhere else.
COLLECTOR = CollectorBuild(name="otelcol-linkmatrix", version="0.161.0", builder_version="v0.161.0")
@dataclass(frozen=True)
class PythonSdk:
    """An earlier OpenTelemetry Python SDK release, in a virtual environment of its own in the cache
    (from PyPI); it emits scenarios through harness.emit._worker."""

    name: str
    version: str
    # What the worker imports beside the SDK: the emit stage it runs (its wire taps forward with
    # requests) and the model below it (scenario records are unpickled there).
    extras: tuple[str, ...] = ("PyYAML>=6", "jsonschema>=4.20", "requests>=2.31")

    @property
    def source(self) -> str:
        return f"opentelemetry-sdk=={self.version} and its OTLP/gRPC exporter (PyPI)"

    @property
    def requirements(self) -> list[str]:
        return [f"opentelemetry-api=={self.version}", f"opentelemetry-sdk=={self.version}",
                f"opentelemetry-exporter-otlp-proto-grpc=={self.version}", *self.extras]

    def path(self, cache: Path) -> Path:
        return cache / "venvs" / f"opentelemetry-python-{self.version}" / "bin" / "python"

    def ensure(self, cache: Path, report: Report) -> Path:
        python = self.path(cache)
        stamp = python.parent.parent / "linkmatrix-installed.txt"
        wanted = "\n".join(self.requirements) + "\n"
        if python.exists() and stamp.exists() and stamp.read_text() == wanted:
            return python
        report(f"installing {self.source} into its own virtual environment (first time only)")
        home = python.parent.parent
        shutil.rmtree(home, ignore_errors=True)
        log = cache / "logs" / f"{self.name}-{self.version}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "-m", "venv", str(home)], log, cache, None, self.name)
        _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *self.requirements],
             log, cache, None, self.name, report)
        stamp.write_text(wanted)
        return python


# Before 0.161.0: the latest earlier release whose every module (the zipkin exporter among them) the
# Go module proxy serves. It runs the same components as its own collector process.
COLLECTOR_PREVIOUS = CollectorBuild(name=COLLECTOR.name, version="0.158.0", builder_version="v0.158.0")
COLLECTOR_RELEASES: dict[str, CollectorBuild] = {f"otelcol-{c.version}": c for c in (COLLECTOR_PREVIOUS,)}


def version_key(component: GoProgram | MavenFile | PythonSdk | CollectorBuild) -> str:
    """The table key of an earlier release: `zipkin@2.27.0`."""
    return f"{component.name}@{component.version}"


VERSION = re.compile(r"^\d+\.\d+\.\d+$")


def maven_release(pinned: MavenFile, version: str) -> MavenFile:
    """Another release of a pinned Maven artifact, checked against the SHA-1 Maven Central publishes."""
    return pinned if version == pinned.version else replace(pinned, version=version, sha1="")


def collector_release(version: str) -> CollectorBuild:
    """The pinned builder manifest with every module at `version` (as the earlier release is made)."""
    return COLLECTOR if version == COLLECTOR.version else replace(COLLECTOR, version=version,
                                                                  builder_version=f"v{version}")


def sdk_release(version: str) -> PythonSdk:
    return replace(PYTHON_SDK_PREVIOUS, version=version)


# Before Span.add_link (1.23.0): a link added after start cannot reach the SDK at all.
PYTHON_SDK_PREVIOUS = PythonSdk(name="python-sdk", version="1.22.0")
SDK_RELEASES: dict[str, PythonSdk] = {f"{c.name}-{c.version}": c for c in (PYTHON_SDK_PREVIOUS,)}

# How a release the table does not list is made, by component name (a stack file's, a candidate's);
# a backend makes its own releases (`Backend.at_release`).
RELEASES: dict[str, Callable[[str], Build]] = {
    COLLECTOR.name: collector_release,
    PYTHON_SDK_PREVIOUS.name: sdk_release,
}
COMPONENTS: dict[str, Build] = {
    COLLECTOR.name: COLLECTOR,
    **{version_key(c): c for c in (PYTHON_SDK_PREVIOUS, COLLECTOR_PREVIOUS)},
}


# The official images the docker runtime runs of what is no backend (the same releases as above; a
# backend's is its adapter's `image`). Override one with --image NAME=REF or LINKMATRIX_IMAGE_<NAME>
# (a mirror, an air-gapped registry, a local build).
IMAGES: dict[str, str] = {
    "collector": "otel/opentelemetry-collector-contrib:0.161.0",
}


def built_processors(manifest: str = COLLECTOR.manifest) -> dict[str, str]:
    """The processors the builder manifest builds into the collector: `memorylimiter` → its Go module."""
    document = yaml.safe_load(resources.files(__package__).joinpath(manifest).read_text())
    modules = [str(entry["gomod"]).split()[0] for entry in document.get("processors") or []]
    return {module.rsplit("/", 1)[-1].removesuffix("processor"): module for module in modules}


def build_for(key: str) -> Build:
    """The build a key names: the table's entry, else a release made from it (`jaeger@2.14.0`)."""
    if key in COMPONENTS:
        return COMPONENTS[key]
    name, _, version = key.rpartition("@")
    if name in RELEASES and VERSION.match(version):
        return RELEASES[name](version)
    raise ToolchainError(f"{key}: no such component or release (components: {', '.join(RELEASES)})")


def image_for(service: str, overrides: dict[str, str] | None = None, default: str = "") -> str:
    """The image of a service: an override, else its official one (else `default`: a Jaeger on
    another storage runs Jaeger's image)."""
    variable = f"LINKMATRIX_IMAGE_{service.upper().replace('-', '_')}"
    return (overrides or {}).get(service) or os.environ.get(variable) or IMAGES.get(service) or default


BUILDS_AT_ONCE = 2  # one build's module downloads overlap another's compiling; more only queue for the CPU


def ensure(names: list[str] | None = None, report: Report = print) -> dict[str, Path]:
    """Every component the table names (all of them when `names` is None) in the cache, by its key."""
    wanted = {name: build_for(name) for name in (names or list(COMPONENTS))}
    paths = ensure_builds(list(wanted.values()), report)
    return {name: paths[build] for name, build in wanted.items()}


def _writable_cache(report: Report) -> Path:
    """The cache, made if missing; a read-only one is said so and used as it is."""
    cache = cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # a read-only or full cache: say where, and what to do
        raise ToolchainError(f"cannot write the cache {cache} ({error.strerror or error}); "
                             "point LINKMATRIX_CACHE at a writable folder") from None
    if not writable(cache):  # fine while everything needed is there: only a build would write
        report(f"the cache {cache} is read-only: used as it is (files derived from it, such as Zipkin's "
               "class-data archive, are not written)")
    return cache


def ensure_builds(builds: Sequence[Build], report: Report = print) -> dict[Build, Path]:
    """Every build in the cache: found there, or fetched and built now — two at a time, so that a
    download waits beside a compile; the first failure is raised once the others ended."""
    cache = _writable_cache(report)

    def one(build: Build) -> Path:
        try:
            return build.ensure(cache, report)
        except OSError as error:
            raise ToolchainError(f"{build.name}: cannot write the cache {cache} ({error.strerror or error}); "
                                 "point LINKMATRIX_CACHE at a writable folder") from None

    with ThreadPoolExecutor(max_workers=BUILDS_AT_ONCE, thread_name_prefix="linkmatrix-build") as pool:
        futures = {build: pool.submit(one, build) for build in dict.fromkeys(builds)}
        try:
            errors = [future.exception() for future in futures.values() if future.exception() is not None]
        except BaseException:  # Ctrl-C, SIGTERM: the builds stop now, not when they are done
            for future in futures.values():
                future.cancel()
            _stop_running()
            raise
    if errors:
        raise errors[0]  # type: ignore[misc]
    return {build: future.result() for build, future in futures.items()}
