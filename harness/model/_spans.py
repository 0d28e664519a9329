"""The normalized span/link model every stage speaks.

Readers turn each backend's answer into these types; checks compare them. Attribute values keep
their OpenTelemetry type, because "42 came back as the string '42'" is a finding, not a match.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from ._jsonio import double_to_json

Scalar = str | bool | int | float
AttrValue = Scalar | tuple[Scalar, ...]

INVALID_TRACE_ID = "0" * 32
INVALID_SPAN_ID = "0" * 16

# W3C trace-flags bit and the OTLP Span.Link.flags bits that say whether is_remote is known/true.
FLAG_SAMPLED = 0x01
FLAG_CONTEXT_HAS_IS_REMOTE = 0x100
FLAG_CONTEXT_IS_REMOTE = 0x200


def value_type(value: AttrValue) -> str:
    """The OpenTelemetry type name of an attribute value (bool is checked before int on purpose)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, tuple):
        inner = {value_type(item) for item in value}
        return f"{inner.pop() if len(inner) == 1 else 'mixed'}_array" if value else "empty_array"
    raise TypeError(f"not an attribute value: {value!r}")


def comparable(value: AttrValue) -> Hashable:
    """A key that is equal exactly when two values are the same OpenTelemetry value: typed (42, 42.0
    and True are three different things), NaN equal to NaN, -0.0 apart from 0.0, +Inf from -Inf."""
    kind = value_type(value)
    if isinstance(value, tuple):
        return kind, tuple(comparable(item) for item in value)
    if isinstance(value, float):
        return (kind, "NaN") if math.isnan(value) else (kind, value, math.copysign(1.0, value))
    return kind, value


def _plain_json(value: AttrValue) -> Any:
    if isinstance(value, tuple):
        return [_plain_json(item) for item in value]
    return double_to_json(value) if isinstance(value, float) else value


def to_json_value(value: AttrValue) -> dict[str, Any]:
    """A strict-JSON form that keeps the type: {"int": 42}, {"string_array": ["a", "b"]},
    {"double": "NaN"} (a non-finite double is written by name, see harness.jsonio)."""
    return {value_type(value): _plain_json(value)}


def attributes_to_json(attributes: dict[str, AttrValue]) -> dict[str, Any]:
    return {key: to_json_value(attributes[key]) for key in sorted(attributes)}


def _intern(record: Any, *names: str) -> None:
    for name in names:
        value = getattr(record, name)
        if type(value) is str:  # a reader's odd value stays as it came, to be judged
            object.__setattr__(record, name, sys.intern(value))


# Attribute keys already made: the same link is held in eight views (sent, wire, collector, every
# read path), and their keys are equal. A run lets its views go; this keeps one key for each.
_ATTRIBUTE_KEYS: dict[tuple[tuple[str, Hashable], ...], tuple[tuple[str, Hashable], ...]] = {}


# Slots, and ids interned: a run of 50,000 links holds each link in eight views (sent, wire,
# collector, every read path), and the same few target ids in all of them.
@dataclass(frozen=True, slots=True)
class Link:
    trace_id: str  # 32 lowercase hex digits
    span_id: str  # 16 lowercase hex digits
    trace_state: str = ""
    attributes: dict[str, AttrValue] = field(default_factory=dict)
    dropped_attributes_count: int = 0
    flags: int | None = None  # None: the read path did not say
    # How the read path lists it when not as a plain link: Jaeger's model can turn a link into a
    # second CHILD_OF reference (a parent). "" = a link.
    relation: str = field(default="", compare=False)
    _attribute_key: tuple[tuple[str, Hashable], ...] | None = field(default=None, init=False, repr=False,
                                                                     compare=False, hash=False)

    def __post_init__(self) -> None:
        _intern(self, "trace_id", "span_id")

    @property
    def target(self) -> tuple[str, str]:
        return self.trace_id, self.span_id

    @property
    def attribute_key(self) -> tuple[tuple[str, Hashable], ...]:
        """Its attributes, typed and in a fixed order: comparable and hashable (worked out once:
        a check of 50,000 links asks for it on every pairing)."""
        if self._attribute_key is None:
            key = tuple(sorted((name, comparable(value)) for name, value in self.attributes.items()))
            key = _ATTRIBUTE_KEYS.setdefault(key, key)  # one tuple for the same link in every view
            object.__setattr__(self, "_attribute_key", key)
            return key
        return self._attribute_key

    def to_json(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "trace_state": self.trace_state,
            "attributes": attributes_to_json(self.attributes),
            "dropped_attributes_count": self.dropped_attributes_count,
            "flags": self.flags,
            **({"relation": self.relation} if self.relation else {}),
        }


@dataclass(frozen=True, slots=True)
class Span:
    trace_id: str
    span_id: str
    name: str
    parent_span_id: str = ""
    links: tuple[Link, ...] = ()
    dropped_links_count: int = 0
    attributes: dict[str, AttrValue] = field(default_factory=dict, compare=False)
    warnings: tuple[str, ...] = ()  # what the backend said it did to the span ("Invalid span link removed")

    def __post_init__(self) -> None:
        _intern(self, "trace_id", "span_id", "parent_span_id", "name")

    @property
    def key(self) -> tuple[str, str]:
        return self.trace_id, self.span_id

    def to_json(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "name": self.name,
            "parent_span_id": self.parent_span_id,
            "links": [link.to_json() for link in self.links],
            "dropped_links_count": self.dropped_links_count,
            **({"warnings": list(self.warnings)} if self.warnings else {}),
        }


def index_spans(spans: list[Span]) -> dict[tuple[str, str], Span]:
    return {span.key: span for span in spans}
