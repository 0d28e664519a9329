"""Local look-alikes of the official images, for the docker runtime where those cannot be pulled
(CI, air-gapped machines).

Each keeps its official image's contract — the user it runs as, its entrypoint and default
command, working directory, where its config file (and anything else a user mounts or reads)
lives, its exposed ports, environment, volumes and health check — and differs only in where the
binary comes from: the pinned builds `linkmatrix backends` made instead of the projects' release
builds. So the docker runtime runs a look-alike exactly as it runs the official image (same args,
same mounts), and what is tested here is what a user runs. Each is FROM scratch (no registry),
with what the official base layer gives the program: CA certificates, /tmp, the user's
/etc/passwd entry, and for Zipkin a shell (a static BusyBox, as Alpine's own) and a Java runtime
made by `jlink` with the official image's modules.

The collector's recipe is here; a backend's (its contract and files) is in its folder, handed in by
its adapter's `look_alike()`; the generic pieces (the Dockerfile, CA bundle, /tmp, a static
BusyBox, a jlink'ed Java runtime) are here for them. Tempo is never built (AGPL): the README writes
down its image's contract instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ...model import ToolchainError
from ._builds import COLLECTOR, Build, cache_dir, ensure_builds

REPOSITORY = "linkmatrix-local"
LOOK_ALIKE_LABEL = "dev.linkmatrix.local-image"  # value: the service it is for
OFFICIAL_LABEL = "dev.linkmatrix.look-alike-of"  # value: the official image it stands in for
RECIPE_LABEL = "dev.linkmatrix.recipe"  # value: digest of how it was made; a change rebuilds it

# Where Debian, Alpine and Ubuntu (first) or Fedora keep the CA bundle the official images copy in.
CA_BUNDLES = (Path("/etc/ssl/certs/ca-certificates.crt"), Path("/etc/pki/tls/certs/ca-bundle.crt"))
OFFICIAL_CA_PATH = "/etc/ssl/certs/ca-certificates.crt"


@dataclass(frozen=True)
class Healthcheck:
    """A Dockerfile HEALTHCHECK."""

    command: tuple[str, ...]
    interval: str
    timeout: str
    start_period: str


@dataclass(frozen=True)
class ImageContract:
    """What a user's `docker run` of an official image relies on."""

    repository: str  # the official image's name, without the tag
    user: str  # as in its Dockerfile's USER: "uid", "uid:gid" or a name from its /etc/passwd
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...] = ()
    workdir: str | None = None  # None: it sets none, so a container starts in /
    env: tuple[tuple[str, str], ...] = ()
    expose: tuple[int, ...] = ()
    volumes: tuple[str, ...] = ()
    healthcheck: Healthcheck | None = None
    config_path: str | None = None  # the config file its default command reads


# otel/opentelemetry-collector-contrib: distributions/otelcol-contrib/Dockerfile of
# opentelemetry-collector-releases (FROM scratch, CA bundle from Alpine).
COLLECTOR_CONTRACT = ImageContract(
    repository="otel/opentelemetry-collector-contrib", user="10001:10001", entrypoint=("/otelcol-contrib",),
    cmd=("--config", "/etc/otelcol-contrib/config.yaml"), expose=(4317, 4318, 55679),
    config_path="/etc/otelcol-contrib/config.yaml")



# -- the Dockerfile (pure) ------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipe:
    """A look-alike's Dockerfile: its contract, plus what only the look-alike has to say."""

    name: str
    contract: ImageContract
    extra_env: tuple[tuple[str, str], ...] = ()  # what its base layer sets (Zipkin's Java runtime)
    owned_copies: tuple[tuple[str, str, str], ...] = ()  # (context folder, image path, owner)
    labels: dict[str, str] = field(default_factory=dict)


def _json(words: tuple[str, ...]) -> str:
    return json.dumps(list(words))


def dockerfile(recipe: Recipe) -> str:
    """FROM scratch, the prepared root filesystem, then every instruction of the contract."""
    contract = recipe.contract
    lines = ["FROM scratch", "COPY rootfs/ /"]
    lines += [f"COPY --chown={owner} {folder}/ {target}/" for folder, target, owner in recipe.owned_copies]
    lines += [f"ENV {key}={json.dumps(value)}" for key, value in (*recipe.extra_env, *contract.env)]
    if contract.workdir:
        lines.append(f"WORKDIR {contract.workdir}")
    if contract.expose:
        lines.append("EXPOSE " + " ".join(str(port) for port in contract.expose))
    if contract.volumes:
        lines.append(f"VOLUME {_json(contract.volumes)}")
    lines.append(f"USER {contract.user}")
    if contract.healthcheck:
        check = contract.healthcheck
        lines.append(f"HEALTHCHECK --interval={check.interval} --timeout={check.timeout} "
                     f"--start-period={check.start_period} CMD {_json(check.command)}")
    lines.append(f"ENTRYPOINT {_json(contract.entrypoint)}")
    if contract.cmd:
        lines.append(f"CMD {_json(contract.cmd)}")
    lines += [f"LABEL {key}={json.dumps(value)}" for key, value in sorted(recipe.labels.items())]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class LookAlike:
    """How the look-alike of one service is made: its official image's contract, the build its binary
    comes from, and what fills its build context (the collector's is here; a backend's is its
    adapter's `look_alike()`)."""

    name: str  # the service it stands in for
    contract: ImageContract
    build: Build
    prepare: Callable[[Path, Path], Recipe]  # (build context, binary) → its recipe, the context filled
    recipe_module: str = __file__  # the module of its contract and files: a change there rebuilds it
    uses_jdk: bool = False  # its Java runtime comes from this machine's JDK (a new JDK rebuilds it)

    @property
    def official_image(self) -> str:
        return f"{self.contract.repository}:{self.build.version}"

    @property
    def local_image(self) -> str:
        return f"{REPOSITORY}/{self.name}:{self.build.version}"


def local_images(look_alikes: Sequence[LookAlike]) -> dict[str, str]:
    """Service → its look-alike's reference, tagged with the release of its build."""
    return {look_alike.name: look_alike.local_image for look_alike in look_alikes}


def _labels(look_alike: LookAlike, recipe_digest: str) -> dict[str, str]:
    return {LOOK_ALIKE_LABEL: look_alike.name, OFFICIAL_LABEL: look_alike.official_image,
            RECIPE_LABEL: recipe_digest, "org.opencontainers.image.version": look_alike.build.version}


# -- the root filesystems --------------------------------------------------------------------------
def place(source: Path, root: Path, path: str, mode: int = 0o644) -> Path:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(mode)
    return target


def write_file(root: Path, path: str, text: str, mode: int = 0o644) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    target.chmod(mode)


def make_tmp(root: Path) -> None:
    """/tmp as every Linux base image has it: anyone may write, only the owner delete."""
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)


def copy_ca_bundle(root: Path) -> None:
    bundle = next((path for path in CA_BUNDLES if path.is_file()), None)
    if bundle is None:
        raise ToolchainError("local images: no CA bundle on this machine to copy in "
                             f"(looked at {', '.join(str(path) for path in CA_BUNDLES)})")
    place(bundle, root, OFFICIAL_CA_PATH)


# The look-alike collector's default config: the official one's shape (OTLP on 4317/4318, batch,
# the debug exporter, the health check) with only components the pinned build has.
COLLECTOR_DEFAULT_CONFIG = """\
# The default config of linkmatrix's look-alike of otel/opentelemetry-collector-contrib: OTLP in,
# batched, written to the log. Mount your own over this file, or pass --config.
extensions:
  health_check:
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
      http:
        endpoint: 0.0.0.0:4318
processors:
  batch:
exporters:
  debug:
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
    metrics:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
    logs:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
"""


def _collector_context(context: Path, binary: Path) -> Recipe:
    root = context / "rootfs"
    place(binary, root, COLLECTOR_CONTRACT.entrypoint[0], 0o755)
    write_file(root, str(COLLECTOR_CONTRACT.config_path), COLLECTOR_DEFAULT_CONFIG)
    copy_ca_bundle(root)
    return Recipe("collector", COLLECTOR_CONTRACT)


def java_runtime(root: Path, modules: tuple[str, ...]) -> tuple[str, str]:
    """A Java runtime of the official image's `modules`, made from this machine's JDK, where an
    Alpine JDK package puts its own; with the shared libraries it needs. (JAVA_HOME, version)"""
    jlink = shutil.which("jlink")
    if not jlink:
        raise ToolchainError("zipkin image: `jlink` (from a JDK 17+) is needed to make its Java runtime")
    staging = root.parent / "jre"
    result = subprocess.run([jlink, "--vm=server", "--no-header-files", "--no-man-pages", "--strip-debug",
                             "--compress=0", "--add-modules", ",".join(modules),
                             "--include-locales=en", "--output", str(staging)], capture_output=True, text=True)
    if result.returncode != 0:
        raise ToolchainError(f"zipkin image: jlink failed: {result.stderr.strip()[:300]}")
    release = (staging / "release").read_text()
    found = re.search(r'^JAVA_VERSION="([^"]+)"', release, re.MULTILINE)
    version = found.group(1) if found else "unknown"
    java_home = f"/usr/lib/jvm/java-{version.split('.')[0]}-openjdk"
    target = root / java_home.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(staging), target)
    for library in linked_libraries([target / "bin" / "java", *target.rglob("*.so")]):
        if not str(library).startswith(str(target)):
            place(library.resolve(), root, str(library), 0o755)
    return java_home, version


def linked_libraries(files: list[Path]) -> set[Path]:
    libraries: set[Path] = set()
    for file in files:
        output = subprocess.run(["ldd", str(file)], capture_output=True, text=True).stdout
        for line in output.splitlines():
            parts = line.split()
            if "=>" in parts and len(parts) > parts.index("=>") + 1 and parts[parts.index("=>") + 1].startswith("/"):
                libraries.add(Path(parts[parts.index("=>") + 1]))
            elif parts and parts[0].startswith("/") and "ld-linux" in parts[0]:
                libraries.add(Path(parts[0]))
    return libraries


def _is_static(program: Path) -> bool:
    result = subprocess.run(["ldd", str(program)], capture_output=True, text=True)
    return result.returncode != 0 or "not a dynamic executable" in result.stdout + result.stderr


def static_busybox(report: Callable[[str], None] = print) -> Path:
    """A statically linked BusyBox (Alpine's shell and tools are BusyBox): the one on PATH if it is
    static, else Debian's busybox-static package, unpacked into the cache."""
    on_path = shutil.which("busybox")
    if on_path and _is_static(Path(on_path)):
        return Path(on_path)
    unpacked = cache_dir() / "tools" / "busybox-static"
    program = unpacked / "bin" / "busybox"
    if program.is_file():
        return program
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        raise ToolchainError("zipkin image: a static BusyBox is needed for its shell: put one on PATH "
                             "(`busybox`), or build on Debian/Ubuntu, where its package is fetched")
    report("fetching Debian's busybox-static (the zipkin image's shell and health check)")
    with tempfile.TemporaryDirectory(dir=cache_dir()) as folder:
        fetched = _apt_download("busybox-static", Path(folder))
        packages = list(Path(folder).glob("busybox-static_*.deb"))
        if fetched.returncode != 0 or not packages:
            raise ToolchainError(f"zipkin image: `apt-get download busybox-static` failed: "
                                 f"{fetched.stderr.strip()[:300]}")
        staging = Path(folder) / "unpacked"
        subprocess.run(["dpkg-deb", "-x", str(packages[0]), str(staging)], check=True)
        shutil.rmtree(unpacked, ignore_errors=True)
        unpacked.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), unpacked)
    return program


def _apt_download(package: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """`apt-get download` (no root needed); as root, once more after `apt-get update` when the
    machine has no package lists yet."""
    command = ["apt-get", "download", package]
    fetched = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    if fetched.returncode != 0 and os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, text=True)
        fetched = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    return fetched


def install_busybox(root: Path) -> None:
    """BusyBox at /bin/busybox with each of its applets linked where Alpine has them."""
    program = static_busybox()
    place(program, root, "/bin/busybox", 0o755)
    listed = subprocess.run([str(program), "--list-full"], capture_output=True, text=True, check=True).stdout
    for applet in listed.split():
        link = root / applet.lstrip("/")
        if link.name == "busybox" or link.exists():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to("/bin/busybox")


# -- building --------------------------------------------------------------------------------------
COLLECTOR_LOOK_ALIKE = LookAlike("collector", COLLECTOR_CONTRACT, COLLECTOR, _collector_context)


def recipe_digest(look_alike: LookAlike, source: Path) -> str:
    """What a look-alike is made of: this module, the module of its contract and files, and its
    binary. A look-alike whose digest differs is built again."""
    identity = f"{look_alike.name}:{source.name}:{source.stat().st_size}:{source.stat().st_mtime_ns}"
    if look_alike.uses_jdk:
        jlink = shutil.which("jlink")
        identity += f":{Path(jlink).resolve() if jlink else ''}"
    modules = dict.fromkeys((__file__, look_alike.recipe_module))
    recipe = b"".join(Path(module).read_bytes() for module in modules)
    return hashlib.sha256(recipe + identity.encode()).hexdigest()[:16]


def build_local_images(look_alikes: Sequence[LookAlike], report: Callable[[str], None] = print,
                       names: list[str] | None = None) -> dict[str, str]:
    """Build (or find, when built from the same recipe) the collector's look-alike and those given
    (the table's backends'); service → image reference."""
    import docker

    wanted = [look_alike for look_alike in (COLLECTOR_LOOK_ALIKE, *look_alikes)
              if names is None or look_alike.name in names]
    client = docker.from_env()
    try:
        binaries = ensure_builds([look_alike.build for look_alike in wanted], report=report)
        for look_alike in wanted:
            _build_if_changed(client, look_alike, binaries[look_alike.build], report)
        return local_images(wanted)
    finally:
        client.close()


def _build_if_changed(client: Any, look_alike: LookAlike, source: Path, report: Callable[[str], None]) -> None:
    import docker

    reference = look_alike.local_image
    digest = recipe_digest(look_alike, source)
    earlier = None
    try:
        earlier = client.images.get(reference)
        if earlier.labels.get(RECIPE_LABEL) == digest:
            report(f"{reference}: already built")
            return
        report(f"{reference}: made from an earlier recipe; building it again")
    except docker.errors.ImageNotFound:
        pass
    report(f"building {reference} (look-alike of {look_alike.official_image})")
    with tempfile.TemporaryDirectory(dir=cache_dir()) as folder:
        context = Path(folder)
        recipe = look_alike.prepare(context, source)
        (context / "Dockerfile").write_text(dockerfile(replace(recipe, labels=_labels(look_alike, digest))))
        try:
            client.images.build(path=str(context), tag=reference, rm=True)
        except docker.errors.BuildError as error:
            raise ToolchainError(f"{reference}: docker build failed: {error}") from None
    if earlier is not None and earlier.labels.get(LOOK_ALIKE_LABEL) == look_alike.name:
        with contextlib.suppress(docker.errors.APIError):  # still used by a container: left to it
            client.images.remove(earlier.id)
