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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ...model import ServiceError
from ...stack import LOOPBACK, MavenFile, Readiness, ServiceSpec, maven_release

# The search engines' runnable test distributions, which OpenSearch and Elasticsearch publish on Maven
# Central (a stack file's other release is checked against the SHA-1 published there). Change an
# engine's pin here and nowhere else.
OPENSEARCH = MavenFile(name="opensearch", version="2.19.1", group="org.opensearch.distribution.integ-test-zip",
                       artifact="opensearch", sha1="af4fbc753ec975e4f335e3cf514527c7fb216864", packaging="zip")
# Elasticsearch 8.x runs on Java 17 (9.x needs 21); Jaeger's storage speaks to 7.x and 8.x.
ELASTICSEARCH = MavenFile(name="elasticsearch", version="8.19.4",
                          group="org.elasticsearch.distribution.integ-test-zip", artifact="elasticsearch",
                          sha1="815443dcbc6948ba84805f5c1bf48cae314cee05", packaging="zip")

UNPRIVILEGED = "nobody"  # OpenSearch and Elasticsearch refuse to run as root: as root, they run as this user
HEAP = "-Xms512m -Xmx512m"  # a test server's heap: bounded, and plenty for a run's spans


def _java_home(engine: str) -> str:
    """The Java that runs Zipkin runs the search engine too (its test distribution bundles none)."""
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    java = shutil.which("java")
    if java is None:
        raise ServiceError(engine, f"no `java` on PATH (Java 17+ runs {engine}); set JAVA_HOME")
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


def _unpack(archive: Path, owner: tuple[int, int] | None, name: str) -> Path:
    """The distribution, unpacked afresh into a folder of its own under the system's temp folder
    (reachable by an unprivileged user wherever the cache and the run folder are)."""
    home = Path(tempfile.mkdtemp(prefix=f"linkmatrix-{name}-"))
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
class SearchEngine:
    """A search engine as a service a storage needs (OpenSearch, Elasticsearch): 127.0.0.1 only,
    security off, single node, a bounded heap. Locally its runnable test distribution (Maven
    Central) is unpacked afresh for each run and run as an unprivileged user when linkmatrix is root
    (both refuse root); in a container, its official image."""

    name: str
    title: str
    build: MavenFile  # its runnable distribution (the local runtime unpacks it)
    image: str  # its official image, for the docker runtime (override: --image NAME=REF)
    script: str  # bin/<script> of its distribution
    java_home_env: str  # the variables its launcher reads
    java_opts_env: str
    # Settings beyond the shared ones (security off where the distribution has the setting at all).
    local_settings: tuple[tuple[str, str], ...] = ()
    container_env: tuple[tuple[str, str], ...] = ()
    health: str = "/"  # a path its test distribution answers with 200 once it serves requests
    ports: tuple[str, ...] = ("http", "transport")
    container_ports: dict[str, int] = field(default_factory=lambda: {"http": 9200, "transport": 9300})
    published_ports: dict[str, int] = field(default_factory=lambda: {"http": 9200})

    @property
    def probe(self) -> Readiness:
        return Readiness(port="http", path=self.health)

    def service(self, binary: Path | None, ports: dict[str, int], listen: str = LOOPBACK) -> ServiceSpec:
        settings = {"http.host": listen, "http.port": ports["http"], "transport.host": listen,
                    "transport.port": ports["transport"], "discovery.type": "single-node",
                    # A nearly full disk must not turn the index read-only in the middle of a run.
                    "cluster.routing.allocation.disk.threshold_enabled": "false"}
        readiness = Readiness("http", self.health, timeout=120)
        if binary is None:  # a container: its image's own entrypoint, configured by environment
            return ServiceSpec(name=self.name, command=(self.script,), readiness=Readiness("http", "/", timeout=120),
                               ports=ports, image=self.image, container_args=(),
                               container_env={self.java_opts_env: HEAP, **dict(self.container_env),
                                              **{key: str(value) for key, value in settings.items()}},
                               stop_grace=10.0)
        owner = _unprivileged_ids()
        home = _unpack(binary, owner, self.name)
        distribution = next(home.glob(f"{self.name}-*"))
        flags = [f"-E{key}={value}" for key, value in
                 {**settings, **dict(self.local_settings), "path.data": home / "data",
                  "path.logs": home / "logs"}.items()]
        return ServiceSpec(
            name=self.name, command=(str(distribution / "bin" / self.script), *flags), readiness=readiness,
            ports=ports, env={self.java_home_env: _java_home(self.name), self.java_opts_env: HEAP},
            image=self.image, run_as=owner, cleanup=_remover(home), stop_grace=10.0)

    def given(self) -> dict[str, str] | None:
        return None


OPENSEARCH_ENGINE = SearchEngine("opensearch", "OpenSearch", OPENSEARCH, "opensearchproject/opensearch:2.19.1",
                                 "opensearch", "OPENSEARCH_JAVA_HOME",
                                 "OPENSEARCH_JAVA_OPTS",  # its test distribution has no security plugin
                                 container_env=(("DISABLE_SECURITY_PLUGIN", "true"),))
# Its test distribution has few REST handlers: no `GET /` (405), so readiness asks the cluster's health.
ELASTICSEARCH_ENGINE = SearchEngine("elasticsearch", "Elasticsearch", ELASTICSEARCH,
                                    "docker.elastic.co/elasticsearch/elasticsearch:8.19.4", "elasticsearch",
                                    "ES_JAVA_HOME", "ES_JAVA_OPTS",
                                    local_settings=(("xpack.security.enabled", "false"),),
                                    container_env=(("xpack.security.enabled", "false"),),
                                    health="/_cluster/health")


def _remover(home: Path) -> Callable[[], None]:
    return lambda: shutil.rmtree(home, ignore_errors=True)


@dataclass(frozen=True)
class Storage:
    """One of Jaeger's storages: its `jaeger_storage` backend entry, and what it needs running."""

    name: str
    title: str
    label: str  # in column titles: Jaeger-<label>
    config: Callable[[str, dict[str, str]], dict[str, Any]]  # (data dir, needs' "host:port") → entry
    needs: tuple[SearchEngine, ...] = ()
    # Why one read suffices (the report's "data age"), in this storage's words.
    data_age: str = ""


def _memory(data_dir: str, needs: dict[str, str]) -> dict[str, Any]:
    return {"memory": {"max_traces": 100000}}


def _badger(data_dir: str, needs: dict[str, str]) -> dict[str, Any]:
    return {"badger": {"directories": {"keys": f"{data_dir}/keys", "values": f"{data_dir}/values"},
                       "ephemeral": False, "ttl": {"spans": "1h"}}}


ONE_SHARD = {"shards": 1, "replicas": 0}  # a single node: replicas would leave the index yellow


def _opensearch(data_dir: str, needs: dict[str, str]) -> dict[str, Any]:
    return {"opensearch": {"server_urls": [f"http://{needs['opensearch']}"],
                           "indices": {"index_prefix": "linkmatrix", "spans": ONE_SHARD, "services": ONE_SHARD}}}


def _elasticsearch(data_dir: str, needs: dict[str, str]) -> dict[str, Any]:
    # Its version given, and no health check: both would ask `GET /`, which its test distribution lacks.
    return {"elasticsearch": {"server_urls": [f"http://{needs['elasticsearch']}"], "version": 8,
                              "disable_health_check": True,
                              "indices": {"index_prefix": "linkmatrix", "spans": ONE_SHARD, "services": ONE_SHARD}}}


MEMORY = Storage("memory", "in-memory", "Memory", _memory,
                 data_age="one read: its in-memory store keeps each span as it was received, so a later read "
                          "returns the same")
BADGER = Storage("badger", "Badger (embedded)", "Badger", _badger,
                 data_age="one read: Badger writes each span once, as received; a later read returns the same")
_DOCUMENTS = "one read: each span is one document, written once; reads wait until the index shows every span"
OPENSEARCH_STORAGE = Storage("opensearch", f"OpenSearch {OPENSEARCH.version}", "OpenSearch", _opensearch,
                             needs=(OPENSEARCH_ENGINE,), data_age=_DOCUMENTS)
ELASTICSEARCH_STORAGE = Storage("elasticsearch", f"Elasticsearch {ELASTICSEARCH.version}", "Elasticsearch",
                                _elasticsearch, needs=(ELASTICSEARCH_ENGINE,), data_age=_DOCUMENTS)
def storage_at(storage: Storage, version: str) -> Storage:
    """A search-engine storage at another release of its engine (fetched the way the pinned one is)."""
    needs = tuple(replace(engine, build=maven_release(engine.build, version)) for engine in storage.needs)
    return replace(storage, title=f"{storage.title.split()[0]} {version}", needs=needs)


def tagged(image: str, version: str) -> str:
    """An image reference with another tag (an engine's official image at another release)."""
    return f"{image.rpartition(':')[0]}:{version}"


STORAGES: dict[str, Storage] = {storage.name: storage
                                for storage in (MEMORY, BADGER, OPENSEARCH_STORAGE, ELASTICSEARCH_STORAGE)}
