"""Scenario files: read through the guarded loader, validated with one line per problem (file, line,
field), and turned into the records the emit stage follows.
"""

from __future__ import annotations

from ._capture import attribute_texts, is_capture
from ._scenario import load_all, trace_state_pairs

__all__ = [
    "attribute_texts",
    "is_capture",
    "load_all",
    "trace_state_pairs",
]
