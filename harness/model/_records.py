"""What a hop before the backend recorded for one emission toward one backend.

A hop's own record can prove a loss: the tap in front of a backend saw no span of a scenario
and the collector's log says its exporter dropped them, or the collector refused the request
that carried them, or the backend refused a request the tap forwarded. Then the reads of those
spans need not wait for them, and the cell names that hop with the component's own words as
evidence. A record can also show that nothing can be said: the collector died, or the hop did not
settle in time, or a request could not be delivered at all — then the cells are errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._spans import Span

Key = tuple[str, str]


@dataclass
class HopRecord:
    spans: list[Span]  # what left the hop toward the backend
    dropped: int = 0  # spans the hop says itself it dropped (its log), or refused to take in
    messages: list[str] = field(default_factory=list)  # its own words: log lines, its refusals
    refused: dict[Key, str] = field(default_factory=dict)  # span → what the backend answered when it refused it
    undelivered: dict[Key, str] = field(default_factory=dict)  # span → why the backend could not be reached
    exact: bool = True  # False: `spans` is the collector's view for every backend (its file export)
    broken: str = ""  # why this record cannot be trusted (a dead collector, a hop that did not settle)

    def settled(self, expected: set[Key]) -> bool:
        """Everything expected either left the hop or is accounted for as dropped."""
        arrived = len({span.key for span in self.spans} & expected)
        return arrived + self.dropped >= len(expected)

    def reaching_backend(self, expected: set[Key]) -> set[Key]:
        """The spans the backend can be expected to show (the others never reached it, or it refused them)."""
        if not self.exact:  # no tap in front of the backend: only a whole drop is certain
            return set() if self.dropped >= len(expected) else set(expected)
        return ({span.key for span in self.spans} & expected) - set(self.refused) - set(self.undelivered)

    def view(self, expected: set[Key]) -> list[Span]:
        """The spans this hop shows toward the backend (none, where its exporter dropped them all)."""
        if not self.exact and self.dropped >= len(expected):
            return []
        return self.spans

    def unmeasurable(self, keys: set[Key]) -> str:
        """Why no verdict can be given about these spans through this hop ("" when one can)."""
        if self.broken:
            return self.broken
        return next((f"could not be delivered: {why}" for key, why in self.undelivered.items() if key in keys), "")
