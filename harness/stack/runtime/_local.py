"""The `local` runtime: each service is a process on 127.0.0.1, stopped however the run ends."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from ...model import LinkmatrixError, PortInUseError, ServiceError
from .._wait import wait_until
from ..toolchain import _builds as toolchain
from ._base import LOOPBACK, Component, Notify, Service, ServiceSpec, attach, check_ports_free, write_configs
from ._ports import free_port, holder, is_free

_PR_SET_PDEATHSIG = 1


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _prepare_child() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Undo the signal block of `_signals_held` (a mask survives exec), and if linkmatrix itself is
    killed (even by SIGKILL), have the kernel stop the child too."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while forking: a handler that raises inside Python's at-fork hooks
    is ignored, and the interrupt would be lost. Held, it is delivered right after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _exit_text(process: subprocess.Popen[bytes]) -> str | None:
    code = process.poll()
    if code is None:
        return None
    return f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"


def _is_stopped(process: subprocess.Popen[bytes]) -> bool:
    """Its process is stopped (state T: SIGSTOP, or t: a debugger holds it)."""
    try:
        stat = Path(f"/proc/{process.pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] in (["T"], ["t"])


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class LocalRuntime:
    """Each service a process on 127.0.0.1, from the pinned binaries in the cache."""

    name = "local"
    listen = LOOPBACK
    taps_reach_backends = True

    def __init__(self, run_dir: Path) -> None:
        self.config_dir = run_dir / "config"
        self.log_dir = run_dir / "logs"
        self._taken_ports: set[int] = set()
        self._binaries: dict[toolchain.Build, Path] = {}
        self._processes: list[tuple[ServiceSpec, subprocess.Popen[bytes]]] = []

    def __enter__(self) -> LocalRuntime:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_all()

    @staticmethod
    def peer_address(service: Service, port: str) -> str:
        return service.address(port)

    def allocate_ports(self, names: tuple[str, ...]) -> dict[str, int]:
        return {name: free_port(self._taken_ports) for name in names}

    def prepare(self, components: Sequence[Component], report: Notify) -> float:
        """Fetch or build (once, cached) the binary of every component that has one."""
        started = time.monotonic()
        builds = [c.build for c in components if c.build is not None and c.given() is None]
        self._binaries.update(toolchain.ensure_builds(builds, report=report) if builds else {})
        return time.monotonic() - started

    def provide(self, component: Component) -> Service:
        return self._launch(component)()

    def provide_all(self, components: Sequence[Component]) -> list[Service | Exception]:
        """Every component started at once: each process is forked here, in this thread (a child's
        parent-death signal is tied to the thread that forked it), and then all are waited for side
        by side; a component that failed is its exception, in its place."""
        launched: list[Callable[[], Service] | Exception] = []
        for component in components:
            try:
                launched.append(self._launch(component))
            except (LinkmatrixError, ValueError) as error:
                launched.append(error)

        def ready(item: Callable[[], Service] | Exception) -> Service | Exception:
            if isinstance(item, Exception):
                return item
            try:
                return item()
            except (LinkmatrixError, ValueError) as error:
                return error

        pool = ThreadPoolExecutor(max_workers=max(1, len(launched)), thread_name_prefix="linkmatrix-ready")
        try:
            return list(pool.map(ready, launched))
        finally:  # interrupted: the waits end once the runtime stops their processes
            pool.shutdown(wait=False, cancel_futures=True)

    def _launch(self, component: Component) -> Callable[[], Service]:
        """Start it now; the returned call waits until it is ready."""
        given = component.given()
        if given is not None:  # the user named a running instance: use it, never stop it
            return lambda: attach(component, given)
        build = component.build
        binary = self._binaries.get(build) if build is not None else None
        if build is not None and binary is None:
            binary = toolchain.ensure_builds([build], report=lambda message: None)[build]
        spec = component.service(binary, self.allocate_ports(component.ports), self.listen)
        wait = self._spawn(spec)

        def ready() -> Service:
            service = wait()
            service.binary = binary
            return service
        return ready

    def start(self, spec: ServiceSpec) -> Service:
        return self._spawn(spec)()

    def _spawn(self, spec: ServiceSpec) -> Callable[[], Service]:
        check_ports_free(spec)
        write_configs(spec, self.config_dir)
        log_path = self.log_dir / f"{spec.name}.log"
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log = open(log_path, "wb")  # noqa: SIM115 (closed below, once the child holds it)
        except OSError as error:  # a full disk, a read-only folder
            raise ServiceError(spec.name, f"cannot write its log under {self.log_dir}: "
                                          f"{error.strerror or error}") from None
        started = time.monotonic()
        with log, _signals_held():
            try:
                process = subprocess.Popen(
                    spec.command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    cwd=self.config_dir, env={**os.environ, **spec.env},
                    start_new_session=True,  # its own process group: Ctrl-C is ours to handle
                    preexec_fn=_prepare_child,
                    **_as_user(spec),
                )
            except OSError as error:
                if spec.cleanup is not None:
                    spec.cleanup()
                raise ServiceError(spec.name, f"cannot run {spec.command[0]}: {error.strerror}") from None
            self._processes.append((spec, process))  # known before a held signal is delivered

        def ready() -> Service:
            self._wait_ready(spec, process, log_path)
            return Service(spec, log_path, time.monotonic() - started,
                           exited=lambda: _exit_text(process), read_log=lambda: _read(log_path),
                           stopped=lambda: _is_stopped(process))
        return ready

    def _wait_ready(self, spec: ServiceSpec, process: subprocess.Popen[bytes], log_path: Path) -> None:
        ready = spec.readiness
        url = f"http://127.0.0.1:{spec.ports[ready.port]}{ready.path}"

        def probe() -> int:
            if process.poll() is not None:
                self._raise_died(spec, process, log_path)
            return requests.get(url, timeout=2).status_code

        try:
            wait_until(probe, lambda status: status == ready.status, timeout=ready.timeout,
                       what=f"{spec.name} readiness at {url}", describe=lambda status: f"HTTP {status}",
                       max_delay=0.5)
        except ServiceError:
            raise
        except Exception as error:
            raise ServiceError(spec.name, f"{error} (hint: its log is {log_path})", log_tail(log_path)) from None

    def _raise_died(self, spec: ServiceSpec, process: subprocess.Popen[bytes], log_path: Path) -> None:
        tail = log_tail(log_path)
        if "address already in use" in tail.lower():
            taken = [f"{port} ({holder(port)})" for port in spec.ports.values() if not is_free(port)]
            raise PortInUseError(spec.name, f"exited: a port was taken: {', '.join(taken) or 'unknown'}", tail)
        raise ServiceError(spec.name, f"exited with code {process.returncode} before it was ready", tail)

    def stop_all(self) -> None:
        """SIGTERM every service, wait its grace, then SIGKILL what is left."""
        with _signals_deferred():  # a second Ctrl-C must not cut the clean-up short
            stopping = [threading.Thread(target=stop_process_group, args=(process, spec.stop_grace))
                        for spec, process in self._processes]
            for thread in stopping:  # in parallel: the slowest grace bounds the whole clean-up
                thread.start()
            for thread in stopping:
                thread.join()
            for spec, _ in self._processes:
                if spec.cleanup is not None:
                    spec.cleanup()
            self._processes.clear()


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, _frame: received.append(signum))
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        signal.raise_signal(received[0])  # deliver it now that everything is stopped


def _as_user(spec: ServiceSpec) -> dict[str, Any]:
    """Popen's arguments that drop root for a server that refuses it (with no extra groups)."""
    if spec.run_as is None:
        return {}
    uid, gid = spec.run_as
    return {"user": uid, "group": gid, "extra_groups": []}


def stop_process_group(process: subprocess.Popen[bytes], grace: float) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        os.killpg(process.pid, signal.SIGCONT)  # a stopped server handles SIGTERM only once continued
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass  # a server that ignores SIGTERM (seen: an API hanging for minutes) gets SIGKILL
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
