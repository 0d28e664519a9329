"""Local images for the docker runtime where the official ones cannot be pulled (CI, air-gapped
machines): built from the same pinned binaries `linkmatrix backends` made, FROM scratch.

- collector, jaeger: the static Go binaries, nothing else.
- zipkin: the exec jar on a small Java runtime made by `jlink` from the host's JDK, with the
  shared libraries it links against.

Each image takes the same arguments and environment as its official counterpart, so it is a
drop-in `--image` / LINKMATRIX_IMAGE_<NAME> override.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ToolchainError
from . import COLLECTOR, JAEGER, ZIPKIN, cache_dir, ensure

REPOSITORY = "linkmatrix-local"
# What Zipkin's server (Spring Boot + Armeria) needs from the JDK.
JRE_MODULES = ("java.base,java.logging,java.management,java.naming,java.net.http,java.security.jgss,"
               "java.sql,java.xml,jdk.unsupported,java.desktop,jdk.crypto.ec,java.instrument,"
               "jdk.management,java.scripting,jdk.naming.dns")


def local_images() -> dict[str, str]:
    return {"collector": f"{REPOSITORY}/collector:{COLLECTOR.version}",
            "jaeger": f"{REPOSITORY}/jaeger:{JAEGER.version}",
            "zipkin": f"{REPOSITORY}/zipkin:{ZIPKIN.version}"}


def _dockerfile(context: Path, lines: list[str]) -> None:
    (context / "Dockerfile").write_text("\n".join(["FROM scratch", *lines]) + "\n")


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


def _zipkin_context(context: Path, jar: Path) -> None:
    jlink = shutil.which("jlink")
    if not jlink:
        raise ToolchainError("zipkin image: `jlink` (from a JDK 17+) is needed to make its Java runtime")
    root = context / "rootfs"
    jre = root / "opt" / "jre"
    (root / "tmp").mkdir(parents=True)
    (root / "tmp").chmod(0o1777)
    result = subprocess.run([jlink, "--no-header-files", "--no-man-pages", "--strip-debug", "--compress=2",
                             "--add-modules", JRE_MODULES, "--output", str(jre)], capture_output=True, text=True)
    if result.returncode != 0:
        raise ToolchainError(f"zipkin image: jlink failed: {result.stderr.strip()[:300]}")
    for library in _linked_libraries([jre / "bin" / "java", *jre.rglob("*.so")]):
        if str(library).startswith(str(jre)):
            continue
        target = root / library.relative_to("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(library.resolve(), target)
    shutil.copy2(jar, root / "zipkin.jar")
    # The official image reads JVM options from JAVA_OPTS through its start script; the java
    # launcher itself reads JDK_JAVA_OPTIONS, which the docker runtime sets as well.
    _dockerfile(context, ["COPY rootfs/ /", "ENV JAVA_HOME=/opt/jre",
                          'ENTRYPOINT ["/opt/jre/bin/java", "-jar", "/zipkin.jar"]'])


def build_local_images(report: Callable[[str], None] = print, names: list[str] | None = None) -> dict[str, str]:
    """Build (or find) the local images; returns service → image reference."""
    import docker

    client = docker.from_env()
    try:
        return _build_missing(client, report, {name: ref for name, ref in local_images().items()
                                               if names is None or name in names})
    finally:
        client.close()


def _build_missing(client: Any, report: Callable[[str], None], wanted: dict[str, str]) -> dict[str, str]:
    import docker

    missing = {}
    for name, reference in wanted.items():
        try:
            client.images.get(reference)
            report(f"{reference}: already built")
        except docker.errors.ImageNotFound:
            missing[name] = reference
    components = {"collector": COLLECTOR.name, "jaeger": JAEGER.name, "zipkin": ZIPKIN.name}
    binaries = ensure([components[name] for name in missing], report=report) if missing else {}
    for name, reference in missing.items():
        report(f"building {reference}")
        with tempfile.TemporaryDirectory(dir=cache_dir()) as folder:
            context = Path(folder)
            if name == "zipkin":
                _zipkin_context(context, binaries[ZIPKIN.name])
            else:
                program = binaries[COLLECTOR.name if name == "collector" else JAEGER.name]
                shutil.copy2(program, context / name)
                _dockerfile(context, [f"COPY {name} /{name}", f'ENTRYPOINT ["/{name}"]'])
            try:
                client.images.build(path=str(context), tag=reference, rm=True,
                                    labels={"dev.linkmatrix.local-image": name})
            except docker.errors.BuildError as error:
                raise ToolchainError(f"{reference}: docker build failed: {error}") from None
    return wanted
