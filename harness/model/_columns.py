"""The columns of the matrix: the read paths a backend declares (an API read of a trace, a search,
a UI page), the answers they give, and the `HttpClient` every read goes through (the stack's `Http`;
the seam tests replace).

- a `TraceReadPath` turns one answer for a trace id into normalized spans ("not found yet" is an
  empty answer, never an exception; the run polls until the expected spans are there) and says
  which link fields it cannot carry at all;
- a `SearchReadPath` asks the backend's search for the linking span by what its link carries;
- a `RenderReadPath` reads what a person sees of a span's links in the backend's UI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ._shown import ShownSpan, SpanToShow
from ._spans import Span
from ._vocabulary import Age, LinkField, MissProof, SearchKind

if TYPE_CHECKING:  # only a type: the browser is loaded by the render stage alone
    from playwright.async_api import Page


class HttpClient(Protocol):
    """What a read path needs of the run's one HTTP session (the stack's `Http`)."""

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> tuple[int, Any]:
        """(status, body): the body decoded as JSON, as text when it is not JSON, None when empty."""
        ...

    def get_text(self, url: str) -> tuple[int, str]: ...


@dataclass
class Answer:
    """One read: the normalized spans plus the raw answer, kept as evidence."""

    spans: list[Span]
    status: int
    raw: Any


@dataclass(frozen=True)
class SearchQuery:
    """Find the linking span by what its link carries: a target trace id, span id, or attribute."""

    kind: SearchKind
    value: Any
    service: str  # service.name of the spans, for APIs that need one
    start: int  # search window, epoch seconds
    end: int
    key: str = ""  # the attribute's name, for link_attribute
    # The span's own name: narrows a control query to the very span, so that the other spans of
    # the run (or of a scenario with many traces) can never push it out of a limited result.
    span_name: str = ""
    # Results asked for: more than the spans that can match, so none is cut off. None: the
    # parameter is not sent, so the API's own default applies (what a person gets who does not set it).
    limit: int | None = 100


@dataclass
class SearchAnswer:
    found: set[tuple[str, str]]  # (trace id, span id) it matched; whole traces where the API gives no span
    status: int
    raw: Any
    query_text: str  # the query as the backend's API received it
    parameters: str = ""  # the result limits it was sent with, as URL parameters ("": the API's defaults)


TraceReader = Callable[[HttpClient, str, str], Answer]  # (http, base url, trace id hex) → answer


Searcher = Callable[[HttpClient, str, SearchQuery], SearchAnswer]  # (http, base url, query) → answer


class _Column:
    """What every column (read path) is named by: `<backend>/<name>`."""

    backend: str
    name: str

    @property
    def id(self) -> str:
        return f"{self.backend}/{self.name}"


class _CarriesEveryField(_Column):
    """A column whose answers are not link fields (a search, a page): none is out of its reach."""

    @property
    def cannot_carry(self) -> frozenset[LinkField]:
        return frozenset()


@dataclass(frozen=True)
class TraceReadPath(_Column):
    backend: str
    name: str
    label: str
    read: TraceReader
    cannot_carry: frozenset[LinkField] = frozenset()
    notes: dict[str, str] = field(default_factory=dict)  # field → why it cannot
    # Data age: "" — one read is final; "fresh" — read as soon as the spans show; "settled" — read
    # again once the backend says its store has settled (Backend.settled). `twin`: the other one.
    age: Age = ""
    twin: str = ""


@dataclass(frozen=True)
class SearchReadPath(_CarriesEveryField):
    backend: str
    name: str
    label: str
    search: Searcher
    kinds: frozenset[SearchKind]  # the queries its API can express at all
    notes: dict[str, str] = field(default_factory=dict)  # search kind → why it cannot
    timeout: float = 30.0  # search indexes lag: its own deadline, apart from trace reads
    # What makes a miss final before the deadline (a miss is only ever judged once proven final):
    # "span" where one store answers every query at once (a span found by its run id is found by
    # any field it has); "link" where link fields are indexed later — measured on Tempo: up to ~30 s
    # after the span's own attributes — so only another field of the same link proves them there.
    misses_proven_by: MissProof = "span"


# (page, base url, trace id, spans to look at, screenshot file) → what the page showed of each span
Renderer = Callable[["Page", str, str, Sequence[SpanToShow], Path], Awaitable[dict[str, ShownSpan]]]


@dataclass(frozen=True)
class RenderReadPath(_CarriesEveryField):
    """What a person sees in the backend's UI, read off the page in a headless browser."""

    backend: str
    name: str
    label: str
    render: Renderer | None  # None: a declared gap, `gap` says why
    api: str = ""  # the trace read path whose API this UI reads: what the page could show at most
    gap: str = ""
    how: str = ""  # the click path a person follows to see a span's links (the report's recipe)
    home: str = "/"  # the UI's first page: loaded while the spans are sent, so its bundle is cached
    notes: dict[str, str] = field(default_factory=dict)


ReadPath = TraceReadPath | SearchReadPath | RenderReadPath


def trace_reader(path: str, normalize: Callable[[Any], list[Span]]) -> TraceReader:
    """A read path that GETs `path` (with {trace_id}) and normalizes a 200 answer; anything else
    is "not visible (yet)": no spans, the answer kept as evidence."""
    def read(http: HttpClient, base_url: str, trace_id: str) -> Answer:
        status, body = http.get_json(base_url + path.format(trace_id=trace_id))
        return Answer(normalize(body) if status == 200 else [], status, body)
    return read


def tag_text(value: Any) -> str:
    """An attribute value as a tag query writes it (bools in lower case, as the SDKs send them)."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class Advice:
    """What a backend's adapter knows of one loss its cells may show: the finding's line in its own
    words, and the setting that avoids the loss (the decide page's settings) with the cell that tried
    it. The report carries it, so the judge and the pages need no backend's name."""

    when: dict[str, str]  # the cell's facts: feature (a prefix ends in "."), hop, kind, pipeline, ...
    meaning: str = ""  # the finding's line; "{label}" is the column's label, "{<package>}" that package's version
    setting: str = ""  # what to set
    avoids: str = ""  # the loss it avoids
    where: str = ""  # where it is set: "pipeline" or "backend"
    tried: dict[str, str] = field(default_factory=dict)  # the facts of this backend's cell that tried it
    tried_how: str = ""  # what that cell's scenario set

    def to_json(self) -> dict[str, Any]:
        return {key: value for key, value in vars(self).items() if value}
