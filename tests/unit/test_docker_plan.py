"""The docker runtime's container specs, in both network modes (only host mode can run here), and
the fallback to local when no Docker daemon answers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.backends import BACKENDS
from harness.stack.runtime._base import Service
from harness.stack.runtime._choice import choose_runtime
from harness.stack.runtime._docker import HOST, NETWORK, DockerRuntime

PORTS = {"jaeger": {"otlp_grpc": 41001, "query_http": 41002, "query_grpc": 41003, "health": 41004, "otlp_http": 41005},
         "zipkin": {"http": 41005}}


def spec(runtime: DockerRuntime, name: str):
    return BACKENDS[name].service(None, PORTS[name], listen=runtime.listen)


def test_host_mode_shares_the_hosts_network_and_mounts_the_run_folder(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINKMATRIX_IMAGE_JAEGER", raising=False)
    runtime = DockerRuntime(tmp_path / "run-1", HOST)
    plan = runtime.plan(spec(runtime, "jaeger"))
    assert plan.image == "jaegertracing/jaeger:2.12.0"
    assert plan.network_mode == "host" and plan.network is None and plan.ports == {}
    assert plan.args == ("--config", "jaeger.yaml")
    run = str((tmp_path / "run-1").resolve())
    assert plan.volumes == {run: {"bind": run, "mode": "rw"}}  # same path inside: configs need no rewrite
    assert plan.working_dir == f"{run}/config"
    assert plan.labels == {"dev.linkmatrix.run": "run-1"}
    config = yaml.safe_load(spec(runtime, "jaeger").config_files["jaeger.yaml"])
    assert config["extensions"]["jaeger_query"]["http"]["endpoint"] == "127.0.0.1:41002"


def test_given_jaeger_ui_assets_are_mounted_read_only_where_the_config_says(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    assets = tmp_path / "jaeger-ui"
    assets.mkdir()
    runtime = DockerRuntime(tmp_path / "run-3", HOST)
    jaeger = BACKENDS["jaeger"].configured(options={"ui_assets": str(assets)}).service(None, PORTS["jaeger"],
                                                                                      listen=runtime.listen)
    assert "ui" not in yaml.safe_load(spec(runtime, "jaeger").config_files["jaeger.yaml"])["extensions"][
        "jaeger_query"]  # the table's own entry was not changed
    config = yaml.safe_load(jaeger.config_files["jaeger.yaml"])
    assert config["extensions"]["jaeger_query"]["ui"] == {"assets_path": str(assets.resolve())}
    assert runtime.plan(jaeger).volumes[str(assets.resolve())] == {"bind": str(assets.resolve()), "mode": "ro"}


def test_network_mode_publishes_on_loopback_and_uses_aliases(tmp_path: Path) -> None:
    runtime = DockerRuntime(tmp_path / "run-2", NETWORK)
    jaeger = spec(runtime, "jaeger")
    plan = runtime.plan(jaeger)
    assert plan.network_mode is None and plan.network == "linkmatrix-run-2" and plan.aliases == ("jaeger",)
    assert plan.ports == {f"{port}/tcp": ("127.0.0.1", port) for port in PORTS["jaeger"].values()}
    config = yaml.safe_load(jaeger.config_files["jaeger.yaml"])
    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == "0.0.0.0:41001"  # inside its container
    service = Service(jaeger, None, 0.0)
    assert runtime.peer_address(service, "otlp_grpc") == "jaeger:41001"  # how the collector reaches it
    assert not runtime.taps_reach_backends


def test_image_overrides_flag_beats_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKMATRIX_IMAGE_ZIPKIN", "mirror.example/zipkin:3.6.1")
    from_env = DockerRuntime(tmp_path / "a", HOST)
    assert from_env.plan(spec(from_env, "zipkin")).image == "mirror.example/zipkin:3.6.1"
    flagged = DockerRuntime(tmp_path / "b", HOST, images={"zipkin": "local/zipkin:dev"})
    plan = flagged.plan(spec(flagged, "zipkin"))
    assert plan.image == "local/zipkin:dev"
    # The image starts the server itself: it gets the app's arguments, JVM options by environment.
    assert plan.args[0].startswith("--armeria.ports[0].port=41005") and "java" not in plan.args
    assert "-Dcom.linecorp.armeria.useJdkDnsResolver=true" in plan.env["JAVA_OPTS"]


def test_a_service_of_another_name_runs_the_image_chosen_for_its_family(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.stack import _collector as pipeline
    monkeypatch.delenv("LINKMATRIX_IMAGE_COLLECTOR_GATEWAY", raising=False)
    monkeypatch.delenv("LINKMATRIX_IMAGE_JAEGER_BADGER", raising=False)
    runtime = DockerRuntime(tmp_path / "a", HOST, images={"collector": "local/collector:dev", "jaeger": "local/j:dev"})
    gateway = pipeline.collector_service(None, {"health": 1}, [], None, name=pipeline.GATEWAY)
    assert runtime.plan(gateway).image == "local/collector:dev"  # --local-images built it for "collector"
    badger = BACKENDS["jaeger-badger"].service(None, PORTS["jaeger"], listen=runtime.listen)
    assert runtime.plan(badger).image == "local/j:dev"
    assert DockerRuntime(tmp_path / "b", HOST).plan(gateway).image == "otel/opentelemetry-collector-contrib:0.161.0"
    # an earlier collector release runs that release's image, never the pinned one's local build
    earlier = pipeline.collector_service(None, {"health": 1}, [], None, name=pipeline.release_service("0.158.0"),
                                         image=f"{pipeline.CONTRIB_IMAGE}:0.158.0")
    assert runtime.plan(earlier).image == "otel/opentelemetry-collector-contrib:0.158.0"


def test_no_daemon_falls_back_to_local_and_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    runtime, why = choose_runtime("auto")
    assert runtime == "local"
    assert why.startswith("no Docker daemon answers") and why.endswith("falling back to local processes")
    assert "\n" not in why
    assert choose_runtime("docker") == ("docker", "asked for")
