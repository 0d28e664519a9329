"""What every report shows the same way: the verdict marks, a scenario's label, text made visible
(invisible format characters escaped), and the releases a run compared, side by side."""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup

from ..backends import BACKENDS
from ..model import COLLECTOR
from ..model._vocabulary import DEGRADED, ERROR, LOST, NOT_APPLICABLE, PRESERVED
from ..stack._variants import RELEASE_PREFIXES, released_from

VERDICT_MARK: dict[str, str] = {PRESERVED: "✅", DEGRADED: "⚠️", LOST: "❌", NOT_APPLICABLE: "➖", ERROR: "💥"}


FINDING_VERDICTS = (DEGRADED, LOST, ERROR)  # the cells that say something went wrong


# Invisible format characters (Unicode category Cf: bidi controls such as U+202E and U+2066, zero-width
# characters, tags) and the line and paragraph separators: in a report they would reorder or hide
# the text around them, so each is shown by its escape (`\u202e`) instead.
_INVISIBLE = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]")


def visible(text: str) -> str:
    """`text` with every invisible format character written as its escape (`\\u202e`)."""
    return _INVISIBLE.sub(lambda match: _escape_code_point(ord(match.group())), text)


def visible_value(value: Any) -> Any:
    """A template's finalize hook: every text a report shows goes through `visible` (markup stays markup)."""
    if isinstance(value, Markup):
        return Markup(visible(str(value)))  # only ASCII escapes are added: no markup can appear
    return visible(value) if isinstance(value, str) else value


def _escape_code_point(code: int) -> str:
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


_RELEASE_SUFFIX = re.compile(r"-\d+\.\d+\.\d+$")


def family_of(backend: str) -> str:
    """`jaeger-opensearch-2.11.0` → `jaeger-opensearch`: a release of a backend is named after its
    family and version, the current release after its family alone (so are a stack file's and a
    candidate's, which the backend table does not list)."""
    known = BACKENDS.get(backend)
    return (known.family or backend) if known is not None else _RELEASE_SUFFIX.sub("", backend)


def _families(backends: set[str]) -> dict[str, list[str]]:
    """Family → its releases among `backends`, the current one (named as the family) first."""
    by_family: dict[str, list[str]] = {}
    for name in sorted(backends, key=lambda name: (name != family_of(name), name)):
        by_family.setdefault(family_of(name), []).append(name)
    return by_family


SDK_FAMILY = "opentelemetry-sdk"


COLLECTOR_FAMILY = "opentelemetry-collector"


# Families whose earlier releases are pipelines of their own (harness.variants): family → the name
# prefix of those pipelines, and the versions key of the release the plain `collector` pipeline runs.
PIPELINE_FAMILIES = {SDK_FAMILY: (RELEASE_PREFIXES[0], SDK_FAMILY),
                     COLLECTOR_FAMILY: (RELEASE_PREFIXES[1], COLLECTOR)}


def releases_compared(backends: set[str], pipelines: set[str] | None = None) -> dict[str, list[str]]:
    """Family → its releases in this run (the pinned one first), where there are two or more: backend
    releases by backend name; SDK and collector releases by pipeline (the plain `collector` one runs
    the pinned ones)."""
    present = _families(backends)
    for family, (prefix, _) in PIPELINE_FAMILIES.items():
        earlier = sorted(p for p in pipelines or set() if p.startswith(prefix))
        if earlier and COLLECTOR in (pipelines or set()):
            present[family] = [COLLECTOR, *earlier]
    return {family: members for family, members in present.items() if len(members) > 1}


def release_version(family: str, name: str, versions: dict[str, str]) -> str:
    """One release's version in the run's words: a backend's by its name, a pipeline's by its family
    (a collector variant that is not an earlier release's runs on the pinned collector)."""
    if family not in PIPELINE_FAMILIES:
        return versions.get(name, "unknown")
    pinned = PIPELINE_FAMILIES[family][1]
    if name == COLLECTOR or (family == COLLECTOR_FAMILY and released_from(name) is None):
        return versions.get(pinned, "unknown")
    return versions.get(f"{pinned} ({name})", "unknown")


def twin_of(family: str, pinned: str, other: str) -> str:
    """What an earlier release is set beside: an earlier collector's pipeline beside the variant it
    runs again, any other beside its family's pinned release."""
    return (released_from(other) or pinned) if family == COLLECTOR_FAMILY else pinned


def between_versions(cells: list[dict[str, Any]], versions: dict[str, str]) -> list[dict[str, Any]]:
    """The cells whose verdict (or hop) differs between releases of one family in this run
    (`zipkin` 3.6.1 beside `zipkin-2.27.0`; the SDK or the collector beside an earlier release of
    it), side by side, each release named."""
    index = {(c["scenario"], c["pipeline"], c["feature"], c["backend"], c["read_path"]): c for c in cells}
    compared = releases_compared({c["backend"] for c in cells}, {c["pipeline"] for c in cells})
    changed = []
    for family, (pinned, *others) in compared.items():
        by_pipeline = family in PIPELINE_FAMILIES  # which part of a cell's key the release is
        for other in others:
            base = twin_of(family, pinned, other)
            for (scenario, pipeline, feature, backend, read_path), cell in index.items():
                if (pipeline if by_pipeline else backend) != base:
                    continue
                twin = index.get((scenario, other, feature, backend, read_path) if by_pipeline
                                 else (scenario, pipeline, feature, other, read_path))
                if twin is None or (twin["verdict"], twin.get("hop")) == (cell["verdict"], cell.get("hop")):
                    continue
                if NOT_APPLICABLE in (cell["verdict"], twin["verdict"]):  # one of them is not sent there
                    continue
                changed.append({"family": family, "scenario": scenario, "pipeline": pipeline, "feature": feature,
                                "read_path": f"{backend}/{read_path}" if by_pipeline else read_path, "releases": [
                                    {"backend": c["backend"], "pipeline": c["pipeline"],
                                     "version": _release_version(c, family, versions),
                                     "verdict": c["verdict"], "hop": c.get("hop", ""),
                                     "summary": c.get("summary", "") or c.get("reason", "")}
                                    for c in (cell, twin)]})
    return changed


def _release_version(cell: dict[str, Any], family: str, versions: dict[str, str]) -> str:
    if family not in PIPELINE_FAMILIES:
        return release_version(family, cell["backend"], versions)
    return f"{family} {release_version(family, cell['pipeline'], versions)}"


def scenario_label(cell: dict[str, Any]) -> str:
    """The scenario's name, with its pipeline when that is not the default one."""
    return cell["scenario"] if cell["pipeline"] == COLLECTOR else f"{cell['scenario']} ({cell['pipeline']})"
