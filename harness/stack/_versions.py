"""Versions as the running programs report them, not as the pins say (in containers: the
image's tag; its id and digest are under run.services)."""

from __future__ import annotations

import hashlib
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

from .. import __version__
from ..model import HttpClient
from . import _collector as pipeline
from ._backend import Backend
from .runtime._base import Service

LIBRARIES = ("opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-grpc", "opentelemetry-exporter-otlp-proto-http",
             "opentelemetry-exporter-zipkin-json",
             "opentelemetry-proto", "grpcio")


LOCK_FILE = Path(__file__).resolve().parents[2] / "requirements.lock"  # beside pyproject.toml in a checkout
LOCKED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def lock_version(lock: Path = LOCK_FILE) -> str:
    """The lock's hash, and whether what is installed is what it pins: two nights differ only
    where a pin changed on purpose, and the report says when that was not so."""
    try:
        text = lock.read_text()
    except OSError:
        return "none (not run from a checkout)"
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    differ = []
    for name, pinned in LOCKED.findall(text):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != pinned:
            differ.append(f"{name} {installed} (locked {pinned})")
    return f"sha256:{digest}" + (f", installed differs: {'; '.join(differ[:5])}" if differ else ", installed as locked")


def library_versions() -> dict[str, str]:
    versions = {"linkmatrix": __version__, "python": platform.python_version(), "requirements.lock": lock_version()}
    for package in LIBRARIES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def command_output(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (result.stdout + result.stderr).strip()


def image_tag(service: Service) -> str:
    reference = (service.image or {}).get("name", "")
    return reference.rsplit(":", 1)[1] if ":" in reference.rsplit("/", 1)[-1] else ""


def collector_version(service: Service | None) -> str:
    if service is None or not service.started_here:
        return "unknown (not started by linkmatrix)"
    if service.binary is not None:
        output = command_output([str(service.binary), "--version"])
        return output.rsplit(" ", 1)[-1] if output.strip() else "unknown (`otelcol --version` printed nothing)"
    return image_tag(service) or "unknown (its image has no tag)"


def backend_version(backend: Backend, service: Service, http: HttpClient) -> str:
    try:
        version = backend.version(http, service)
    except Exception as error:  # a version is worth a line in the report, never the run
        version = f"unknown (asking it failed: {type(error).__name__})"
    if version.startswith("unknown") and service.image:
        return image_tag(service) or version
    return version


def _engine_version(service: Service, http: HttpClient) -> str:
    """A search engine's own version, from its node info (its test distribution has no `GET /`)."""
    try:
        status, body = http.get_json(f"{service.url('http')}/_nodes/_local")
        nodes = body.get("nodes") if status == 200 and isinstance(body, dict) else None
        if not nodes:
            return f"unknown (its node info answered HTTP {status})"
        return str(next(iter(nodes.values()))["version"])
    except Exception as error:  # a version is worth a line in the report, never the run
        return f"unknown (asking it failed: {type(error).__name__})"


def service_versions(backends: list[Backend], services: dict[str, Service], http: HttpClient) -> dict[str, str]:
    versions = {"collector": collector_version(services.get(pipeline.NAME))}
    for backend in backends:
        if backend.name in services:
            versions[backend.name] = backend_version(backend, services[backend.name], http)
    for engine in sorted({need.name for backend in backends for need in backend.needs} & set(services)):
        versions[engine] = _engine_version(services[engine], http)  # a storage's search engine, in its words
    if any(service.binary is not None and service.spec.command[:1] == ("java",) for service in services.values()):
        java = command_output(["java", "-version"])
        versions["java"] = java.split('"')[1] if '"' in java else "unknown (`java -version` did not say)"
    return versions
