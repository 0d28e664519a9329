"""Jaeger's storages, and the services some of them need, as dimensions of the matrix.

A storage is one record: its name (the backend is `jaeger-<name>`, the in-memory one plain
`jaeger`), Jaeger's `jaeger_storage` entry for it, and the service it needs running first, if
any. Links are often changed by the storage, not by Jaeger: each storage is its own column group.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ServiceError
from .runtime import LOOPBACK, Readiness, ServiceSpec
from .toolchain import IMAGES, OPENSEARCH

UNPRIVILEGED = "nobody"  # OpenSearch refuses to run as root: as root, it runs as this user
HEAP = "-Xms512m -Xmx512m"  # a test server's heap: bounded, and plenty for a run's spans


def _java_home() -> str:
    """The Java that runs Zipkin runs OpenSearch too (its test distribution bundles none)."""
    for variable in ("OPENSEARCH_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(variable):
            return os.environ[variable]
    java = shutil.which("java")
    if java is None:
        raise ServiceError("opensearch", "no `java` on PATH (Java 17+ runs OpenSearch); set JAVA_HOME")
    return str(Path(java).resolve().parent.parent)


def _unprivileged_ids() -> tuple[int, int] | None:
    """(uid, gid) to run as when linkmatrix runs as root; None otherwise."""
    if os.geteuid() != 0:
        return None
    try:
        user = pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        return 65534, 65534
    return user.pw_uid, user.pw_gid


def _unpack(archive: Path, owner: tuple[int, int] | None) -> Path:
    """The distribution, unpacked afresh into a folder of its own under the system's temp folder
    (reachable by an unprivileged user wherever the cache and the run folder are)."""
    home = Path(tempfile.mkdtemp(prefix="linkmatrix-opensearch-"))
    home.chmod(0o755)
    with zipfile.ZipFile(archive) as packed:
        packed.extractall(home)
        for member in packed.infolist():  # zipfile drops the exec bits the scripts need
            mode = member.external_attr >> 16
            if mode & stat.S_IXUSR:
                (home / member.filename).chmod(mode & 0o777)
    for folder in ("data", "logs"):
        (home / folder).mkdir()
    if owner is not None:
        for path in [home, *home.rglob("*")]:
            os.chown(path, *owner, follow_symlinks=False)
    return home


@dataclass(frozen=True)
class OpenSearch:
    """OpenSearch as a service a storage needs: 127.0.0.1 only, no security plugin (the test
    distribution has none), single node, a bounded heap."""

    name: str = "opensearch"
    title: str = "OpenSearch"
    component: str | None = OPENSEARCH.name
    ports: tuple[str, ...] = ("http", "transport")
    container_ports: dict[str, int] = field(default_factory=lambda: {"http": 9200, "transport": 9300})
    published_ports: dict[str, int] = field(default_factory=lambda: {"http": 9200})
    probe: Readiness = field(default_factory=lambda: Readiness(port="http", path="/"))

    def service(self, binary: Path | None, ports: dict[str, int], listen: str = LOOPBACK) -> ServiceSpec:
        settings = {"http.host": listen, "http.port": ports["http"], "transport.host": listen,
                    "transport.port": ports["transport"], "discovery.type": "single-node",
                    # A nearly full disk must not turn the index read-only in the middle of a run.
                    "cluster.routing.allocation.disk.threshold_enabled": "false"}
        container_env = {"DISABLE_SECURITY_PLUGIN": "true", "OPENSEARCH_JAVA_OPTS": HEAP,
                         **{key: str(value) for key, value in settings.items()}}
        if binary is None:  # a container: its image's own entrypoint, configured by environment
            return ServiceSpec(name=self.name, command=("opensearch",), readiness=Readiness("http", "/", timeout=120),
                               ports=ports, image=IMAGES[self.name], container_args=(),
                               container_env=container_env, stop_grace=10.0)
        owner = _unprivileged_ids()
        home = _unpack(binary, owner)
        distribution = next(home.glob("opensearch-*"))
        flags = [f"-E{key}={value}" for key, value in
                 {**settings, "path.data": home / "data", "path.logs": home / "logs"}.items()]
        return ServiceSpec(
            name=self.name, command=(str(distribution / "bin" / "opensearch"), *flags),
            readiness=Readiness(port="http", path="/", timeout=120), ports=ports,
            env={"OPENSEARCH_JAVA_HOME": _java_home(), "OPENSEARCH_JAVA_OPTS": HEAP},
            image=IMAGES[self.name], run_as=owner, cleanup=_remover(home), stop_grace=10.0)

    def given(self) -> dict[str, str] | None:
        return None


def _remover(home: Path) -> Callable[[], None]:
    return lambda: shutil.rmtree(home, ignore_errors=True)


@dataclass(frozen=True)
class Storage:
    """One of Jaeger's storages: its `jaeger_storage` backend entry, and what it needs running."""

    name: str
    title: str
    label: str  # in column titles: Jaeger-<label>
    config: Callable[[str, dict[str, str]], dict[str, Any]]  # (data dir, needs' "host:port") → entry
    needs: tuple[OpenSearch, ...] = ()
    # Why one read suffices (the report's "data age"), in this storage's words.
    data_age: str = ""


def _memory(data_dir: str, needs: dict[str, str]) -> dict[str, Any]:
    return {"memory": {"max_traces": 100000}}


def _badger(data_dir: str, needs: dict[str, str]) -> dict[str, Any]:
    return {"badger": {"directories": {"keys": f"{data_dir}/keys", "values": f"{data_dir}/values"},
                       "ephemeral": False, "ttl": {"spans": "1h"}}}


def _opensearch(data_dir: str, needs: dict[str, str]) -> dict[str, Any]:
    one_shard = {"shards": 1, "replicas": 0}  # a single node: replicas would leave the index yellow
    return {"opensearch": {"server_urls": [f"http://{needs['opensearch']}"],
                           "indices": {"index_prefix": "linkmatrix", "spans": one_shard, "services": one_shard}}}


MEMORY = Storage("memory", "in-memory", "Memory", _memory,
                 data_age="one read: its in-memory store keeps each span as it was received, so a later read "
                          "returns the same")
BADGER = Storage("badger", "Badger (embedded)", "Badger", _badger,
                 data_age="one read: Badger writes each span once, as received; a later read returns the same")
OPENSEARCH_STORAGE = Storage("opensearch", "OpenSearch 2.19.1", "OpenSearch", _opensearch, needs=(OpenSearch(),),
                             data_age="one read: each span is one document, written once; reads wait until the "
                                      "index shows every span")
STORAGES: dict[str, Storage] = {storage.name: storage for storage in (MEMORY, BADGER, OPENSEARCH_STORAGE)}
