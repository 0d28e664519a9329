"""Every output of a run, written from its result and nothing else: matrix.json (the contract that
nightly runs compare), matrix.md and matrix.html (for people, opening with the page that decides),
summary.md and junit.xml (for CI), the terminal's table, and the tools that read reports back
(`diff`, `merge`). The reports never import the run.
"""

from __future__ import annotations

from . import ci, diff
from ._common import between_versions, releases_compared, visible
from ._document import load_report, point_latest, to_document, validate, write, write_document, write_whole
from ._redact import redact_folder

__all__ = [
    "between_versions",
    "ci",
    "diff",
    "load_report",
    "point_latest",
    "redact_folder",
    "releases_compared",
    "to_document",
    "validate",
    "visible",
    "write",
    "write_document",
    "write_whole",
]
