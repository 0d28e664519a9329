"""`--redact`: a run folder fit to paste into an issue tracker. Every string (and bytes) attribute
value of a replayed capture is replaced, in every file of the folder — the reports, sent.json,
raw/, logs — by its type and length (`REDACTED-string-12-chars`); keys, names and verdicts stay.

It works on the text of the files, as written, so that no file is missed: a value is looked for as
it is and as JSON (Python's and Go's), HTML, Markdown and URLs write it. The placeholder holds no character any of them
escapes, so every JSON file stays valid. Screenshots show values as pixels: they are removed.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

# Shorter values are left: replacing "ok" or "eu" wherever it occurs would rewrite the reports' own words.
MIN_REDACTED_CHARS = 4
SCREENSHOT_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


@dataclass
class Redaction:
    values: int = 0  # distinct values looked for
    left_short: int = 0  # values shorter than MIN_REDACTED_CHARS, left as they are
    files: int = 0  # files in which a value was replaced
    screenshots_removed: int = 0
    unreadable_removed: list[str] = field(default_factory=list)  # files that are not text

    def line(self) -> str:
        parts = [f"redacted: {self.values} capture attribute value(s) replaced by their type and length in "
                 f"{self.files} file(s)"]
        if self.screenshots_removed:
            parts.append(f"{self.screenshots_removed} screenshot(s) removed")
        if self.unreadable_removed:
            parts.append(f"{len(self.unreadable_removed)} file(s) that are not text removed")
        if self.left_short:
            parts.append(f"{self.left_short} value(s) under {MIN_REDACTED_CHARS} characters, and numbers and "
                         "booleans, left as they are")
        return "; ".join(parts)


def placeholder(kind: str, text: str) -> str:
    """`REDACTED-string-22-chars`: no character that JSON, HTML, Markdown or a URL would escape or end on."""
    unit = "chars" if kind == "string" else "encoded-chars"
    return f"REDACTED-{kind}-{len(text)}-{unit}"


def _written_forms(text: str) -> set[str]:
    """`text` as the files of a run may hold it."""
    flat = " ".join(text.split())
    neutral = flat.replace("<", "&lt;").replace(">", "&gt;").replace("[", "\\[").replace("]", "\\]")
    forms = {text, flat, neutral, neutral.replace("|", "\\|"), flat.replace("|", "\\|"),
             json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1],
             html.escape(text), html.escape(text, quote=False), repr(text)[1:-1], _go_json(text),
             quote(text, safe=""), quote(text), quote_plus(text)}
    forms |= {json.dumps(form)[1:-1] for form in list(forms)}  # a report's text inside JSON
    return {form for form in forms if len(form) >= MIN_REDACTED_CHARS}


def _go_json(text: str) -> str:
    """As Go's encoding/json writes it (the collector, Jaeger): HTML's characters as \\u escapes."""
    return json.dumps(text)[1:-1].replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _pattern(values: set[tuple[str, str]]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    replacement: dict[str, str] = {}
    for kind, text in values:
        for form in _written_forms(text):
            replacement.setdefault(form, placeholder(kind, text))
    if not replacement:
        return None, replacement
    # Longest first: a value that holds another is replaced whole.
    alternatives = sorted(replacement, key=len, reverse=True)
    return re.compile("|".join(re.escape(form) for form in alternatives)), replacement


def redact_folder(run_dir: Path, values: set[tuple[str, str]]) -> Redaction:
    """Replace `values` ((type, text) pairs) in every file under `run_dir`; remove what cannot be read as text."""
    redaction = Redaction(values=len({text for _, text in values if len(text) >= MIN_REDACTED_CHARS}),
                          left_short=len({text for _, text in values if len(text) < MIN_REDACTED_CHARS}))
    pattern, replacement = _pattern(values)
    for path in sorted(run_dir.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        if path.suffix.lower() in SCREENSHOT_SUFFIXES:
            path.unlink()
            redaction.screenshots_removed += 1
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            path.unlink()
            redaction.unreadable_removed.append(str(path.relative_to(run_dir)))
            continue
        if pattern is None:
            continue
        redacted = pattern.sub(lambda found: replacement[found[0]], text)
        if redacted != text:
            path.write_text(redacted, encoding="utf-8")
            redaction.files += 1
    return redaction
