"""One run, stage after stage: stack → send → observe (and render) → judge, and the result the
reports are written from.
"""

from __future__ import annotations

from ._matrix import RunSettings, empty_run, run_matrix

__all__ = [
    "RunSettings",
    "empty_run",
    "run_matrix",
]
