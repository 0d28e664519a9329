"""The official images' contracts, as read from their build files, written down here on their own
(not taken from harness.toolchain.images) so that the tests compare the look-alikes with what the
official images declare. Each entry says which file it was read from.

Keys are as `docker image inspect` reports them under Config: User, Entrypoint, Cmd, WorkingDir
("" when the Dockerfile sets none), ExposedPorts, Volumes, Healthcheck, and the Env entries the
image itself sets; `files` are paths the image has (a config, a CA bundle, a script), with the
mode where it matters.
"""

from __future__ import annotations

from typing import Any

OFFICIAL: dict[str, dict[str, Any]] = {
    # open-telemetry/opentelemetry-collector-releases: distributions/otelcol-contrib/Dockerfile
    # (FROM scratch; USER ${USER_UID}:${USER_GID} = 10001:10001; CA bundle copied from Alpine;
    # config.yaml beside it copied to /etc/otelcol-contrib/config.yaml).
    "collector": {
        "User": "10001:10001",
        "Entrypoint": ["/otelcol-contrib"],
        "Cmd": ["--config", "/etc/otelcol-contrib/config.yaml"],
        "WorkingDir": "",
        "ExposedPorts": ["4317/tcp", "4318/tcp", "55679/tcp"],
        "Volumes": [],
        "Healthcheck": None,
        "Env": {},
        "files": {"/otelcol-contrib": 0o755, "/etc/otelcol-contrib/config.yaml": None,
                  "/etc/ssl/certs/ca-certificates.crt": None},
    },
    # jaegertracing/jaeger: cmd/jaeger/Dockerfile, stage `release` (USER ${USER_UID} = 10001, no
    # group; VOLUME ["/tmp"]; ENV JAEGER_LISTEN_HOST=0.0.0.0; sampling-strategies.json beside the
    # binary), on scripts/build/docker/base/Dockerfile (Alpine + CA bundle + /etc/mime.types).
    # The same at v1.75.0 (2.12.0) and v1.76.0 (2.13.0). Its UI assets are embedded in the binary.
    "jaeger": {
        "User": "10001",
        "Entrypoint": ["/cmd/jaeger/jaeger-linux"],
        "Cmd": None,
        "WorkingDir": "",
        "ExposedPorts": ["5778/tcp", "5779/tcp", "4317/tcp", "4318/tcp", "14268/tcp", "14250/tcp", "9411/tcp",
                         "16686/tcp", "13132/tcp", "13133/tcp"],
        "Volumes": ["/tmp"],
        "Healthcheck": None,
        "Env": {"JAEGER_LISTEN_HOST": "0.0.0.0"},
        "files": {"/cmd/jaeger/jaeger-linux": 0o755, "/cmd/jaeger/sampling-strategies.json": None,
                  "/etc/ssl/certs/ca-certificates.crt": None, "/tmp": 0o1777},
    },
    # openzipkin/zipkin 3.6.1: docker/Dockerfile, stage `zipkin` on `base-server` (WORKDIR /zipkin;
    # adduser -D zipkin; HEALTHCHECK --interval=5s --start-period=30s --timeout=5s
    # CMD ["docker-healthcheck"]; ENTRYPOINT ["start-zipkin"]; USER zipkin; ENV MODULE_OPTS=;
    # EXPOSE 9410 9411; the exec jar unpacked into /zipkin), docker/start-zipkin (exec java
    # $MODULE_OPTS $JAVA_OPTS -cp . ... PropertiesLauncher "$@"), build-bin/docker/docker-healthcheck;
    # on openzipkin/docker-java's Dockerfile, stage `jre` (JAVA_HOME/bin first on PATH).
    "zipkin": {
        "User": "zipkin",
        "Entrypoint": ["start-zipkin"],
        "Cmd": None,
        "WorkingDir": "/zipkin",
        "ExposedPorts": ["9410/tcp", "9411/tcp"],
        "Volumes": [],
        # Docker reports durations in nanoseconds.
        "Healthcheck": {"Test": ["CMD", "docker-healthcheck"], "Interval": 5_000_000_000,
                        "Timeout": 5_000_000_000, "StartPeriod": 30_000_000_000},
        "Env": {"MODULE_OPTS": ""},
        "files": {"/usr/local/bin/start-zipkin": 0o755, "/usr/local/bin/docker-healthcheck": 0o755,
                  "/bin/sh": None, "/tmp": 0o1777},
    },
}

# Alpine's busybox `adduser -D zipkin` in an image with no other user of its own: uid = gid = 1000.
ZIPKIN_IDS = (1000, 1000)
