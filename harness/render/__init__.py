"""What a person sees: the render stage opens each backend's UI in one headless browser and reads
what each page shows of the linking spans (each UI's reader lives with its backend).
"""

from __future__ import annotations

from ._stage import RenderStage

__all__ = [
    "RenderStage",
]
