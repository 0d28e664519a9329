"""The backend table. Adding a backend = one adapter module + one entry here."""

from __future__ import annotations

from .base import Backend, ReadPath
from .jaeger import BACKEND as JAEGER
from .jaeger import ON_BADGER as JAEGER_BADGER
from .jaeger import ON_ELASTICSEARCH as JAEGER_ELASTICSEARCH
from .jaeger import ON_OPENSEARCH as JAEGER_OPENSEARCH
from .jaeger import PREVIOUS as JAEGER_PREVIOUS
from .tempo import BACKEND as TEMPO
from .zipkin import BACKEND as ZIPKIN
from .zipkin import PREVIOUS as ZIPKIN_PREVIOUS

BACKENDS: dict[str, Backend] = {backend.name: backend
                                for backend in (JAEGER, JAEGER_BADGER, JAEGER_OPENSEARCH, JAEGER_ELASTICSEARCH, TEMPO,
                                                ZIPKIN,
                                                JAEGER_PREVIOUS, ZIPKIN_PREVIOUS)}

__all__ = ["BACKENDS", "Backend", "ReadPath"]
