"""Reading the backends back: every trace read path polled until the spans show, every search probe
asked until it is proven, and the collector hop's own record of what it forwarded.
"""

from __future__ import annotations

from ._observer import Observer
from ._reads import settle_marks

__all__ = [
    "Observer",
    "settle_marks",
]
