"""Two runs compared cell by cell: what got worse, what got better, what else changed, which cells
only one run has, which could not be measured, and which versions (and, under Docker, which image
digests) changed in between (nightly runs compare reports).

A cell is keyed by (scenario, pipeline, feature, backend, read path). Worse means preserved →
degraded or lost, or degraded → lost. A cell that is `error` in the new run is neither worse nor
better: it could not be measured, and says nothing about the versions under test (a flaky night is
not a broken upgrade), so it has an exit code of its own. A waiver (`waivers`) turns a known
regression into a warning until it expires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..model import DEGRADED, ERROR, LOST, PRESERVED
from .waivers import Waiver, today_utc

REGRESSED_EXIT = 3  # `linkmatrix diff`, `merge` and `run --baseline`: some cell got worse
UNMEASURED_EXIT = 4  # nothing measured got worse, but some cells of the new run could not be measured
RANK = {PRESERVED: 0, DEGRADED: 1, LOST: 2}  # how much of a feature is gone

CellKey = tuple[str, str, str, str, str]
DIGEST_SHOWN = 19  # "sha256:" and 12 hex digits: enough to tell two images apart in a line


@dataclass
class Change:
    key: CellKey
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @property
    def parts(self) -> dict[str, str]:
        """The cell's key by name, as waivers match it."""
        scenario, pipeline, feature, backend, read_path = self.key
        return {"scenario": scenario, "pipeline": pipeline, "feature": feature, "backend": backend,
                "read_path": read_path}

    def where(self) -> str:
        scenario, pipeline, feature, backend, read_path = self.key
        return f"{scenario} · pipeline {pipeline} · {feature} · {backend}/{read_path}"

    def line(self) -> str:
        return f"{self.where()}: {_state(self.old)} → {_state(self.new)}"

    def to_json(self) -> dict[str, Any]:
        return {**self.parts, "old": _brief(self.old), "new": _brief(self.new)}


@dataclass
class Waived:
    change: Change
    waiver: Waiver

    def line(self) -> str:
        return f"{self.change.line()} — waived until {self.waiver.expires.isoformat()}: {self.waiver.reason}"

    def to_json(self) -> dict[str, Any]:
        return {**self.change.to_json(), "waiver": self.waiver.to_json()}


def expired_line(waiver: Waiver) -> str:
    return f"{waiver.pattern()} — expired {waiver.expires.isoformat()}, waives nothing: {waiver.reason}"


@dataclass
class Diff:
    regressed: list[Change] = field(default_factory=list)
    improved: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)  # neither (a different hop, n/a ↔ measured, …)
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    unmeasured: list[Change] = field(default_factory=list)  # `error` in the new run: could not be measured
    waived: list[Waived] = field(default_factory=list)  # regressions a waiver turns into warnings
    expired: list[Waiver] = field(default_factory=list)  # waivers past their date: said, and waive nothing
    versions: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # name → (old, new)
    # service → its image digest in each run (Docker runs): named beside its version, or alone when only it changed
    images: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return REGRESSED_EXIT if self.regressed else UNMEASURED_EXIT if self.unmeasured else 0

    def counts(self) -> str:
        return ", ".join(f"{len(getattr(self, kind))} {title}" for kind, title in (
            ("regressed", "regressed"), ("waived", "waived"), ("unmeasured", "could not be measured"),
            ("improved", "improved"), ("changed", "changed"), ("added", "added"), ("removed", "removed")))

    def version_lines(self) -> list[str]:
        """Versions that changed, each with its image digests when there are any, then images whose
        digest alone changed (a tag pushed again)."""
        out = []
        for name, (old, new) in self.versions.items():
            digests = self.images.get(name)
            beside = f" (image {_digest(digests[0])} → {_digest(digests[1])})" if digests else ""
            out.append(f"versions: {name} {old or '(none)'} → {new or '(none)'}{beside}")
        out += [f"images: {name} {_digest(old)} → {_digest(new)}" for name, (old, new) in self.images.items()
                if name not in self.versions and old != new]
        return out

    def lines(self) -> list[str]:
        out = self.version_lines()
        out += [f"regressed: {change.line()}" for change in self.regressed]
        out += [f"waived: {waived.line()}" for waived in self.waived]
        out += [f"could not measure: {change.line()}" for change in self.unmeasured]
        for title, changes in (("improved", self.improved), ("changed", self.changed), ("added", self.added),
                               ("removed", self.removed)):
            out += [f"{title}: {change.line()}" for change in changes]
        out += [f"expired waiver: {expired_line(waiver)}" for waiver in self.expired]
        return [*out, f"{self.counts()}; exit {self.exit_code}"]

    def to_json(self) -> dict[str, Any]:
        return {"exit_code": self.exit_code,
                "versions": {name: {"old": old, "new": new, **({"image": {"old": self.images[name][0],
                                                                           "new": self.images[name][1]}}
                                                                if name in self.images else {})}
                             for name, (old, new) in self.versions.items()},
                "images": {name: {"old": old, "new": new} for name, (old, new) in self.images.items()},
                **{title: [change.to_json() for change in getattr(self, title)]
                   for title in ("regressed", "improved", "changed", "added", "removed", "unmeasured")},
                "waived": [waived.to_json() for waived in self.waived],
                "expired_waivers": [waiver.to_json() for waiver in self.expired]}


def _digest(digest: str | None) -> str:
    return digest[:DIGEST_SHOWN] + "…" if digest and len(digest) > DIGEST_SHOWN else digest or "(none)"


def _brief(cell: dict[str, Any] | None) -> dict[str, Any] | None:
    if cell is None:
        return None
    return {key: cell[key] for key in ("verdict", "hop", "summary", "reason") if cell.get(key)}


def _state(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "(no cell)"
    text = cell["verdict"] + (f" at {cell['hop']}" if cell.get("hop") else "")
    detail = cell.get("summary") or cell.get("reason") or ""
    return f"{text} ({detail.splitlines()[0][:120]})" if detail else text


def is_worse(old: str, new: str) -> bool:
    return old in RANK and new in RANK and RANK[new] > RANK[old]


def is_better(old: str, new: str) -> bool:
    if old == ERROR:
        return new in RANK
    return old in RANK and new in RANK and RANK[new] < RANK[old]


def cell_key(cell: dict[str, Any]) -> CellKey:
    return cell["scenario"], cell["pipeline"], cell["feature"], cell["backend"], cell["read_path"]


def _cells(document: dict[str, Any]) -> dict[CellKey, dict[str, Any]]:
    return {cell_key(c): c for c in document.get("cells", [])}


def image_digests(document: dict[str, Any]) -> dict[str, str]:
    """Service (or backend) → the digest of the image it ran (Docker runs only)."""
    found = {backend: column["image"]["digest"] for column in document.get("columns", [])
             if (column.get("image") or {}).get("digest") for backend in [column["backend"]]}
    for name, service in (document.get("run", {}).get("services") or {}).items():
        digest = (service.get("image") or {}).get("digest") if isinstance(service, dict) else None
        if digest:
            found[name] = digest
    return found


def compare(old: dict[str, Any], new: dict[str, Any], waivers: list[Waiver] | None = None,
            today: date | None = None) -> Diff:
    """`waivers` (with `today`, the day they are judged on) turn matching regressions into warnings."""
    diff = Diff()
    before, after = _cells(old), _cells(new)
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key), after.get(key)
        change = Change(key, was, now)
        if now is not None and now["verdict"] == ERROR:
            diff.unmeasured.append(change)
        elif was is None:
            diff.added.append(change)
        elif now is None:
            diff.removed.append(change)
        elif is_worse(was["verdict"], now["verdict"]):
            diff.regressed.append(change)
        elif is_better(was["verdict"], now["verdict"]):
            diff.improved.append(change)
        elif (was["verdict"], was.get("hop")) != (now["verdict"], now.get("hop")):
            diff.changed.append(change)
    old_versions, new_versions = old.get("run", {}).get("versions", {}), new.get("run", {}).get("versions", {})
    diff.versions = {name: (old_versions.get(name), new_versions.get(name))
                     for name in sorted(old_versions.keys() | new_versions.keys())
                     if old_versions.get(name) != new_versions.get(name)}
    old_images, new_images = image_digests(old), image_digests(new)
    diff.images = {name: (old_images.get(name), new_images.get(name))
                   for name in sorted(old_images.keys() | new_images.keys())}
    if waivers:
        waive(diff, waivers, today)
    return diff


def waive(diff: Diff, waivers: list[Waiver], today: date | None = None) -> None:
    """Move each regression an unexpired waiver matches to `waived`; list the expired waivers."""
    day = today or today_utc()
    active = [waiver for waiver in waivers if waiver.active(day)]
    diff.expired = [waiver for waiver in waivers if not waiver.active(day)]
    still = []
    for change in diff.regressed:
        waiver = next((w for w in active if w.matches(change.parts)), None)
        if waiver:
            diff.waived.append(Waived(change, waiver))
        else:
            still.append(change)
    diff.regressed = still

