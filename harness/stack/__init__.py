"""What the spans go through and into: the runtimes (local processes, Docker, a stack someone else
runs), the toolchain that builds or fetches every pinned binary, the collector's configuration and
pipeline variants, the contract every backend adapter fills in, and the `Stack`
that starts and stops it all.
"""

from __future__ import annotations

from . import _collector as pipeline
from . import _variants as variants
from . import runtime, toolchain
from ._backend import Backend, StackChoice, Tap
from ._collector import GRPC, HTTP_PROTOBUF
from ._http import Http
from ._stack import Stack, describe_services
from ._stackfile import (
    Candidate,
    Given,
    StackFile,
    collector_config_variant,
    dump_yaml,
    load_stack_file,
    merged,
    parse_candidate,
)
from ._versions import collector_version, library_versions, service_versions
from ._wait import wait_until
from .runtime._base import LOOPBACK, Component, Readiness, Service, ServiceSpec
from .runtime._choice import choose_runtime
from .runtime._docker import daemon_answers
from .toolchain import _images as look_alikes
from .toolchain._browser import CHROMIUM_ENV, ON_PATH, BrowserUnavailableError, choose_browser, obtain
from .toolchain._builds import (
    IMAGES,
    Build,
    GoProgram,
    MavenFile,
    class_data_archive,
    image_for,
    maven_release,
    version_key,
)
from .toolchain._images import build_local_images

__all__ = [
    "CHROMIUM_ENV",
    "GRPC",
    "HTTP_PROTOBUF",
    "IMAGES",
    "LOOPBACK",
    "ON_PATH",
    "Backend",
    "BrowserUnavailableError",
    "Build",
    "Candidate",
    "Component",
    "Given",
    "GoProgram",
    "Http",
    "MavenFile",
    "Readiness",
    "Service",
    "ServiceSpec",
    "Stack",
    "StackChoice",
    "StackFile",
    "Tap",
    "build_local_images",
    "choose_browser",
    "choose_runtime",
    "class_data_archive",
    "collector_config_variant",
    "collector_version",
    "daemon_answers",
    "describe_services",
    "dump_yaml",
    "image_for",
    "library_versions",
    "load_stack_file",
    "look_alikes",
    "maven_release",
    "merged",
    "obtain",
    "parse_candidate",
    "pipeline",
    "runtime",
    "service_versions",
    "toolchain",
    "variants",
    "version_key",
    "wait_until",
]
