"""The `docker` runtime: each service is a container from its official image (or an override),
started with testcontainers.

Two network modes:
- `host` (Linux, CI): containers share the host's network; every listener binds 127.0.0.1 on a
  free port, exactly as in the local runtime, so the recording taps work unchanged.
- `network` (Docker Desktop): a user-defined network per run, one alias per service (its name);
  listeners bind 0.0.0.0 inside their container and each port is published on 127.0.0.1 of the
  host under the same number. The collector reaches backends by alias, so there is no tap between
  them: the collector hop is then its `file` export.

The run folder is mounted at the same absolute path inside every container, so generated
configs and the collector's file export mean the same paths everywhere. A container starts in the
config folder, except where its image's entrypoint needs the image's own working directory
(Zipkin's); it runs as its image's user, so the run folder is writable by anyone. An official image
and its local look-alike (`linkmatrix images`) are run the same way.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import requests
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network
from testcontainers.core.waiting_utils import WaitStrategy

from ...model import NotVisibleError, ServiceError
from .._wait import wait_until
from ..toolchain._builds import image_for
from ._base import (
    LOOPBACK,
    Component,
    Notify,
    Service,
    ServiceSpec,
    attach,
    check_ports_free,
    provide_each,
    write_configs,
)
from ._ports import free_port

HOST, NETWORK = "host", "network"
LABEL = "dev.linkmatrix.run"


def daemon_answers(timeout: float = 3.0) -> str | None:
    """None when a Docker daemon answers GET /_ping on DOCKER_HOST (default: the local socket);
    else why not, in one line. A raw request: nothing is left open whatever happens."""
    from urllib.parse import urlparse

    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    parsed = urlparse(where)
    address: str | tuple[str, int]
    if parsed.scheme == "unix":
        sock, address = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), parsed.path
    elif parsed.scheme in ("tcp", "http"):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        address = (parsed.hostname or "127.0.0.1", parsed.port or 2375)
    else:
        return f"no Docker daemon answers (DOCKER_HOST {where!r} is not a unix or tcp address)"
    try:
        sock.settimeout(timeout)
        sock.connect(address)
        sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        answer = sock.recv(1024).decode(errors="replace")
    except OSError as error:
        return f"no Docker daemon answers at {where} ({error.strerror or error})"
    finally:
        sock.close()
    if " 200 " not in answer.split("\r\n", 1)[0]:
        return f"the Docker daemon at {where} did not answer its ping ({answer.splitlines()[0] if answer else 'empty'})"
    return None


def missing_image(references: Sequence[str]) -> str | None:
    """None when the daemon has every image, pulling what it lacks; else the first that it neither
    has nor can pull, and why, in one line."""
    import docker

    client = None
    try:
        client = docker.from_env()
        for reference in references:
            try:
                client.images.get(reference)
            except docker.errors.ImageNotFound:
                try:
                    client.images.pull(reference)
                except docker.errors.APIError as error:
                    why = str(getattr(error, "explanation", "") or error).splitlines()[0][:160]
                    return f"the image {reference} is not here and cannot be pulled ({why})"
    except docker.errors.DockerException as error:
        return f"the Docker daemon cannot be asked for images ({error})"
    finally:
        if client is not None:
            client.close()
    return None


@dataclass(frozen=True)
class ContainerPlan:
    """Everything `docker run` gets for one service: pure data, so tests can check it."""

    name: str
    image: str
    args: tuple[str, ...]
    env: dict[str, str]
    working_dir: str | None  # None: the image's own WORKDIR
    volumes: dict[str, dict[str, str]]
    labels: dict[str, str]
    network_mode: str | None = None  # "host"
    network: str | None = None  # the run's user-defined network
    aliases: tuple[str, ...] = ()
    ports: dict[str, tuple[str, int]] = field(default_factory=dict)  # "4317/tcp" → (host ip, host port)


class LoopbackHttpWaitStrategy(WaitStrategy):
    """Ready when GET http://127.0.0.1:<port><path> answers `status`. (testcontainers' own HTTP
    strategy asks Docker for a port mapping, which host networking does not have.)"""

    def __init__(self, port: int, path: str, status: int = 200) -> None:
        super().__init__()
        self.url, self.status = f"http://{LOOPBACK}:{port}{path}", status

    def wait_until_ready(self, container: Any) -> None:
        def probe() -> int:
            container.reload()
            if container.status in ("exited", "dead"):
                raise ServiceError(container.image, f"container {container.status} before {self.url} answered")
            return requests.get(self.url, timeout=2).status_code

        try:
            wait_until(probe, lambda status: status == self.status, timeout=float(self._startup_timeout),
                       what=self.url, describe=lambda status: f"HTTP {status}", max_delay=float(self._poll_interval))
        except NotVisibleError:
            raise TimeoutError(f"{self.url} did not answer HTTP {self.status} within {self._startup_timeout:.0f}s "
                               "(hint: the container's log is in the run's logs/ folder)") from None


def _container_exit(container: DockerContainer) -> str | None:
    try:
        wrapped = container.get_wrapped_container()
        wrapped.reload()
    except Exception:  # the daemon forgot it: it is gone
        return "is gone (its container no longer exists)"
    if wrapped.status in ("exited", "dead"):
        return f"exited with code {wrapped.attrs.get('State', {}).get('ExitCode', '?')}"
    return None


def _container_log(container: DockerContainer) -> str:
    try:
        stdout, stderr = container.get_logs()
    except Exception:
        return ""
    return (stdout + stderr).decode(errors="replace")


class DockerRuntime:
    name = "docker"

    def __init__(self, run_dir: Path, network_mode: str = HOST, images: dict[str, str] | None = None) -> None:
        if network_mode not in (HOST, NETWORK):
            raise ValueError(f"network mode must be {HOST} or {NETWORK}, not {network_mode!r}")
        # The reaper container cannot be pulled everywhere, and this runtime removes its containers
        # itself: off, unless the user asked for it (TESTCONTAINERS_RYUK_DISABLED=false).
        if os.environ.get("TESTCONTAINERS_RYUK_DISABLED", "").lower() != "false":
            testcontainers_config.ryuk_disabled = True
        self.run_dir = run_dir.resolve()
        self.config_dir = self.run_dir / "config"
        self.log_dir = self.run_dir / "logs"
        self.network_mode = network_mode
        self.images = images or {}
        self.network_name = f"linkmatrix-{self.run_dir.name}"
        self._network: Network | None = None
        self._taken_ports: set[int] = set()
        self._containers: list[tuple[ServiceSpec, DockerContainer]] = []

    # -- what the rest of linkmatrix needs to know ------------------------------------------------
    @property
    def listen(self) -> str:
        """Where services bind inside their container."""
        return LOOPBACK if self.network_mode == HOST else "0.0.0.0"

    @property
    def taps_reach_backends(self) -> bool:
        """Whether the collector can send to a tap in this process (only on the host's network)."""
        return self.network_mode == HOST

    def peer_address(self, service: Service, port: str) -> str:
        """How one container reaches another's port."""
        if self.network_mode == HOST:
            return service.address(port)
        return f"{service.name}:{service.spec.ports[port]}"

    def __enter__(self) -> DockerRuntime:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_all()

    def allocate_ports(self, names: tuple[str, ...]) -> dict[str, int]:
        return {name: free_port(self._taken_ports) for name in names}

    def prepare(self, components: Sequence[Component], report: Notify) -> float:
        return 0.0  # images are pulled (or were built, --local-images) when a container starts

    def provide_all(self, components: Sequence[Component]) -> list[Service | Exception]:
        return provide_each(self, components)

    def provide(self, component: Component) -> Service:
        given = component.given()
        if given is not None:  # the user named a running instance: use it, never stop it
            return attach(component, given)
        return self.start(component.service(None, self.allocate_ports(component.ports), self.listen))

    # -- planning (pure) ---------------------------------------------------------------------------
    def _family_image(self, spec: ServiceSpec) -> str:
        """A service without an image of its own name (a collector gateway, Jaeger on Badger) runs
        what was chosen for the service whose official image it has (a local build, an override)."""
        return self.images.get(spec.image_family, spec.image) if spec.image_family else spec.image

    def plan(self, spec: ServiceSpec) -> ContainerPlan:
        base = ContainerPlan(
            name=spec.name,
            image=image_for(spec.name, self.images, default=self._family_image(spec)),
            args=tuple(spec.image_args),
            env={**spec.env, **spec.container_env},
            working_dir=None if spec.keeps_image_workdir else str(self.config_dir),
            volumes={str(self.run_dir): {"bind": str(self.run_dir), "mode": "rw"},
                     **{folder: {"bind": folder, "mode": "ro"} for folder in spec.reads}},
            labels={LABEL: self.run_dir.name},
        )
        if self.network_mode == HOST:
            return replace(base, network_mode="host")
        return replace(base, network=self.network_name, aliases=(spec.name,),
                       ports={f"{port}/tcp": (LOOPBACK, port) for port in spec.ports.values()})

    # -- running -----------------------------------------------------------------------------------
    def _write_configs(self, spec: ServiceSpec) -> None:
        write_configs(spec, self.config_dir)
        try:  # official images run as non-root users: they must be able to write their data and files
            for folder in (self.run_dir, self.config_dir):
                folder.chmod(0o777)
            self.log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ServiceError(spec.name, f"cannot prepare {self.run_dir}: {error.strerror or error}") from None

    def _container(self, plan: ContainerPlan, spec: ServiceSpec) -> DockerContainer:
        container = DockerContainer(plan.image).with_command(list(plan.args))
        for key, value in plan.env.items():
            container.with_env(key, value)
        for host_path, mount in plan.volumes.items():
            container.with_volume_mapping(host_path, mount["bind"], mount["mode"])
        kwargs: dict[str, Any] = {"labels": plan.labels}
        if plan.working_dir is not None:
            kwargs["working_dir"] = plan.working_dir
        if plan.network_mode:
            kwargs["network_mode"] = plan.network_mode
        else:
            container.with_network(self._ensure_network()).with_network_aliases(*plan.aliases)
            container.ports.update(plan.ports)  # type: ignore[arg-type]  # docker-py takes (host ip, port)
        container.with_kwargs(**kwargs)
        ready = spec.readiness
        container.waiting_for(LoopbackHttpWaitStrategy(spec.ports[ready.port], ready.path, ready.status)
                              .with_startup_timeout(int(ready.timeout)).with_poll_interval(0.25))
        return container

    def _ensure_network(self) -> Network:
        if self._network is None:
            self._network = Network()
            self._network.name = self.network_name
            self._network.create()
        return self._network

    def start(self, spec: ServiceSpec) -> Service:
        check_ports_free(spec)
        self._write_configs(spec)
        plan = self.plan(spec)
        try:
            container = self._container(plan, spec)
        except Exception as error:  # no daemon, a network that cannot be made
            raise ServiceError(spec.name, f"cannot prepare its container: {error}") from None
        started = time.monotonic()
        self._containers.append((spec, container))
        try:
            container.start()
        except Exception as error:
            tail = self._save_log(spec, container)
            raise ServiceError(spec.name, f"container from {plan.image} did not get ready: "
                                          f"{str(error).splitlines()[0] if str(error) else type(error).__name__}",
                               tail) from None
        return Service(spec, self.log_dir / f"{spec.name}.log", time.monotonic() - started,
                       exited=lambda: _container_exit(container), read_log=lambda: _container_log(container),
                       image=self._image_record(plan.image, container))

    @staticmethod
    def _image_record(reference: str, container: DockerContainer) -> dict[str, str]:
        try:
            image = container.get_wrapped_container().image
            digests = image.attrs.get("RepoDigests") or []
            return {"name": reference, "id": image.id, "digest": digests[0].split("@", 1)[1] if digests else ""}
        except Exception:
            return {"name": reference, "id": "", "digest": ""}

    def _save_log(self, spec: ServiceSpec, container: DockerContainer) -> str:
        try:
            stdout, stderr = container.get_logs()
        except Exception:
            return ""
        text = (stdout + stderr).decode(errors="replace")
        with contextlib.suppress(OSError):  # a full disk costs the copy of the log, not the clean-up
            (self.log_dir / f"{spec.name}.log").write_text(text)
        return "\n".join(text.splitlines()[-15:])

    def stop_all(self) -> None:
        """Save each log, stop (SIGTERM, then SIGKILL after the grace), remove; then the network."""
        while self._containers:
            spec, container = self._containers.pop()
            self._save_log(spec, container)
            try:
                wrapped = container.get_wrapped_container()
                if wrapped is not None:
                    # Not container.stop(): that kills at once; this is SIGTERM, grace, then SIGKILL.
                    wrapped.stop(timeout=int(max(spec.stop_grace, 1)))
                    wrapped.remove(force=True, v=True)
            except Exception:  # never created, or already gone
                pass
            finally:
                container.get_docker_client().client.close()
        self._remove_strays()
        if self._network is not None:
            with contextlib.suppress(Exception):
                self._network.remove()
            self._network = None

    def _remove_strays(self) -> None:
        """Containers of this run that linkmatrix never got a handle on (an interrupt can land
        while Docker creates one): found by the run's label, and removed."""
        import docker

        client = None
        try:
            client = docker.from_env()
            for attempt in range(3):  # a create that was in flight may land a moment later
                for container in client.containers.list(all=True, filters={"label": f"{LABEL}={self.run_dir.name}"}):
                    container.remove(force=True, v=True)
                if attempt < 2:
                    time.sleep(0.5)
        except Exception:  # no daemon any more: nothing left to remove either
            pass
        finally:
            if client is not None:
                client.close()
