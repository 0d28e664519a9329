"""Which runtime a run uses (auto: Docker when its daemon answers and can run the images, else
local processes), and the runtime itself."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ._base import Runtime
from ._docker import DockerRuntime, daemon_answers, missing_image
from ._external import ExternalRuntime
from ._local import LocalRuntime


def choose_runtime(asked: str, images: Sequence[str] = ()) -> tuple[str, str]:
    """(runtime, why): `auto` is docker when a Docker daemon answers and has (or can pull) every
    image in `images`, else local."""
    if asked != "auto":
        return asked, "asked for"
    problem = daemon_answers() or missing_image(images)
    if problem:
        return "local", f"{problem}; falling back to local processes"
    return "docker", "a Docker daemon answers and has the images"


def create(kind: str, run_dir: Path, network_mode: str = "host", images: dict[str, str] | None = None,
           external: dict[str, str] | None = None) -> Runtime:
    """The runtime called `kind` (local, docker, external) for one run."""
    if kind == "docker":
        return DockerRuntime(run_dir, network_mode, images)
    if kind == "external":
        return ExternalRuntime(external)
    return LocalRuntime(run_dir)
