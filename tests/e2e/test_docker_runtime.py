"""The docker runtime, live: containers started by testcontainers with host networking, from the
local look-alikes of the official images (same user, entrypoint, paths, ports and health check,
built from the same pinned binaries: official images cannot be pulled everywhere), run exactly as
the official ones would be. Its verdicts must equal the local runtime's. The look-alikes' own
contract is checked against tests/official_images.py, and each starts with its default command.

Skips when no Docker daemon answers — unless LINKMATRIX_REQUIRE_DOCKER=1 (CI), where that fails."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import docker
import pytest

from harness.backends import default_builds, default_look_alikes
from harness.report import to_document
from harness.run._matrix import RunSettings, run_matrix
from harness.scenario._scenario import load_all
from harness.stack.runtime._docker import LABEL, daemon_answers
from harness.stack.toolchain._builds import COLLECTOR, cache_dir
from tests.official_images import OFFICIAL, ZIPKIN_IDS

from .conftest import ROOT

SCENARIOS = ["cross-trace-attributes", "fan-in-via-headers", "invalid-context-links", "root-and-child-links"]
DAEMON_PROBLEM = daemon_answers()
if DAEMON_PROBLEM and os.environ.get("LINKMATRIX_REQUIRE_DOCKER") == "1":
    raise RuntimeError(f"LINKMATRIX_REQUIRE_DOCKER=1 but {DAEMON_PROBLEM}")
pytestmark = pytest.mark.skipif(DAEMON_PROBLEM is not None, reason=f"docker runtime tests skipped: {DAEMON_PROBLEM}")


@pytest.fixture(scope="module")
def local_images() -> dict[str, str]:
    """The look-alikes, built from the pinned backends (all a docker run of the defaults needs)."""
    from harness.stack.toolchain._images import build_local_images

    missing = [build.name for build in (COLLECTOR, *default_builds().values()) if not build.path(cache_dir()).exists()]
    if missing:
        pytest.fail(f"backends not built: {', '.join(missing)} — run `linkmatrix backends` first", pytrace=False)
    return build_local_images(default_look_alikes(), report=lambda message: None)


def containers_of(reports: Path) -> list[str]:
    """Containers of the runs whose folders are in `reports` (other runs may share the daemon)."""
    runs = {folder.name for folder in reports.iterdir() if folder.is_dir()} if reports.exists() else set()
    client = docker.from_env()
    try:
        return [c.name for c in client.containers.list(all=True, filters={"label": LABEL})
                if c.labels.get(LABEL) in runs]
    finally:
        client.close()


def run(runtime: str, reports: Path, images: dict[str, str]) -> dict[str, Any]:
    scenarios = load_all([ROOT / "scenarios" / f"{name}.yaml" for name in SCENARIOS])
    settings = RunSettings(scenarios=scenarios, reports_dir=reports, backends=["jaeger", "zipkin"],
                           runtime=runtime, images=images)
    return to_document(run_matrix(settings, notify=lambda message: None))


def verdicts(document: dict[str, Any]) -> dict[tuple, tuple]:
    return {(c["scenario"], c["pipeline"], c["feature"], c["backend"], c["read_path"]): (c["verdict"], c.get("changed_at"))
            for c in document["cells"]}


def test_docker_verdicts_equal_local_verdicts(local_images: dict[str, str], tmp_path: Path) -> None:
    in_docker = run("docker", tmp_path / "docker", local_images)
    on_host = run("local", tmp_path / "local", {})
    assert in_docker["run"]["problems"] == [] and on_host["run"]["problems"] == []
    assert in_docker["run"]["runtime"] == "docker" and in_docker["run"]["network_mode"] == "host"
    assert verdicts(in_docker) == verdicts(on_host)
    assert len(verdicts(in_docker)) > 50
    for column in in_docker["columns"]:
        assert column["runtime"] == "docker"
        assert column["image"]["name"] == local_images[column["backend"]]
        assert column["image"]["id"].startswith("sha256:")
    assert in_docker["run"]["services"]["collector"]["image"]["name"] == local_images["collector"]
    logs = next((tmp_path / "docker").iterdir()) / "logs"  # each container's log, saved before removal
    assert (logs / "jaeger.log").read_text().strip() and (logs / "collector.log").read_text().strip()
    assert containers_of(tmp_path / "docker") == []


def test_interrupting_a_docker_run_leaves_no_container(local_images: dict[str, str], tmp_path: Path) -> None:
    overrides = [arg for name, image in local_images.items() for arg in ("--image", f"{name}={image}")]
    process = subprocess.Popen([sys.executable, "-m", "harness", "run", "--runtime", "docker", "--backend", "jaeger",
                                "--backend", "zipkin", *overrides, "--reports", str(tmp_path)], cwd=ROOT, text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True).start()
    deadline, seen = time.monotonic() + 120, []
    while time.monotonic() < deadline and not any("Jaeger ready" in line for line in seen):
        with contextlib.suppress(queue.Empty):
            seen.append(lines.get(timeout=1))
    try:
        assert any("Jaeger ready" in line for line in seen), "".join(seen)
        assert containers_of(tmp_path), "containers should be running before the interrupt"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130
    finally:
        process.kill()
        process.stderr.close()
    assert containers_of(tmp_path) == []


def file_modes(image: str, paths: list[str]) -> dict[str, int | None]:
    """Each path's permission bits in the image (None: not there), read from a container never started."""
    client = docker.from_env()
    container = client.containers.create(image)
    try:
        modes: dict[str, int | None] = {}
        for path in paths:
            # HEAD of the archive endpoint: the path's stat alone (a GET would stream the file).
            answer = client.api.head(client.api._url("/containers/{0}/archive", container.id), params={"path": path})
            if answer.status_code == 404:
                modes[path] = None
                continue
            answer.raise_for_status()
            go_mode = json.loads(base64.b64decode(answer.headers["X-Docker-Container-Path-Stat"]))["mode"]
            # Go's os.FileMode: the sticky bit is 1 << 20
            modes[path] = (go_mode & 0o777) | (0o1000 if go_mode & (1 << 20) else 0)
        return modes
    finally:
        container.remove(force=True)
        client.close()


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_each_look_alike_declares_its_official_images_contract(local_images: dict[str, str], name: str) -> None:
    client = docker.from_env()
    try:
        config = client.images.get(local_images[name]).attrs["Config"]
    finally:
        client.close()
    official = OFFICIAL[name]
    for key in ("User", "Entrypoint", "Cmd", "Healthcheck"):
        assert config.get(key) == official[key], key
    assert (config.get("WorkingDir") or "") == official["WorkingDir"]
    assert sorted(config.get("ExposedPorts") or {}) == sorted(official["ExposedPorts"])
    assert sorted(config.get("Volumes") or {}) == sorted(official["Volumes"])
    env = dict(entry.split("=", 1) for entry in config.get("Env") or [])
    assert {key: env.get(key) for key in official["Env"]} == official["Env"]
    modes = file_modes(local_images[name], list(official["files"]))
    for path, mode in official["files"].items():
        assert modes[path] is not None, f"{path} is missing"
        if mode is not None:
            assert modes[path] == mode, path


READY_LINE = "Everything is ready"  # the collector's (and Jaeger's, a collector too) own words


def test_each_look_alike_starts_with_its_default_command_as_its_user(local_images: dict[str, str]) -> None:
    """`docker run IMAGE` with nothing else, as a user would first try it: in a network namespace of
    its own (its default listeners cannot clash with the host's ports), ready by its own account —
    the collector's and Jaeger's log, Zipkin's HEALTHCHECK — and running as the official image's user."""
    users = {"collector": "10001", "jaeger": "10001", "zipkin": str(ZIPKIN_IDS[0])}
    client = docker.from_env()
    started = {name: client.containers.run(image, detach=True, network_mode="none",
                                           labels={LABEL: "default-command-test"})
               for name, image in local_images.items()}
    try:
        deadline, ready = time.monotonic() + 90, set()
        while time.monotonic() < deadline and len(ready) < len(started):
            for name, container in started.items():
                container.reload()
                assert container.status == "running", f"{name} {container.status}: {container.logs()[-800:]!r}"
                health = container.attrs["State"].get("Health", {}).get("Status")
                if health == "healthy" or READY_LINE in container.logs().decode(errors="replace"):
                    ready.add(name)
            time.sleep(1)
        assert ready == set(started), f"not ready within 90 s: {sorted(set(started) - ready)}"
        for name, container in started.items():
            processes = container.top(ps_args="-o pid,uid,args")["Processes"]
            assert {process[1] for process in processes} == {users[name]}, (name, processes)
        assert started["zipkin"].attrs["State"]["Health"]["Status"] == "healthy"
    finally:
        for container in started.values():
            container.remove(force=True, v=True)
        client.close()


def test_with_a_runs_own_arguments_each_runs_as_its_user_and_zipkins_health_check_passes(
        local_images: dict[str, str], tmp_path: Path) -> None:
    """As a run starts them (host network, loopback listeners, its configs): still the image's user,
    and Docker's own health check of Zipkin asks where the server listens (HEALTHCHECK_IP)."""
    from harness.backends import BACKENDS
    from harness.stack.runtime._docker import DockerRuntime

    with DockerRuntime(tmp_path / "run", images=local_images) as runtime:
        for name in ("jaeger", "zipkin"):
            runtime.provide(BACKENDS[name])
        containers = {spec.name: container.get_wrapped_container() for spec, container in runtime._containers}
        deadline = time.monotonic() + 60
        while containers["zipkin"].attrs["State"]["Health"]["Status"] != "healthy" and time.monotonic() < deadline:
            time.sleep(1)
            containers["zipkin"].reload()
        assert containers["zipkin"].attrs["State"]["Health"]["Status"] == "healthy"
        for name, uid in (("jaeger", "10001"), ("zipkin", str(ZIPKIN_IDS[0]))):
            processes = containers[name].top(ps_args="-o pid,uid,args")["Processes"]
            assert {process[1] for process in processes} == {uid}, (name, processes)
