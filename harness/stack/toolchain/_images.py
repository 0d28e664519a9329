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

Tempo is never built (AGPL): the README writes down its image's contract instead.
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
import zipfile
from collections.abc import Callable, Mapping
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

# jaegertracing/jaeger: cmd/jaeger/Dockerfile (release stage) of jaeger, on its Alpine base image
# (scripts/build/docker/base: CA bundle and /etc/mime.types). No command: with no --config the
# binary runs its built-in all-in-one config, its listeners on $JAEGER_LISTEN_HOST.
JAEGER_CONTRACT = ImageContract(
    repository="jaegertracing/jaeger", user="10001", entrypoint=("/cmd/jaeger/jaeger-linux",),
    env=(("JAEGER_LISTEN_HOST", "0.0.0.0"),),
    expose=(5778, 5779, 4317, 4318, 14268, 14250, 9411, 16686, 13132, 13133), volumes=("/tmp",))

# openzipkin/zipkin: docker/Dockerfile (stage `zipkin`) and docker/start-zipkin of zipkin, on
# ghcr.io/openzipkin/java's `-jre` (Alpine; JAVA_HOME/bin first on PATH). `adduser -D zipkin` on
# Alpine gives uid and gid 1000.
ZIPKIN_CONTRACT = ImageContract(
    repository="openzipkin/zipkin", user="zipkin", entrypoint=("start-zipkin",), workdir="/zipkin",
    env=(("MODULE_OPTS", ""),), expose=(9410, 9411),
    healthcheck=Healthcheck(("docker-healthcheck",), interval="5s", timeout="5s", start_period="30s"))
ZIPKIN_USER = ("zipkin", 1000, 1000)
# The modules of ghcr.io/openzipkin/java's jlink'ed `-jre` (its Dockerfile, stage `install`).
ZIPKIN_JRE_MODULES = ("java.base", "java.logging", "java.desktop", "java.sql", "java.sql.rowset",
                      "java.instrument", "jdk.jdwp.agent", "jdk.management", "jdk.crypto.ec",
                      "jdk.unsupported", "jdk.localedata")

CONTRACTS: dict[str, ImageContract] = {"collector": COLLECTOR_CONTRACT, "jaeger": JAEGER_CONTRACT,
                                       "zipkin": ZIPKIN_CONTRACT}


def look_alike_builds(backends: Mapping[str, Build]) -> dict[str, Build]:
    """What each look-alike is made from: the collector's build, and the builds of the `backends`
    given (service → its build) that have a contract here."""
    return {"collector": COLLECTOR, **{name: build for name, build in backends.items() if name in CONTRACTS}}


def local_images(builds: Mapping[str, Build]) -> dict[str, str]:
    """Each look-alike's reference, tagged with the release of its build."""
    return {name: f"{REPOSITORY}/{name}:{build.version}" for name, build in builds.items()}


def official_image(name: str, version: str) -> str:
    return f"{CONTRACTS[name].repository}:{version}"


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


def _labels(name: str, version: str, recipe_digest: str) -> dict[str, str]:
    return {LOOK_ALIKE_LABEL: name, OFFICIAL_LABEL: official_image(name, version), RECIPE_LABEL: recipe_digest,
            "org.opencontainers.image.version": version}


# -- the root filesystems --------------------------------------------------------------------------
def _place(source: Path, root: Path, path: str, mode: int = 0o644) -> Path:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(mode)
    return target


def _write(root: Path, path: str, text: str, mode: int = 0o644) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    target.chmod(mode)


def _tmp(root: Path) -> None:
    """/tmp as every Linux base image has it: anyone may write, only the owner delete."""
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)


def _ca_bundle(root: Path) -> None:
    bundle = next((path for path in CA_BUNDLES if path.is_file()), None)
    if bundle is None:
        raise ToolchainError("local images: no CA bundle on this machine to copy in "
                             f"(looked at {', '.join(str(path) for path in CA_BUNDLES)})")
    _place(bundle, root, OFFICIAL_CA_PATH)


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
    _place(binary, root, COLLECTOR_CONTRACT.entrypoint[0], 0o755)
    _write(root, str(COLLECTOR_CONTRACT.config_path), COLLECTOR_DEFAULT_CONFIG)
    _ca_bundle(root)
    return Recipe("collector", COLLECTOR_CONTRACT)


# The file the official image ships beside the binary, for `remote_sampling: file: path:` (ours
# samples everything; the official one has example services too).
JAEGER_SAMPLING_PATH = "/cmd/jaeger/sampling-strategies.json"
JAEGER_SAMPLING_STRATEGIES = {"default_strategy": {"type": "probabilistic", "param": 1}}


def _jaeger_context(context: Path, binary: Path) -> Recipe:
    root = context / "rootfs"
    _place(binary, root, JAEGER_CONTRACT.entrypoint[0], 0o755)
    _write(root, JAEGER_SAMPLING_PATH, json.dumps(JAEGER_SAMPLING_STRATEGIES, indent=2) + "\n")
    _ca_bundle(root)
    if Path("/etc/mime.types").is_file():  # its UI's content types; Go knows the common ones without it
        _place(Path("/etc/mime.types"), root, "/etc/mime.types")
    _tmp(root)  # its declared volume: a fresh one starts as a copy of this folder
    return Recipe("jaeger", JAEGER_CONTRACT)


# Zipkin's entrypoint and health check, as its image's contract has them: JVM options from
# JAVA_OPTS (a default heap for the in-memory store), the server started from the jar unpacked in
# the working directory, every argument passed on; the health check reads where to ask from the
# server's environment.
ZIPKIN_START = """\
#!/bin/sh
# Starts Zipkin from the jar unpacked in the working directory; JVM options from JAVA_OPTS.
set -eu
export HEALTHCHECK_PORT="${{QUERY_PORT:-9411}}"
if [ "${{STORAGE_TYPE:-mem}}" = mem ]; then
  JAVA_OPTS="${{JAVA_OPTS:--Xms160m -Xmx160m -XX:+ExitOnOutOfMemoryError}}"
fi
JAVA_OPTS="${{JAVA_OPTS:--Xms96m -Xmx96m -XX:+ExitOnOutOfMemoryError}}"
# Options are words: split them.
exec java ${{MODULE_OPTS:-}} ${{JAVA_OPTS}} -cp . -Dlog4j2.disable.jmx=true {launcher} "$@"
"""
ZIPKIN_HEALTHCHECK = """\
#!/bin/sh
# Healthy when Zipkin answers GET /health (HEALTHCHECK_KIND=tcp: when its port accepts) at
# HEALTHCHECK_IP (default: this host's address) and HEALTHCHECK_PORT, read from the server's own
# environment, where the start script set them.
set -u
for setting in $(tr '\\0' '\\n' </proc/1/environ | grep -E '^HEALTHCHECK_(KIND|IP|PATH|PORT)='); do
  export "$setting"
done
ip="${HEALTHCHECK_IP:-$(hostname -i 2>/dev/null || echo 127.0.0.1)}"
case "${HEALTHCHECK_KIND:-http}" in
  http) out=$(wget -q -O - --header=b3:0 "http://${ip}:${HEALTHCHECK_PORT}${HEALTHCHECK_PATH:-/health}" 2>&1) ;;
  tcp) out=$(nc -z "$ip" "$HEALTHCHECK_PORT" 2>&1) ;;
  *) echo "unknown HEALTHCHECK_KIND: $HEALTHCHECK_KIND" >&2; exit 1 ;;
esac || { echo "health check failed: $out" >&2; exit 1; }
"""


def _launcher(jar: Path) -> str:
    """The PropertiesLauncher of the Spring Boot loader in the jar (its package moved in Spring Boot
    3.2), which the official start script runs: it reads the unpacked jar's classpath."""
    with zipfile.ZipFile(jar) as archive:
        manifest = archive.read("META-INF/MANIFEST.MF").decode().replace("\r", "")
        found = re.search(r"^Main-Class: *(\S+)\.\w+$", manifest, re.MULTILINE)
        launcher = f"{found.group(1)}.PropertiesLauncher" if found else ""
        if not launcher or f"{launcher.replace('.', '/')}.class" not in archive.namelist():
            raise ToolchainError(f"zipkin image: {jar.name} is not a Spring Boot jar with a PropertiesLauncher")
    return launcher


def _zipkin_context(context: Path, jar: Path) -> Recipe:
    root = context / "rootfs"
    _tmp(root)
    user, uid, gid = ZIPKIN_USER
    _write(root, "/etc/passwd", f"root:x:0:0:root:/root:/bin/sh\n{user}:x:{uid}:{gid}::/{user}:/sbin/nologin\n")
    _write(root, "/etc/group", f"root:x:0:root\n{user}:x:{gid}:{user}\n")
    _busybox(root)
    java_home, java_version = _java_runtime(root)
    _write(root, "/usr/local/bin/start-zipkin", ZIPKIN_START.format(launcher=_launcher(jar)), 0o755)
    _write(root, "/usr/local/bin/docker-healthcheck", ZIPKIN_HEALTHCHECK, 0o755)
    with zipfile.ZipFile(jar) as archive:  # unpacked, as the official image has it
        archive.extractall(context / "app")
    path = f"{java_home}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    return Recipe("zipkin", ZIPKIN_CONTRACT,
                  extra_env=(("JAVA_VERSION", java_version), ("JAVA_HOME", java_home), ("PATH", path)),
                  owned_copies=(("app", str(ZIPKIN_CONTRACT.workdir), f"{uid}:{gid}"),))


def _java_runtime(root: Path) -> tuple[str, str]:
    """A Java runtime of the official image's modules, made from this machine's JDK, where an
    Alpine JDK package puts its own; with the shared libraries it needs. (JAVA_HOME, version)"""
    jlink = shutil.which("jlink")
    if not jlink:
        raise ToolchainError("zipkin image: `jlink` (from a JDK 17+) is needed to make its Java runtime")
    staging = root.parent / "jre"
    result = subprocess.run([jlink, "--vm=server", "--no-header-files", "--no-man-pages", "--strip-debug",
                             "--compress=0", "--add-modules", ",".join(ZIPKIN_JRE_MODULES),
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
    for library in _linked_libraries([target / "bin" / "java", *target.rglob("*.so")]):
        if not str(library).startswith(str(target)):
            _place(library.resolve(), root, str(library), 0o755)
    return java_home, version


def _linked_libraries(files: list[Path]) -> set[Path]:
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


def _busybox(root: Path) -> None:
    """BusyBox at /bin/busybox with each of its applets linked where Alpine has them."""
    program = static_busybox()
    _place(program, root, "/bin/busybox", 0o755)
    listed = subprocess.run([str(program), "--list-full"], capture_output=True, text=True, check=True).stdout
    for applet in listed.split():
        link = root / applet.lstrip("/")
        if link.name == "busybox" or link.exists():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to("/bin/busybox")


# -- building --------------------------------------------------------------------------------------
CONTEXTS: dict[str, Callable[[Path, Path], Recipe]] = {
    "collector": _collector_context, "jaeger": _jaeger_context, "zipkin": _zipkin_context}


def recipe_digest(name: str, source: Path) -> str:
    """What a look-alike is made of: this module (its contracts and files) and its binary. A
    look-alike whose digest differs is built again."""
    identity = f"{name}:{source.name}:{source.stat().st_size}:{source.stat().st_mtime_ns}"
    if name == "zipkin":  # its Java runtime comes from this machine's JDK
        jlink = shutil.which("jlink")
        identity += f":{Path(jlink).resolve() if jlink else ''}"
    return hashlib.sha256(Path(__file__).read_bytes() + identity.encode()).hexdigest()[:16]


def build_local_images(backends: Mapping[str, Build], report: Callable[[str], None] = print,
                       names: list[str] | None = None) -> dict[str, str]:
    """Build (or find, when built from the same recipe) the look-alikes of the collector and of the
    `backends` given (service → its build) that have a contract here; service → image reference."""
    import docker

    builds = {name: build for name, build in look_alike_builds(backends).items() if names is None or name in names}
    client = docker.from_env()
    try:
        binaries = ensure_builds(list(builds.values()), report=report)
        wanted = local_images(builds)
        for name, reference in wanted.items():
            _build_if_changed(client, name, builds[name].version, reference, binaries[builds[name]], report)
        return wanted
    finally:
        client.close()


def _build_if_changed(client: Any, name: str, version: str, reference: str, source: Path,
                      report: Callable[[str], None]) -> None:
    import docker

    digest = recipe_digest(name, source)
    earlier = None
    try:
        earlier = client.images.get(reference)
        if earlier.labels.get(RECIPE_LABEL) == digest:
            report(f"{reference}: already built")
            return
        report(f"{reference}: made from an earlier recipe; building it again")
    except docker.errors.ImageNotFound:
        pass
    report(f"building {reference} (look-alike of {official_image(name, version)})")
    with tempfile.TemporaryDirectory(dir=cache_dir()) as folder:
        context = Path(folder)
        recipe = CONTEXTS[name](context, source)
        (context / "Dockerfile").write_text(dockerfile(replace(recipe, labels=_labels(name, version, digest))))
        try:
            client.images.build(path=str(context), tag=reference, rm=True)
        except docker.errors.BuildError as error:
            raise ToolchainError(f"{reference}: docker build failed: {error}") from None
    if earlier is not None and earlier.labels.get(LOOK_ALIKE_LABEL) == name:
        with contextlib.suppress(docker.errors.APIError):  # still used by a container: left to it
            client.images.remove(earlier.id)
