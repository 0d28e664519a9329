"""Runtimes start and stop services and hand back their endpoints; they know nothing about links.

A component (a backend adapter, or the collector) describes its service: which ports it needs,
what to run, how to tell it is ready, which ports it has inside a container network and which a
person reaches it on. A runtime *provides* it: starts it (local processes, Docker containers) or
attaches to one that someone else runs (the external runtime, or an instance the user named).
The rest of linkmatrix sees only `Runtime.provide(component) -> Service`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import requests

from ...model import LinkmatrixError, PortInUseError, ServiceError
from .._wait import wait_until
from ..toolchain._builds import Build
from ._ports import holder, is_free

LOOPBACK = "127.0.0.1"  # where services listen; inside a container on its own network: 0.0.0.0
Notify = Callable[[str], None]


@dataclass(frozen=True)
class Readiness:
    """Ready when GET http://<host>:<port>/<path> answers `status`."""

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
    # While `image` is the official image of another service (a Jaeger on Badger has Jaeger's, a
    # collector gateway the collector's): that service, whose chosen image (an override, a local
    # look-alike) it runs too. "": it runs what is chosen for its own name.
    image_family: str = ""
    # What the image's entrypoint gets (default: the command without its program) and extra env.
    container_args: tuple[str, ...] | None = None
    container_env: dict[str, str] = field(default_factory=dict)
    # Host folders the service reads (given by the user): a container sees each at the same path.
    reads: tuple[str, ...] = ()
    # Its image's entrypoint needs the image's own working directory (Zipkin's start script runs the
    # server from the files there): a container keeps it instead of starting in the config folder.
    keeps_image_workdir: bool = False
    run_as: tuple[int, int] | None = None  # (uid, gid) for a server that refuses to run as root
    cleanup: Callable[[], None] | None = None  # after it stopped: remove what was made for it

    @property
    def image_args(self) -> tuple[str, ...]:
        return self.container_args if self.container_args is not None else self.command[1:]


def _still_running() -> str | None:
    return None


def _no_log() -> str:
    return ""


def _not_stopped() -> bool:
    return False


@dataclass
class Service:
    spec: ServiceSpec
    log_path: Path | None  # None: not started by linkmatrix (someone else runs it)
    startup_seconds: float
    host: str = LOOPBACK
    # How it ended ("exited with code -9"), or None while it runs (or when nobody can tell).
    exited: Callable[[], str | None] = _still_running
    read_log: Callable[[], str] = _no_log  # its log so far
    binary: Path | None = None  # the program the local runtime ran
    image: dict[str, str] | None = None  # the image the docker runtime ran: name, id, digest
    # Whether its process is stopped (SIGSTOP, a debugger): alive, and answering nothing.
    stopped: Callable[[], bool] = _not_stopped
    # Set by the stack's health watch when it stopped answering: from then on it counts as dead.
    unresponsive: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def started_here(self) -> bool:
        return self.log_path is not None

    def address(self, port: str) -> str:
        return f"{self.host}:{self.spec.ports[port]}"

    def url(self, port: str) -> str:
        return f"http://{self.address(port)}"

    def death_notice(self) -> str | None:
        """One line (plus its last log lines) when the service is gone: its reads cannot succeed."""
        how = self.exited()
        if how is None:
            return self.unresponsive
        tail = "\n".join(self.read_log().splitlines()[-8:])
        return f"{self.name} {how} during the run" + (f"\n--- last lines of its log ---\n{tail}" if tail else "")


class Component(Protocol):
    """Anything a runtime can provide: a backend adapter, or the collector."""

    @property
    def name(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def build(self) -> Build | None: ...  # what the local runtime fetches or builds to run it; None: nothing

    @property
    def image(self) -> str: ...  # its official image, which the docker runtime runs ("": none)

    @property
    def ports(self) -> tuple[str, ...]: ...  # the ports it needs, by name

    @property
    def container_ports(self) -> dict[str, int]: ...  # its usual ports inside a container network

    @property
    def published_ports(self) -> dict[str, int]: ...  # where a person reaches it on 127.0.0.1 (compose)

    @property
    def probe(self) -> Readiness: ...  # ready check on a published port, for an instance someone else runs

    def service(self, binary: Path | None, ports: dict[str, int], listen: str) -> ServiceSpec: ...

    def given(self) -> dict[str, str] | None: ...  # port name → "host:port" of an instance the user named


class Runtime(Protocol):
    """What a run needs from a runtime; local, docker and external implement it."""

    @property
    def name(self) -> str: ...

    @property
    def listen(self) -> str: ...  # where services bind

    @property
    def taps_reach_backends(self) -> bool: ...  # can the collector send to a tap in linkmatrix's process?

    def __enter__(self) -> Runtime: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def prepare(self, components: Sequence[Component], report: Notify) -> float:
        """Fetch or build what the components need (seconds it took)."""
        ...

    def provide(self, component: Component) -> Service: ...

    def provide_all(self, components: Sequence[Component]) -> list[Service | Exception]:
        """Each component provided (side by side where the runtime can); a failure is its exception."""
        ...

    def peer_address(self, service: Service, port: str) -> str: ...


def provide_each(runtime: Runtime, components: Sequence[Component]) -> list[Service | Exception]:
    """`provide_all` one after the other (the runtimes that start nothing side by side)."""
    provided: list[Service | Exception] = []
    for component in components:
        try:
            provided.append(runtime.provide(component))
        except (LinkmatrixError, ValueError) as error:
            provided.append(error)
    return provided


def default_endpoints(component: Component) -> dict[str, str]:
    """Where a component runs in the compose stack, which the external runtime expects by default."""
    return {port: f"{LOOPBACK}:{number}" for port, number in component.published_ports.items()}


def attach(component: Component, endpoints: dict[str, str], timeout: float = 30.0) -> Service:
    """A service someone else runs: checked that it answers, never started or stopped."""
    hosts = {address.rpartition(":")[0] for address in endpoints.values()}
    if len(hosts) != 1:
        raise ServiceError(component.name, f"its endpoints must be on one host, not {', '.join(sorted(hosts))}")
    ports = {port: int(address.rpartition(":")[2]) for port, address in endpoints.items()}
    spec = ServiceSpec(name=component.name, command=(), readiness=component.probe, ports=ports)
    service = Service(spec, None, 0.0, host=hosts.pop() or LOOPBACK)
    probe = component.probe
    if probe.port in ports:
        url = f"{service.url(probe.port)}{probe.path}"
        wait_until(lambda: requests.get(url, timeout=5).status_code, lambda status: status == probe.status,
                   timeout=timeout, what=f"{component.title} at {url}", describe=lambda status: f"HTTP {status}")
    return service


def check_ports_free(spec: ServiceSpec) -> None:
    """Every port the spec was given is still free on 127.0.0.1 (else: who holds it)."""
    for port_name, port in spec.ports.items():
        if not is_free(port):
            raise PortInUseError(spec.name, f"port {port} ({port_name}) on 127.0.0.1 is taken by {holder(port)}")


def write_configs(spec: ServiceSpec, folder: Path) -> None:
    """The generated config files, in the folder the service runs in."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for file_name, content in spec.config_files.items():
            (folder / file_name).write_text(content)
    except OSError as error:  # a full disk, a read-only folder
        raise ServiceError(spec.name, f"cannot write its config under {folder}: {error.strerror or error}") from None


