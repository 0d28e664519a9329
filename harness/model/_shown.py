"""What a page showed: the facts a render read path reads off a UI, one record per span."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._errors import LinkmatrixError


@dataclass
class ShownLink:
    """One link as a person sees it on the linking span."""

    text: str  # everything the page shows for it
    span_id: str = ""  # the target's span id, where the page shows it
    trace_id: str = ""  # the target's trace id, where the page shows it as text
    names: str = ""  # "service operation" of the target, where the page shows them
    href: str = ""  # where following it goes (another page), where it is a link
    clickable: bool = False  # a click moves to the target on this same page
    attributes: dict[str, str] = field(default_factory=dict)  # key → value as the page writes them
    # The other relation the page lists it as, under its own label ("CHILD_OF": a second parent);
    # "" when the page shows it as a link.
    relation: str = ""
    # Followed as a person would (a click on the page, or its href in a page of its own): None when
    # not followed; True when the target span was shown and marked as the one sought.
    arrived: bool | None = None
    after_following: str = ""  # what the page showed after following it, in its own words

    def to_json(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value or (key == "arrived" and value is False)}


@dataclass
class ShownSpan:
    span_id: str
    found: bool = False  # the page has the span at all
    parent: str | None = None  # the span id it is drawn under ("" at the top), None: the page does not say
    links: list[ShownLink] = field(default_factory=list)
    marked_as_target: bool = False  # the page says another span links (or refers) to it

    def to_json(self) -> dict[str, Any]:
        return {"span_id": self.span_id, "found": self.found, "parent": self.parent,
                "links": [link.to_json() for link in self.links], "marked_as_target": self.marked_as_target}


@dataclass(frozen=True)
class SpanToShow:
    """A span the render stage wants facts about: a linking span (open its links) or a target."""

    span_id: str
    service: str
    name: str
    open_links: bool  # a linking span: open what the page shows of its links


@dataclass
class TracePage:
    """What a trace's page showed as a whole: whether the trace was drawn at all, and, when it was
    not, the page's own words (its error banner, the error its script threw) or what the render
    stage saw (it never settled, its tab stopped answering)."""

    trace_id: str
    drawn: bool = True
    words: str = ""  # why it was not drawn, in the page's own words where it had any
    console_errors: list[str] = field(default_factory=list)  # what the page's script threw or logged as errors
    missing: list[str] = field(default_factory=list)  # spans asked about that the drawn page does not have
    after: str = ""  # what the stage did after it, e.g. the tab closed and a fresh page opened

    @property
    def shown(self) -> bool:
        return self.drawn and not self.missing

    def to_json(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value or key == "drawn"}


def script_error_words(error: Exception) -> str:
    """What a page's script threw, as `Name: message` (the browser hands it over as an Error)."""
    return f"{getattr(error, 'name', '') or type(error).__name__}: {getattr(error, 'message', '') or error}"


class TraceNotDrawnError(LinkmatrixError):
    """A UI reader's finding, not a failure to measure: the page loaded and did not draw the trace
    (blank, an error banner, a script error). Its message is in the page's own words."""

    def __init__(self, words: str, console_errors: list[str] | None = None) -> None:
        super().__init__(words)
        self.words = words
        self.console_errors = console_errors or []
