"""Waivers: a known regression turned into a warning until a date (`linkmatrix diff --waivers FILE`).

A waivers file names cells by glob patterns on the five parts of a cell's key, says why, and says
until when:

    waivers:
      - cell: {scenario: "fan-in-*", feature: "link.attribute.*", backend: jaeger-opensearch}
        reason: "Jaeger 2.13 drops double link attributes on OpenSearch (jaegertracing/jaeger#0000)"
        expires: 2026-03-31

A part left out matches anything. A waiver waives through its expiry day (UTC); from the next day on
it is said to have expired and waives nothing, so a regression nobody fixed fails again.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from ..model import InputError, check_schema, load_yaml

MAX_WAIVERS_BYTES = 1024 * 1024
CELL_PARTS = ("scenario", "feature", "backend", "read_path", "pipeline")

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["waivers"],
    "additionalProperties": False,
    "properties": {"waivers": {"type": "array", "items": {
        "type": "object",
        "required": ["cell", "reason", "expires"],
        "additionalProperties": False,
        "properties": {
            "cell": {"type": "object", "minProperties": 1, "additionalProperties": False,
                     "properties": {part: {"type": "string", "minLength": 1} for part in CELL_PARTS}},
            "reason": {"type": "string", "minLength": 1},
            # A YAML date (2026-03-31) is read as a date, a quoted one as text: both are checked below.
            "expires": {},
        }}}},
}


@dataclass(frozen=True)
class Waiver:
    patterns: dict[str, str]  # cell part → glob; a part not named matches anything
    reason: str
    expires: date

    def matches(self, cell: dict[str, str]) -> bool:
        return all(fnmatch.fnmatchcase(cell[part], pattern) for part, pattern in self.patterns.items())

    def active(self, today: date) -> bool:
        return today <= self.expires

    def pattern(self) -> str:
        return " · ".join(f"{part}={self.patterns[part]}" for part in CELL_PARTS if part in self.patterns)

    def to_json(self) -> dict[str, Any]:
        return {"cell": self.patterns, "reason": self.reason, "expires": self.expires.isoformat()}


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


def load_waivers(path: Path) -> list[Waiver]:
    """Every waiver of a file, or one InputError line (exit 2) naming the file and where it is wrong."""
    shown = str(path)
    _, document = load_yaml(path, limit=MAX_WAIVERS_BYTES, kind="waivers files")
    if document is None:
        raise InputError(shown, "", "is empty; write `waivers: []` for none")
    if not isinstance(document, dict):
        raise InputError(shown, "(file)", "holds no mapping; write `waivers:` and a list of waivers")
    check_schema(document, SCHEMA, shown)
    waivers = []
    for index, entry in enumerate(document["waivers"]):
        expires = entry["expires"]
        if isinstance(expires, str):
            try:
                expires = date.fromisoformat(expires)
            except ValueError:
                expires = None
        if not isinstance(expires, date) or isinstance(expires, datetime):
            raise InputError(shown, f"$.waivers[{index}].expires", f"{entry['expires']!r} is not a date; "
                             "write it YYYY-MM-DD")
        waivers.append(Waiver(dict(entry["cell"]), entry["reason"], expires))
    return waivers
