"""What a hop before the backend recorded for one emission toward one backend.

A hop's own record can prove a loss: the tap in front of a backend saw no span of a scenario
and the collector's log says its exporter dropped them, or the backend refused a request the
tap forwarded. Then the reads of those spans need not wait for them, and the cell names that hop
with the component's own words as evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Span

Key = tuple[str, str]


@dataclass
class HopRecord:
    spans: list[Span]  # what left the hop toward the backend
    dropped: int = 0  # spans the hop says itself it dropped (the collector's log)
    messages: list[str] = field(default_factory=list)  # its own words: log lines
    refused: dict[Key, str] = field(default_factory=dict)  # span → what the backend answered when it refused it
    exact: bool = True  # False: `spans` is the collector's view for every backend (its file export)

    def settled(self, expected: set[Key]) -> bool:
        """Everything expected either left the hop or is accounted for as dropped."""
        arrived = len({span.key for span in self.spans} & expected)
        return arrived + self.dropped >= len(expected)

    def reaching_backend(self, expected: set[Key]) -> set[Key]:
        """The spans the backend can be expected to show (the others never reached it, or it refused them)."""
        if not self.exact:  # no tap in front of the backend: only a whole drop is certain
            return set() if self.dropped >= len(expected) else set(expected)
        return ({span.key for span in self.spans} & expected) - set(self.refused)

    def view(self, expected: set[Key]) -> list[Span]:
        """The spans this hop shows toward the backend (none, where its exporter dropped them all)."""
        if not self.exact and self.dropped >= len(expected):
            return []
        return self.spans
