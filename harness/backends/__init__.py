"""The backend table. Adding a backend = one adapter module + one entry here."""

from __future__ import annotations

from .base import Backend, ReadPath
from .jaeger import BACKEND as JAEGER
from .tempo import BACKEND as TEMPO
from .zipkin import BACKEND as ZIPKIN

BACKENDS: dict[str, Backend] = {backend.name: backend for backend in (JAEGER, TEMPO, ZIPKIN)}

__all__ = ["BACKENDS", "Backend", "ReadPath"]
