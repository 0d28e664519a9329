"""Zipkin's look-alike image: the contract of its official image, its start script and health check,
and what its build context holds (the docker runtime's `--local-images`, `linkmatrix images`), made
from the Zipkin jar linkmatrix fetches."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ...model import ToolchainError
from ...stack import MavenFile, look_alikes

# openzipkin/zipkin: docker/Dockerfile (stage `zipkin`) and docker/start-zipkin of zipkin, on
# ghcr.io/openzipkin/java's `-jre` (Alpine; JAVA_HOME/bin first on PATH). `adduser -D zipkin` on
# Alpine gives uid and gid 1000.
ZIPKIN_CONTRACT = look_alikes.ImageContract(
    repository="openzipkin/zipkin", user="zipkin", entrypoint=("start-zipkin",), workdir="/zipkin",
    env=(("MODULE_OPTS", ""),), expose=(9410, 9411),
    healthcheck=look_alikes.Healthcheck(("docker-healthcheck",), interval="5s", timeout="5s", start_period="30s"))
ZIPKIN_USER = ("zipkin", 1000, 1000)
# The modules of ghcr.io/openzipkin/java's jlink'ed `-jre` (its Dockerfile, stage `install`).
ZIPKIN_JRE_MODULES = ("java.base", "java.logging", "java.desktop", "java.sql", "java.sql.rowset",
                      "java.instrument", "jdk.jdwp.agent", "jdk.management", "jdk.crypto.ec",
                      "jdk.unsupported", "jdk.localedata")

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


def _zipkin_context(context: Path, jar: Path) -> look_alikes.Recipe:
    root = context / "rootfs"
    look_alikes.make_tmp(root)
    user, uid, gid = ZIPKIN_USER
    look_alikes.write_file(root, "/etc/passwd",
                           f"root:x:0:0:root:/root:/bin/sh\n{user}:x:{uid}:{gid}::/{user}:/sbin/nologin\n")
    look_alikes.write_file(root, "/etc/group", f"root:x:0:root\n{user}:x:{gid}:{user}\n")
    look_alikes.install_busybox(root)
    java_home, java_version = look_alikes.java_runtime(root, ZIPKIN_JRE_MODULES)
    look_alikes.write_file(root, "/usr/local/bin/start-zipkin", ZIPKIN_START.format(launcher=_launcher(jar)), 0o755)
    look_alikes.write_file(root, "/usr/local/bin/docker-healthcheck", ZIPKIN_HEALTHCHECK, 0o755)
    with zipfile.ZipFile(jar) as archive:  # unpacked, as the official image has it
        archive.extractall(context / "app")
    path = f"{java_home}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    return look_alikes.Recipe("zipkin", ZIPKIN_CONTRACT,
                              extra_env=(("JAVA_VERSION", java_version), ("JAVA_HOME", java_home), ("PATH", path)),
                              owned_copies=(("app", str(ZIPKIN_CONTRACT.workdir), f"{uid}:{gid}"),))


def look_alike(build: MavenFile) -> look_alikes.LookAlike:
    """Zipkin's look-alike, made from `build` (its Java runtime from this machine's JDK)."""
    return look_alikes.LookAlike("zipkin", ZIPKIN_CONTRACT, build, _zipkin_context, recipe_module=__file__,
                                 uses_jdk=True)
