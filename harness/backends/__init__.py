"""The backends: one folder each (its adapter, read paths and UI reader), and the table that lists
them (`BACKENDS`): adding a backend is one folder and one entry in the table.
"""

from __future__ import annotations

from ._compose import write as write_compose
from ._plan import BY_BACKEND, BY_PIPELINE, Plan, load_stack_file, parse_candidate, plan
from ._table import BACKENDS, default_builds, default_look_alikes, every_build
from .jaeger._storages import MEMORY as JAEGER_IN_MEMORY
from .jaeger._storages import STORAGES as JAEGER_STORAGES

__all__ = [
    "BACKENDS",
    "BY_BACKEND",
    "BY_PIPELINE",
    "JAEGER_IN_MEMORY",
    "JAEGER_STORAGES",
    "Plan",
    "default_builds",
    "default_look_alikes",
    "every_build",
    "load_stack_file",
    "parse_candidate",
    "plan",
    "write_compose",
]
