"""Jaeger's storages are table entries: each writes its own storage config and names, OpenSearch
is a service they need (bounded heap, 127.0.0.1, unprivileged as root), and the CLI picks them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import yaml

from harness import cli
from harness.backends import BACKENDS
from harness.backends.jaeger import _storages as storages
from harness.backends.zipkin._release import ZIPKIN_PREVIOUS
from harness.model._errors import UsageError
from harness.stack.toolchain._builds import image_for

PORTS = {"otlp_grpc": 1, "query_http": 2, "query_grpc": 3, "health": 4, "otlp_http": 5}


def jaeger_config(name: str) -> dict:
    backend = BACKENDS[name]
    backend.peers = {"opensearch": "127.0.0.1:9", "elasticsearch": "127.0.0.1:8"}
    spec = backend.service(Path("jaeger"), PORTS)
    (config_name,) = spec.config_files
    assert config_name == f"{name}.yaml" and spec.name == name  # two Jaegers never share a file
    return yaml.safe_load(spec.config_files[config_name])["extensions"]["jaeger_storage"]["backends"]["store"]


def test_each_storage_writes_its_own_entry() -> None:
    assert jaeger_config("jaeger") == {"memory": {"max_traces": 100000}}
    badger = jaeger_config("jaeger-badger")["badger"]
    assert badger["directories"] == {"keys": "jaeger-badger-data/keys", "values": "jaeger-badger-data/values"}
    opensearch = jaeger_config("jaeger-opensearch")["opensearch"]
    assert opensearch["server_urls"] == ["http://127.0.0.1:9"] and opensearch["indices"]["spans"]["replicas"] == 0
    assert [r.label for r in BACKENDS["jaeger-opensearch"].read_paths][:1] == ["Jaeger-OpenSearch /api/v3"]
    assert [n.name for n in BACKENDS["jaeger-opensearch"].needs] == ["opensearch"]
    elastic = jaeger_config("jaeger-elasticsearch")["elasticsearch"]
    # its test distribution has no `GET /`: the version is given and the health check is off
    assert elastic["server_urls"] == ["http://127.0.0.1:8"] and elastic["version"] == 8
    assert elastic["disable_health_check"] is True


def test_a_default_run_has_jaeger_in_memory_and_storages_only_when_asked() -> None:
    assert cli._default_backends("default") == ("jaeger", "tempo", "zipkin")
    assert cli._default_backends("all") == ("jaeger", "tempo", "zipkin", "jaeger-badger", "jaeger-opensearch",
                                            "jaeger-elasticsearch")
    assert cli._default_backends("badger") == ("jaeger", "tempo", "zipkin", "jaeger-badger")
    with pytest.raises(UsageError, match="--storages: no 'cassandra'"):
        cli._default_backends("cassandra")
    assert cli._default_backends("default", "all")[-2:] == ("jaeger-2.11.0", "zipkin-2.27.0")
    assert cli._default_backends("default", "zipkin-2.27.0")[-1] == "zipkin-2.27.0"
    with pytest.raises(UsageError, match=r"--versions: no 'zipkin-1\.0'"):
        cli._default_backends("default", "zipkin-1.0")
    earlier = BACKENDS["zipkin-2.27.0"]
    assert (earlier.family, earlier.release, earlier.build, earlier.default) == (
        "zipkin", "2.27.0", ZIPKIN_PREVIOUS, False)
    assert BACKENDS["jaeger-2.11.0"].read_paths[0].label == "Jaeger 2.11.0 /api/v3"
    assert image_for("jaeger-badger", default=BACKENDS["jaeger-badger"].image) == "jaegertracing/jaeger:2.12.0"


@pytest.mark.parametrize("engine, home_env, opts_env, extra", [
    (storages.OPENSEARCH_ENGINE, "OPENSEARCH_JAVA_HOME", "OPENSEARCH_JAVA_OPTS", None),
    (storages.ELASTICSEARCH_ENGINE, "ES_JAVA_HOME", "ES_JAVA_OPTS", "-Expack.security.enabled=false"),
])
def test_a_search_engine_runs_unpacked_afresh_bounded_and_on_loopback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: storages.SearchEngine, home_env: str,
        opts_env: str, extra: str | None) -> None:
    archive = tmp_path / f"{engine.name}.zip"
    with zipfile.ZipFile(archive, "w") as packed:
        info = zipfile.ZipInfo(f"{engine.name}-1.0.0/bin/{engine.script}")
        info.external_attr = 0o755 << 16
        packed.writestr(info, "#!/bin/sh\n")
    monkeypatch.setattr(storages, "_unprivileged_ids", lambda: None)
    monkeypatch.setenv("JAVA_HOME", "/opt/java")
    spec = engine.service(archive, {"http": 5, "transport": 6})
    program = Path(spec.command[0])
    try:
        assert program.name == engine.script and program.stat().st_mode & 0o100
        assert "-Ehttp.host=127.0.0.1" in spec.command and "-Ediscovery.type=single-node" in spec.command
        assert spec.env == {home_env: "/opt/java", opts_env: storages.HEAP}
        assert extra is None or extra in spec.command
        assert spec.readiness.path == engine.health and spec.run_as is None
    finally:
        assert spec.cleanup is not None
        spec.cleanup()
    assert not program.exists()  # its unpacked folder goes with it


def test_the_nightly_image_list_names_each_storage_engines_official_image(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engines' images come from Jaeger's storages (no longer from the stack's table)."""
    from click.testing import CliRunner

    from harness.nightly import nightly

    for name in ("OPENSEARCH", "ELASTICSEARCH", "JAEGER", "COLLECTOR"):
        monkeypatch.delenv(f"LINKMATRIX_IMAGE_{name}", raising=False)
    listed = CliRunner().invoke(nightly, ["images", "--storages", "all"]).output.split()
    assert {"opensearchproject/opensearch:2.19.1", "docker.elastic.co/elasticsearch/elasticsearch:8.19.4",
            "jaegertracing/jaeger:2.12.0"} <= set(listed)
    assert CliRunner().invoke(nightly, ["images"]).output.split() == [
        "grafana/tempo:3.0.3", "jaegertracing/jaeger:2.12.0", "openzipkin/zipkin:3.6.1",
        "otel/opentelemetry-collector-contrib:0.161.0"]
