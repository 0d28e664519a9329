"""Where the services run: local processes, Docker containers, or a stack someone else runs.
"""

from __future__ import annotations

from ._base import (
    LOOPBACK,
    Component,
    Notify,
    Readiness,
    Runtime,
    Service,
    ServiceSpec,
    attach,
    check_ports_free,
    default_endpoints,
    provide_each,
    write_configs,
)
from ._choice import choose_runtime, create

__all__ = [
    "LOOPBACK",
    "Component",
    "Notify",
    "Readiness",
    "Runtime",
    "Service",
    "ServiceSpec",
    "attach",
    "check_ports_free",
    "choose_runtime",
    "create",
    "default_endpoints",
    "provide_each",
    "write_configs",
]
