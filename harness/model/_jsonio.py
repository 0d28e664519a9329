"""JSON in and out of linkmatrix.

Written files are strict JSON (RFC 8259): a double that is NaN or ±Infinity has no JSON number,
so it is written as the string "NaN", "Infinity" or "-Infinity" — the same convention as the
OTLP/JSON and protobuf JSON mappings. Everything linkmatrix writes goes through `dumps`, which
refuses anything else that is not JSON.

Reading is lenient (backends answer what they answer), with one care: "-0" is read as the double
-0.0, not the int 0, because an integer has no negative zero and the sign is data.
"""

from __future__ import annotations

import json
import math
from typing import Any

NAN, INFINITY, NEGATIVE_INFINITY = "NaN", "Infinity", "-Infinity"
NON_FINITE_TEXT = {NAN: math.nan, INFINITY: math.inf, NEGATIVE_INFINITY: -math.inf}


def double_to_json(value: float) -> float | str:
    """A double as strict JSON: itself, or its name when it is not finite."""
    if math.isnan(value):
        return NAN
    if math.isinf(value):
        return INFINITY if value > 0 else NEGATIVE_INFINITY
    return value


def strict(node: Any) -> Any:
    """`node` with every non-finite double replaced by its name (containers are copied)."""
    if isinstance(node, float):
        return double_to_json(node)
    if isinstance(node, dict):
        return {key: strict(value) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return [strict(item) for item in node]
    return node


def dumps(data: Any, **options: Any) -> str:
    return json.dumps(strict(data), allow_nan=False, **options)


READABLE_LIMIT = 2_000_000  # characters: beyond it an evidence file is written compact


def dumps_readable(data: Any, **options: Any) -> str:
    """Indented for a person to read — unless it is big: indenting takes Python's slow encoder
    (measured: 9 s for the sent.json of 50,000 links), and nobody reads megabytes by eye."""
    safe = strict(data)
    compact = json.dumps(safe, allow_nan=False, separators=(",", ":"), **options)
    return compact if len(compact) > READABLE_LIMIT else json.dumps(safe, allow_nan=False, indent=1, **options)


def parse_int(text: str) -> int | float:
    return -0.0 if text == "-0" else int(text)


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_int=parse_int)


def loads_strictly(text: str | bytes) -> Any:
    """Parse as RFC 8259 requires (no NaN or Infinity tokens): how tests and other tools read our files."""
    def reject(token: str) -> Any:
        raise ValueError(f"{token} is not JSON (RFC 8259)")
    return json.loads(text, parse_constant=reject)
