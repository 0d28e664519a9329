"""A scenario as the stages read it: its traces, spans and links, as the scenario file wrote them
(the scenario package reads and validates the files; every other stage reads these records)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._spans import AttrValue
from ._vocabulary import Pipeline

ALL_INSTANCES = "*"


INVALID = "invalid"  # the all-zero span context


NOWHERE = "nowhere"  # a valid context whose span is never sent (a dangling link)


NO_PARENT = "none"  # `parent: none`: another root span in the same trace


@dataclass(frozen=True)
class SpanRef:
    """`producer[2].produce`: a span by trace id, instance (None = same/only, '*' = every) and name.
    The special targets `invalid` and `nowhere` have only `trace` set (to that word)."""

    trace: str
    index: int | str | None = None
    span: str = ""

    @property
    def special(self) -> bool:
        return self.trace in (INVALID, NOWHERE) and not self.span


@dataclass(frozen=True)
class LinkSpec:
    to: SpanRef
    via: str = "memory"  # "message": the target context travels in W3C headers and is extracted
    trace_state: str | None = None
    attributes: dict[str, AttrValue] = field(default_factory=dict)
    added: str = "at_start"  # "after_start": span.add_link() once the span has started
    count: int = 1
    generated_attributes: int = 0


@dataclass(frozen=True)
class SpanSpec:
    name: str
    parent: str | None = None  # None: the trace's first span (or none, for that span); NO_PARENT: a root
    kind: str = "internal"
    inject_message: bool = False
    links: tuple[LinkSpec, ...] = ()


@dataclass(frozen=True)
class TraceSpec:
    id: str
    repeat: int
    spans: tuple[SpanSpec, ...]
    sampled: bool = True
    trace_id_prefix: str = ""


@dataclass(frozen=True)
class SpanLimitsSpec:
    max_links: int | None = None
    max_attributes_per_link: int | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    problem: str
    path: str
    traces: tuple[TraceSpec, ...]
    span_limits: SpanLimitsSpec = SpanLimitsSpec()
    sdk_env: dict[str, str] = field(default_factory=dict)
    pipelines: tuple[Pipeline, ...] = ("collector",)
    checks: tuple[str, ...] | None = None  # None: every feature the scenario exercises
    # Feature pattern (fnmatch: `link.attribute.*`) → the least verdict it must have on every read
    # path (preserved, or degraded); a worse cell fails its JUnit test case.
    expect: dict[str, str] = field(default_factory=dict)
    name_line: int = 1  # where `name:` is, for messages about the scenario as a whole
    # A capture replayed (no traces, no SDK): its documents as serialized OTLP `TracesData`, one per
    # line of the file (plain bytes: the model holds no protobuf), and what the file was.
    capture: tuple[bytes, ...] = ()
    capture_format: str = ""

    @property
    def is_capture(self) -> bool:
        return bool(self.capture)

    def trace(self, trace_id: str) -> TraceSpec:
        return next(trace for trace in self.traces if trace.id == trace_id)
