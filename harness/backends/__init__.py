"""The backends: one folder each (its adapter, read paths and UI reader), and the table that lists
them (`BACKENDS`): adding a backend is one folder and one entry in the table.
"""

from __future__ import annotations

from ._compose import write as write_compose
from ._table import BACKENDS
from .zipkin._adapter import decode_egress

__all__ = [
    "BACKENDS",
    "decode_egress",
    "write_compose",
]
