"""Runtimes start and stop services and hand back their endpoints; they know nothing about links.

A backend adapter describes its service with a `ServiceSpec` (what to run, which ports it needs,
how to tell it is ready); a runtime turns that into a running `Service`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol


@dataclass(frozen=True)
class Readiness:
    """Ready when GET http://127.0.0.1:<port>/<path> answers `status`."""

    port: str
    path: str
    status: int = 200
    timeout: float = 90.0


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    command: tuple[str, ...]
    readiness: Readiness
    ports: dict[str, int]
    config_files: dict[str, str] = field(default_factory=dict)  # file name → content
    env: dict[str, str] = field(default_factory=dict)
    stop_grace: float = 10.0  # seconds between SIGTERM and SIGKILL
    image: str = ""  # its official image, for the docker runtime
    # What the image's entrypoint gets (default: the command without its program) and extra env.
    container_args: tuple[str, ...] | None = None
    container_env: dict[str, str] = field(default_factory=dict)

    @property
    def image_args(self) -> tuple[str, ...]:
        return self.container_args if self.container_args is not None else self.command[1:]


LOOPBACK = "127.0.0.1"  # where services listen; inside a container on its own network: 0.0.0.0


def _still_running() -> str | None:
    return None


def _no_log() -> str:
    return ""


@dataclass
class Service:
    spec: ServiceSpec
    log_path: Path | None  # None: not started by linkmatrix (an external service)
    startup_seconds: float
    host: str = "127.0.0.1"
    # How it ended ("exited with code -9"), or None while it runs (or when nobody can tell).
    exited: Callable[[], str | None] = _still_running
    read_log: Callable[[], str] = _no_log  # its log so far

    def death_notice(self) -> str | None:
        """One line (plus its last log lines) when the service is gone: its reads cannot succeed."""
        how = self.exited()
        if how is None:
            return None
        tail = "\n".join(self.read_log().splitlines()[-8:])
        return f"{self.name} {how} during the run" + (f"; last lines of its log:\n{tail}" if tail else "")

    @property
    def name(self) -> str:
        return self.spec.name

    def address(self, port: str) -> str:
        return f"{self.host}:{self.spec.ports[port]}"

    def url(self, port: str) -> str:
        return f"http://{self.address(port)}"


def external_service(name: str, url: str, otlp_address: str, readiness_path: str,
                     query_port: str = "http") -> Service:
    """A service someone else runs: linkmatrix only talks to it, and never stops it.
    `query_port` is the port name its adapter reads from (Jaeger's is "query_http")."""
    from urllib.parse import urlparse

    parsed = urlparse(url)
    ports = {query_port: parsed.port or 80}
    if otlp_address:
        otlp_host, _, otlp_port = otlp_address.rpartition(":")
        if otlp_host not in ("", parsed.hostname):
            raise ValueError(f"{name}: its query URL and OTLP address must be on one host ({url}, {otlp_address})")
        ports["otlp_grpc"] = int(otlp_port)
    spec = ServiceSpec(name=name, command=(), readiness=Readiness(query_port, readiness_path), ports=ports)
    return Service(spec, None, 0.0, host=parsed.hostname or "127.0.0.1")


class Runtime(Protocol):
    """What the matrix needs from a runtime (local, docker; external starts nothing)."""

    name: str
    listen: str  # where services bind
    taps_reach_backends: bool  # can the collector send to a tap in linkmatrix's process?
    started_images: dict[str, dict[str, str]]  # service → image record, for containers

    def allocate_ports(self, names: tuple[str, ...]) -> dict[str, int]: ...

    def start(self, spec: ServiceSpec) -> Service: ...

    def peer_address(self, service: Service, port: str) -> str: ...

    def stop_all(self) -> None: ...
