"""Jaeger's look-alike image: the contract of its official image and what its build context holds
(the docker runtime's `--local-images`, `linkmatrix images`), made from the Jaeger linkmatrix builds."""

from __future__ import annotations

import json
from pathlib import Path

from ...stack import GoProgram, look_alikes

# jaegertracing/jaeger: cmd/jaeger/Dockerfile (release stage) of jaeger, on its Alpine base image
# (scripts/build/docker/base: CA bundle and /etc/mime.types). No command: with no --config the
# binary runs its built-in all-in-one config, its listeners on $JAEGER_LISTEN_HOST.
JAEGER_CONTRACT = look_alikes.ImageContract(
    repository="jaegertracing/jaeger", user="10001", entrypoint=("/cmd/jaeger/jaeger-linux",),
    env=(("JAEGER_LISTEN_HOST", "0.0.0.0"),),
    expose=(5778, 5779, 4317, 4318, 14268, 14250, 9411, 16686, 13132, 13133), volumes=("/tmp",))

# The file the official image ships beside the binary, for `remote_sampling: file: path:` (ours
# samples everything; the official one has example services too).
JAEGER_SAMPLING_PATH = "/cmd/jaeger/sampling-strategies.json"
JAEGER_SAMPLING_STRATEGIES = {"default_strategy": {"type": "probabilistic", "param": 1}}


def _jaeger_context(context: Path, binary: Path) -> look_alikes.Recipe:
    root = context / "rootfs"
    look_alikes.place(binary, root, JAEGER_CONTRACT.entrypoint[0], 0o755)
    look_alikes.write_file(root, JAEGER_SAMPLING_PATH, json.dumps(JAEGER_SAMPLING_STRATEGIES, indent=2) + "\n")
    look_alikes.copy_ca_bundle(root)
    if Path("/etc/mime.types").is_file():  # its UI's content types; Go knows the common ones without it
        look_alikes.place(Path("/etc/mime.types"), root, "/etc/mime.types")
    look_alikes.make_tmp(root)  # its declared volume: a fresh one starts as a copy of this folder
    return look_alikes.Recipe("jaeger", JAEGER_CONTRACT)


def look_alike(build: GoProgram) -> look_alikes.LookAlike:
    """Jaeger's look-alike, made from `build`."""
    return look_alikes.LookAlike("jaeger", JAEGER_CONTRACT, build, _jaeger_context, recipe_module=__file__)
