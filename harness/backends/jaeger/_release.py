"""Jaeger's pins: the release linkmatrix builds from the Go module proxy, the earlier one it compares
with, and how any other Jaeger v2 release is built. Change a Jaeger pin here and nowhere else."""

from __future__ import annotations

from dataclasses import replace

from ...model import ToolchainError
from ...stack import GoProgram

OFFICIAL_IMAGE = "jaegertracing/jaeger"  # its releases' images, tagged with the version
_VERSION_FLAG = "-X github.com/jaegertracing/jaeger/internal/version.latestVersion=v"

JAEGER = GoProgram(
    name="jaeger", version="2.12.0",
    module_version="v1.75.0",  # the release this registry approves (v1.76.0 is served, not approved)
    package="github.com/jaegertracing/jaeger/cmd/jaeger",
    # Jaeger's own release builds set these; without them `jaeger version` is blank.
    ldflags=f"{_VERSION_FLAG}2.12.0",
)
# An earlier release, to compare with (a backend of its own, run with --versions; its cells are set
# beside the pinned release's in the report's "Between versions").
JAEGER_PREVIOUS = GoProgram(name="jaeger", version="2.11.0", module_version="v1.74.0", package=JAEGER.package,
                            ldflags=f"{_VERSION_FLAG}2.11.0")


def jaeger_release(version: str) -> GoProgram:
    """Jaeger 2.x.y at any release: the module is tagged v1.(x+63).y (2.12.0 is v1.75.0)."""
    major, minor, patch = (int(part) for part in version.split("."))
    if major != 2:
        raise ToolchainError(f"jaeger {version}: only Jaeger v2 releases (2.x.y) can be built here")
    return replace(JAEGER, version=version, module_version=f"v1.{minor + 63}.{patch}",
                   ldflags=f"{_VERSION_FLAG}{version}")
