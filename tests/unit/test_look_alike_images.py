"""The local look-alikes keep their official images' contract (tests/official_images.py, read from
the official build files): the Dockerfiles they are built from, the files their build contexts put
where the official images have them, Zipkin's start script, and the docker runtime's plan, which
is the same whichever image it runs. No Docker, Go or Java needed."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.backends import BACKENDS, default_look_alikes
from harness.backends.jaeger._release import JAEGER
from harness.backends.zipkin import _look_alike as zipkin_look_alike
from harness.backends.zipkin._release import ZIPKIN
from harness.stack.runtime._docker import HOST, NETWORK, DockerRuntime
from harness.stack.toolchain import _images as look_alikes
from harness.stack.toolchain._builds import COLLECTOR
from tests.official_images import OFFICIAL, ZIPKIN_IDS


def instructions(dockerfile: str) -> dict[str, list[str]]:
    """Instruction → its arguments, each time it appears."""
    found: dict[str, list[str]] = {}
    for line in dockerfile.splitlines():
        keyword, _, rest = line.partition(" ")
        found.setdefault(keyword, []).append(rest)
    return found


def inspected_config(dockerfile: str) -> dict[str, Any]:
    """What `docker image inspect` would report under Config for a Dockerfile of these instructions."""
    seen = instructions(dockerfile)

    def last(keyword: str) -> str | None:
        return seen[keyword][-1] if keyword in seen else None

    healthcheck = None
    if (check := last("HEALTHCHECK")) is not None:
        options, _, command = check.partition(" CMD ")
        flags = dict(option.lstrip("-").split("=") for option in options.split())
        seconds = {key: int(value.rstrip("s")) * 1_000_000_000 for key, value in flags.items()}
        healthcheck = {"Test": ["CMD", *json.loads(command)], "Interval": seconds["interval"],
                       "Timeout": seconds["timeout"], "StartPeriod": seconds["start-period"]}
    env = dict(entry.split("=", 1) for entry in seen.get("ENV", []))
    return {
        "User": last("USER"),
        "Entrypoint": json.loads(last("ENTRYPOINT") or "null"),
        "Cmd": json.loads(last("CMD") or "null"),
        "WorkingDir": last("WORKDIR") or "",
        "ExposedPorts": [f"{port}/tcp" for line in seen.get("EXPOSE", []) for port in line.split()],
        "Volumes": [volume for line in seen.get("VOLUME", []) for volume in json.loads(line)],
        "Healthcheck": healthcheck,
        "Env": {key: json.loads(value) for key, value in env.items()},
        "From": seen["FROM"],
    }


# The look-alikes `linkmatrix images` builds: the collector's, and those of the backends a default run starts.
LOOK_ALIKES = {look_alike.name: look_alike for look_alike in (look_alikes.COLLECTOR_LOOK_ALIKE, *default_look_alikes())}


def recipe_dockerfile(name: str) -> str:
    recipe = look_alikes.Recipe(name, LOOK_ALIKES[name].contract)
    return look_alikes.dockerfile(recipe)


def test_the_look_alikes_are_the_collectors_jaegers_and_zipkins() -> None:
    assert sorted(LOOK_ALIKES) == ["collector", "jaeger", "zipkin"]


@pytest.mark.parametrize("name", sorted(LOOK_ALIKES))
def test_each_dockerfile_declares_what_the_official_one_does(name: str) -> None:
    config = inspected_config(recipe_dockerfile(name))
    official = OFFICIAL[name]
    assert config["From"] == ["scratch"]  # no registry here: everything else is copied in
    for key in ("User", "Entrypoint", "Cmd", "WorkingDir", "Volumes", "Healthcheck"):
        assert config[key] == official[key], key
    assert sorted(config["ExposedPorts"]) == sorted(official["ExposedPorts"])
    assert {key: config["Env"].get(key) for key in official["Env"]} == official["Env"]


def test_zipkins_java_runtime_is_on_path_first_as_in_its_java_base_image() -> None:
    recipe = look_alikes.Recipe("zipkin", zipkin_look_alike.ZIPKIN_CONTRACT,
                                extra_env=(("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk"),
                                           ("PATH", "/usr/lib/jvm/java-17-openjdk/bin:/usr/bin:/bin")),
                                owned_copies=(("app", "/zipkin", "1000:1000"),))
    dockerfile = look_alikes.dockerfile(recipe)
    env = inspected_config(dockerfile)["Env"]
    assert env["PATH"].split(":")[0] == f"{env['JAVA_HOME']}/bin"
    assert f"COPY --chown={ZIPKIN_IDS[0]}:{ZIPKIN_IDS[1]} app/ /zipkin/" in dockerfile  # its user owns its files


def test_look_alikes_are_tagged_with_the_pinned_versions_and_name_their_official_image() -> None:
    assert look_alikes.local_images(list(LOOK_ALIKES.values())) == {"collector": f"linkmatrix-local/collector:{COLLECTOR.version}",
                                          "jaeger": f"linkmatrix-local/jaeger:{JAEGER.version}",
                                          "zipkin": f"linkmatrix-local/zipkin:{ZIPKIN.version}"}
    assert LOOK_ALIKES["jaeger"].official_image == f"jaegertracing/jaeger:{JAEGER.version}"
    assert LOOK_ALIKES["collector"].official_image == f"otel/opentelemetry-collector-contrib:{COLLECTOR.version}"
    assert LOOK_ALIKES["zipkin"].official_image == f"openzipkin/zipkin:{ZIPKIN.version}"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("name", ["collector", "jaeger"])
def test_go_build_contexts_put_files_where_the_official_images_have_them(name: str, tmp_path: Path) -> None:
    binary = tmp_path / "program"
    binary.write_bytes(b"\x7fELF not really")
    context = tmp_path / "context"
    context.mkdir()
    LOOK_ALIKES[name].prepare(context, binary)
    root = context / "rootfs"
    for path, mode in OFFICIAL[name]["files"].items():
        placed = root / path.lstrip("/")
        assert placed.exists(), path
        if mode is not None:
            assert mode_of(placed) == mode, path
    assert (root / "otelcol-contrib" if name == "collector" else root / "cmd/jaeger/jaeger-linux").read_bytes() \
        == binary.read_bytes()


def test_the_collectors_default_config_uses_only_components_of_the_pinned_build() -> None:
    import yaml

    config = yaml.safe_load(look_alikes.COLLECTOR_DEFAULT_CONFIG)
    built = yaml.safe_load((Path(look_alikes.__file__).parent / COLLECTOR.manifest).read_text())
    kinds = {kind: {entry["gomod"].split()[0].rsplit("/", 1)[1] for entry in built[kind]}
             for kind in ("receivers", "processors", "exporters", "extensions")}
    for kind, components in kinds.items():
        for component in config[kind]:
            assert any(module.startswith(component.replace("_", "")) for module in components), (kind, component)
    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == "0.0.0.0:4317"


def run_start_script(tmp_path: Path, env: dict[str, str], *args: str) -> list[str]:
    """start-zipkin with a `java` that prints its arguments, one a line."""
    script = tmp_path / "start-zipkin"
    script.write_text(zipkin_look_alike.ZIPKIN_START.format(launcher="org.springframework.boot.loader.launch."
                                                                "PropertiesLauncher"))
    script.chmod(0o755)
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text('#!/bin/sh\nfor word in "$@"; do echo "$word"; done\necho "HEALTHCHECK_PORT=$HEALTHCHECK_PORT"\n')
    java.chmod(0o755)
    environment = {"PATH": f"{java.parent}:{os.environ['PATH']}", **env}
    output = subprocess.run(["sh", str(script), *args], env=environment, capture_output=True, text=True,
                            check=True, cwd=tmp_path).stdout
    return output.splitlines()


def test_zipkin_start_script_takes_java_opts_and_passes_arguments_on(tmp_path: Path) -> None:
    words = run_start_script(tmp_path, {"JAVA_OPTS": "-Xmx512m -Dx=y", "MODULE_OPTS": "", "QUERY_PORT": "41005"},
                             "--armeria.ports[0].port=41005")
    assert words == ["-Xmx512m", "-Dx=y", "-cp", ".", "-Dlog4j2.disable.jmx=true",
                     "org.springframework.boot.loader.launch.PropertiesLauncher", "--armeria.ports[0].port=41005",
                     "HEALTHCHECK_PORT=41005"]


def test_zipkin_start_script_defaults_the_in_memory_heap_as_the_official_one(tmp_path: Path) -> None:
    words = run_start_script(tmp_path, {"MODULE_OPTS": ""})
    assert words[:3] == ["-Xms160m", "-Xmx160m", "-XX:+ExitOnOutOfMemoryError"]
    assert words[-1] == "HEALTHCHECK_PORT=9411"


PORTS = {"jaeger": {"otlp_grpc": 41001, "query_http": 41002, "query_grpc": 41003, "health": 41004, "otlp_http": 41006},
         "zipkin": {"http": 41005}}


@pytest.mark.parametrize("mode", [HOST, NETWORK])
@pytest.mark.parametrize("name", ["jaeger", "zipkin"])
def test_the_runtime_runs_a_look_alike_exactly_as_its_official_image(name: str, mode: str, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(f"LINKMATRIX_IMAGE_{name.upper()}", raising=False)
    official = DockerRuntime(tmp_path / "run", mode)
    look_alikes_here = look_alikes.local_images(list(LOOK_ALIKES.values()))
    local = DockerRuntime(tmp_path / "run", mode, images=look_alikes_here)
    spec = BACKENDS[name].service(None, PORTS[name], listen=official.listen)
    official_plan, local_plan = official.plan(spec), local.plan(spec)
    assert official_plan.image == LOOK_ALIKES[name].official_image
    assert local_plan.image == look_alikes_here[name]
    assert {**vars(local_plan), "image": ""} == {**vars(official_plan), "image": ""}


def test_zipkin_runs_from_its_images_workdir_with_jvm_options_its_start_script_reads(tmp_path: Path) -> None:
    runtime = DockerRuntime(tmp_path / "run", HOST)
    plan = runtime.plan(BACKENDS["zipkin"].service(None, PORTS["zipkin"], listen=runtime.listen))
    assert plan.working_dir is None  # its start script runs the server from /zipkin (`-cp .`)
    assert "-Xmx512m" in plan.env["JAVA_OPTS"]
    assert "JDK_JAVA_OPTIONS" not in plan.env  # the java launcher would apply the options a second time
    assert plan.env["HEALTHCHECK_IP"] == "127.0.0.1"  # its health check asks where the server listens
    in_network = DockerRuntime(tmp_path / "run2", NETWORK)
    assert "HEALTHCHECK_IP" not in in_network.plan(BACKENDS["zipkin"].service(None, PORTS["zipkin"],
                                                                              listen=in_network.listen)).env


def test_go_services_start_in_the_config_folder_as_their_images_set_no_workdir(tmp_path: Path) -> None:
    assert OFFICIAL["jaeger"]["WorkingDir"] == "" and OFFICIAL["collector"]["WorkingDir"] == ""
    runtime = DockerRuntime(tmp_path / "run", HOST)
    plan = runtime.plan(BACKENDS["jaeger"].service(None, PORTS["jaeger"], listen=runtime.listen))
    assert plan.working_dir == str((tmp_path / "run" / "config").resolve())


class FakeImage:
    def __init__(self, image_id: str, labels: dict[str, str]) -> None:
        self.id, self.labels = image_id, labels


class FakeImages:
    """The part of docker-py's client.images that building uses."""

    def __init__(self, existing: FakeImage | None) -> None:
        self.existing = existing
        self.built: list[tuple[str, str]] = []  # (tag, Dockerfile)
        self.removed: list[str] = []

    def get(self, reference: str) -> FakeImage:
        import docker

        if self.existing is None:
            raise docker.errors.ImageNotFound(reference)
        return self.existing

    def build(self, path: str, tag: str, rm: bool) -> None:
        self.built.append((tag, (Path(path) / "Dockerfile").read_text()))

    def remove(self, image_id: str) -> None:
        self.removed.append(image_id)


class FakeClient:
    def __init__(self, existing: FakeImage | None) -> None:
        self.images = FakeImages(existing)


@pytest.fixture
def collector_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LINKMATRIX_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    binary = tmp_path / "otelcol"
    binary.write_bytes(b"program")
    return binary


COLLECTOR_LOOK_ALIKE = look_alikes.COLLECTOR_LOOK_ALIKE


def test_a_look_alike_built_from_the_same_recipe_is_reused(collector_binary: Path) -> None:
    digest = look_alikes.recipe_digest(COLLECTOR_LOOK_ALIKE, collector_binary)
    client = FakeClient(FakeImage("sha256:old", {look_alikes.RECIPE_LABEL: digest}))
    look_alikes._build_if_changed(client, COLLECTOR_LOOK_ALIKE, collector_binary, lambda line: None)
    assert client.images.built == [] and client.images.removed == []


def test_a_look_alike_from_an_earlier_recipe_is_rebuilt_and_the_old_image_removed(collector_binary: Path) -> None:
    old = FakeImage("sha256:old", {look_alikes.RECIPE_LABEL: "earlier", look_alikes.LOOK_ALIKE_LABEL: "collector"})
    client = FakeClient(old)
    look_alikes._build_if_changed(client, COLLECTOR_LOOK_ALIKE, collector_binary, lambda line: None)
    [(tag, dockerfile)] = client.images.built
    assert tag == f"linkmatrix-local/collector:{COLLECTOR.version}"
    labels = instructions(dockerfile)["LABEL"]
    assert f'{look_alikes.RECIPE_LABEL}="{look_alikes.recipe_digest(COLLECTOR_LOOK_ALIKE, collector_binary)}"' in labels
    assert f'{look_alikes.OFFICIAL_LABEL}="{COLLECTOR_LOOK_ALIKE.official_image}"' in labels
    assert client.images.removed == ["sha256:old"]


def test_a_backends_recipe_module_is_part_of_its_digest(collector_binary: Path) -> None:
    """Editing Jaeger's contract or files (in its folder) rebuilds its look-alike."""
    jaeger = LOOK_ALIKES["jaeger"]
    assert jaeger.recipe_module.endswith("backends/jaeger/_look_alike.py")
    assert look_alikes.recipe_digest(jaeger, collector_binary) != look_alikes.recipe_digest(
        dataclasses.replace(jaeger, recipe_module=look_alikes.__file__), collector_binary)
