"""The judge — pure: from what was sent, what each hop and read path returned and what each page
showed (the model's hand-offs), each feature's check gives the matrix's cells. It imports only
the model: no SDK, no browser, no service.
"""

from __future__ import annotations

from ._judge import Topology, judge, not_emitted, nothing_measured
from ._meaning import difference_kinds, matches, meaning, when

__all__ = [
    "Topology",
    "difference_kinds",
    "judge",
    "matches",
    "meaning",
    "not_emitted",
    "nothing_measured",
    "when",
]
