"""The backend table: adding a backend is one folder (its adapter, read paths and UI reader) and one
entry here."""

from __future__ import annotations

from ..stack import Backend, Build
from ..stack.toolchain._images import LookAlike
from .jaeger._adapter import BACKEND as JAEGER
from .jaeger._adapter import ON_BADGER as JAEGER_BADGER
from .jaeger._adapter import ON_ELASTICSEARCH as JAEGER_ELASTICSEARCH
from .jaeger._adapter import ON_OPENSEARCH as JAEGER_OPENSEARCH
from .jaeger._adapter import PREVIOUS as JAEGER_PREVIOUS
from .tempo._adapter import BACKEND as TEMPO
from .zipkin._adapter import BACKEND as ZIPKIN
from .zipkin._adapter import PREVIOUS as ZIPKIN_PREVIOUS

BACKENDS: dict[str, Backend] = {backend.name: backend
                                for backend in (JAEGER, JAEGER_BADGER, JAEGER_OPENSEARCH, JAEGER_ELASTICSEARCH, TEMPO,
                                                ZIPKIN,
                                                JAEGER_PREVIOUS, ZIPKIN_PREVIOUS)}


def default_builds() -> dict[str, Build]:
    """What linkmatrix fetches or builds for each backend a run that names none starts, by backend."""
    return {name: backend.build for name, backend in BACKENDS.items() if backend.default and backend.build is not None}


def default_look_alikes() -> list[LookAlike]:
    """The look-alike images of the backends a run that names none starts (those that have one)."""
    made = [backend.look_alike() for backend in BACKENDS.values() if backend.default]
    return [look_alike for look_alike in made if look_alike is not None]


def every_build() -> list[Build]:
    """What linkmatrix fetches or builds for any backend of the table (each release, each storage's engine)."""
    builds = [build for backend in BACKENDS.values()
              for build in (backend.build, *(need.build for need in backend.needs)) if build is not None]
    return list(dict.fromkeys(builds))
