"""The local runtime with small real processes: readiness, a taken port, a process that ignores SIGTERM."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness.model._errors import PortInUseError, ServiceError
from harness.stack.runtime._base import Readiness, ServiceSpec
from harness.stack.runtime._local import LocalRuntime

HTTP_SERVER = "import http.server, sys; http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), http.server.SimpleHTTPRequestHandler).serve_forever()"
IGNORES_SIGTERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(120)"


def spec(name: str, code: str, port: int, *args: str, timeout: float = 10, grace: float = 5) -> ServiceSpec:
    return ServiceSpec(name=name, command=(sys.executable, "-c", code, *args),
                       readiness=Readiness(port="http", path="/", timeout=timeout), ports={"http": port},
                       config_files={f"{name}.conf": "x"}, stop_grace=grace)


def test_start_waits_for_readiness_writes_config_and_log_and_stops(tmp_path: Path) -> None:
    with LocalRuntime(tmp_path) as runtime:
        port = runtime.allocate_ports(("http",))["http"]
        service = runtime.start(spec("web", HTTP_SERVER, port, str(port)))
        assert service.url("http") == f"http://127.0.0.1:{port}"
        assert (tmp_path / "config" / "web.conf").read_text() == "x"
        pid = runtime._processes[0][1].pid
        assert psutil.pid_exists(pid)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert service.log_path == tmp_path / "logs" / "web.log"


def test_a_taken_port_names_who_holds_it(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with LocalRuntime(tmp_path) as runtime, pytest.raises(PortInUseError) as caught:
            runtime.start(spec("web", HTTP_SERVER, port, str(port)))
    assert f"port {port} (http) on 127.0.0.1 is taken by pid {os.getpid()}" in str(caught.value)


def test_a_service_that_dies_reports_its_log(tmp_path: Path) -> None:
    with LocalRuntime(tmp_path) as runtime:
        port = runtime.allocate_ports(("http",))["http"]
        with pytest.raises(ServiceError) as caught:
            runtime.start(spec("broken", "import sys; print('bad config: no such field'); sys.exit(3)", port))
    assert "exited with code 3 before it was ready" in str(caught.value)
    assert "bad config: no such field" in caught.value.log_tail


def test_readiness_timeout_names_the_endpoint(tmp_path: Path) -> None:
    with LocalRuntime(tmp_path) as runtime:
        port = runtime.allocate_ports(("http",))["http"]
        with pytest.raises(ServiceError) as caught:
            runtime.start(spec("mute", "import time; time.sleep(60)", port, timeout=1))
        pid = runtime._processes[0][1].pid
    assert f"readiness at http://127.0.0.1:{port}/" in str(caught.value)
    assert "its log is" in str(caught.value)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_process_ignoring_sigterm_is_killed_after_its_grace(tmp_path: Path) -> None:
    runtime = LocalRuntime(tmp_path)
    port = runtime.allocate_ports(("http",))["http"]
    with pytest.raises(ServiceError):  # never ready; we only need it running
        runtime.start(spec("stubborn", IGNORES_SIGTERM, port, timeout=1, grace=0.5))
    process = runtime._processes[0][1]
    started = time.monotonic()
    runtime.stop_all()
    assert time.monotonic() - started < 5
    assert process.returncode is not None and process.returncode < 0  # killed by a signal


def test_a_service_that_dies_after_it_was_ready_says_how(tmp_path: Path) -> None:
    with LocalRuntime(tmp_path) as runtime:
        port = runtime.allocate_ports(("http",))["http"]
        service = runtime.start(spec("web", HTTP_SERVER, port, str(port)))
        assert service.death_notice() is None
        runtime._processes[0][1].kill()
        runtime._processes[0][1].wait()
        notice = service.death_notice()
        assert notice is not None and notice.startswith("web was killed by signal 9 during the run")


def test_components_start_side_by_side_and_a_failure_takes_only_its_own_place(tmp_path: Path) -> None:
    """Two services forked in this thread, then waited for together: ready in about the time of
    the slower one, not the sum; one that cannot start is its exception, in its place."""
    from harness.stack.runtime._local import LocalRuntime

    class Sleepy:
        """A server that answers only after `delay` seconds."""

        def __init__(self, name: str, delay: float, program: str = sys.executable) -> None:
            self.name, self.title, self.build = name, name, None
            self.ports, self.delay, self.program = ("http",), delay, program

        def given(self) -> None:
            return None

        def service(self, binary: object, ports: dict[str, int], listen: str) -> ServiceSpec:
            code = (f"import time, http.server; time.sleep({self.delay}); "
                    f"http.server.HTTPServer(('127.0.0.1', {ports['http']}), http.server.SimpleHTTPRequestHandler)"
                    ".serve_forever()")
            return ServiceSpec(self.name, (self.program, "-c", code), Readiness("http", "/", timeout=20), ports)

    with LocalRuntime(tmp_path) as runtime:
        started = time.monotonic()
        results = runtime.provide_all([Sleepy("a", 1.5), Sleepy("b", 1.5), Sleepy("c", 0, "/nonexistent/program")])
        took = time.monotonic() - started
    assert [type(r).__name__ for r in results] == ["Service", "Service", "ServiceError"]
    assert took < 2.8, took  # side by side: not 3 s one after the other
