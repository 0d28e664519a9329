"""What a CI system reads of a run: JUnit XML (one test case per cell) and a short Markdown
summary (findings and regressions only) for a step summary or a pull-request comment.

A cell fails where its scenario says what it expects (`expect:` in the scenario file): the matrix
measures backends, and a backend that loses links is a finding, not a broken build — until someone
declares they depend on that feature. Compared with a baseline, a cell that got worse fails too,
expected or not (a waived one passes, saying its waiver). An `error` cell is a JUnit error (not
measured); an `n/a` cell is skipped.
"""

from __future__ import annotations

import fnmatch
import xml.etree.ElementTree as ElementTree
from collections import Counter
from typing import Any

from ..model import DEGRADED, ERROR, LOST, NOT_APPLICABLE, PRESERVED
from . import decide
from ._common import visible
from .diff import RANK, Diff, cell_key, expired_line

FINDINGS_SHOWN = 12  # a PR comment stays short: the rest is in matrix.md


def expectation(expect: dict[str, str], feature: str) -> str | None:
    """The least verdict a scenario expects of a feature (the strictest pattern that matches)."""
    wanted = [verdict for pattern, verdict in expect.items() if fnmatch.fnmatchcase(feature, pattern)]
    return min(wanted, key=RANK.__getitem__) if wanted else None


def junit(document: dict[str, Any], expects: dict[str, dict[str, str]], compared: Diff | None = None) -> str:
    """`expects`: scenario name → its `expect:` mapping; `compared`: the run against its baseline."""
    regressed = {change.key: change for change in compared.regressed} if compared else {}
    waived = {waived.change.key: waived for waived in compared.waived} if compared else {}
    suites = ElementTree.Element("testsuites", name=f"linkmatrix {document['run']['id']}")
    by_suite: dict[str, list[dict[str, Any]]] = {}
    for cell in document["cells"]:
        by_suite.setdefault(f"{cell['scenario']} ({cell['pipeline']})", []).append(cell)
    for name, cells in by_suite.items():
        suite = ElementTree.SubElement(suites, "testsuite", name=name)
        counts: Counter[str] = Counter()
        for cell in cells:
            case = ElementTree.SubElement(suite, "testcase", name=f"{cell['feature']} [{cell['backend']} "
                                          f"{cell['read_path']}]", classname=name.replace(" ", ""))
            counts["tests"] += 1
            detail = cell.get("summary") or cell.get("reason") or cell["verdict"]
            wanted = expectation(expects.get(cell["scenario"], {}), cell["feature"])
            if cell["verdict"] == ERROR:
                counts["errors"] += 1
                ElementTree.SubElement(case, "error", message=f"not measured: {detail}")
            elif cell["verdict"] == NOT_APPLICABLE:
                counts["skipped"] += 1
                ElementTree.SubElement(case, "skipped", message=detail)
            elif (wanted and RANK[cell["verdict"]] > RANK[wanted]) or cell_key(cell) in regressed:
                counts["failures"] += 1
                at = f" at {cell['hop']}" if cell.get("hop") else ""
                reasons = [f"expected {wanted}, got {cell['verdict']}{at}"] if wanted and RANK[cell["verdict"]] > RANK[
                    wanted] else []
                if cell_key(cell) in regressed:
                    was = regressed[cell_key(cell)].old or {}
                    reasons.append(f"regressed against the baseline: {was.get('verdict')} → {cell['verdict']}{at}")
                failure = ElementTree.SubElement(case, "failure", message="; ".join(reasons))
                failure.text = "\n".join(filter(None, [detail, cell.get("meaning", "")]))
            else:
                note = waived.get(cell_key(cell))
                ElementTree.SubElement(case, "system-out").text = f"{cell['verdict']}: {detail}" + (
                    f"\nwaived until {note.waiver.expires.isoformat()}: {note.waiver.reason}" if note else "")
        for pattern, wanted in expects.get(cells[0]["scenario"], {}).items():
            matching = [cell for cell in cells if fnmatch.fnmatchcase(cell["feature"], pattern)]
            # An expectation no cell measured (none there, or only n/a) would pass every night without
            # saying so; a cell that could not be measured is an error already.
            if not any(cell["verdict"] in RANK or cell["verdict"] == ERROR for cell in matching):
                case = ElementTree.SubElement(suite, "testcase", name=f"expect {pattern}",
                                              classname=name.replace(" ", ""))
                counts["tests"] += 1
                counts["failures"] += 1
                why = next((cell.get("reason") for cell in matching if cell["verdict"] == NOT_APPLICABLE), None)
                ElementTree.SubElement(case, "failure", message=f"expected {wanted}, but no cell measured {pattern}: "
                                       + (why or "the scenario's data does not exercise it"))
        suite.attrib.update({key: str(counts[key]) for key in ("tests", "failures", "errors", "skipped")})
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"


def _escape(text: str) -> str:
    """Markdown table cells and list items: one line, no pipes, no HTML, no invisible characters."""
    flat = visible(" ".join(str(text).split()))
    return flat.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def summary(document: dict[str, Any], compared: Diff | None = None) -> str:
    run = document["run"]
    cells = document["cells"]
    counts = Counter(cell["verdict"] for cell in cells)
    lines = [f"### linkmatrix `{run['id']}`", "",
             " · ".join(f"{counts[v]} {v}" for v in (PRESERVED, DEGRADED, LOST, NOT_APPLICABLE, ERROR) if counts[v])
             + f" — {len(cells)} cells", ""]
    if compared is not None:
        lines += [f"**Against the baseline:** {len(compared.regressed)} regressed, {len(compared.waived)} waived, "
                  f"{len(compared.unmeasured)} could not be measured, {len(compared.improved)} improved, "
                  f"{len(compared.added)} added, {len(compared.removed)} removed.", ""]
        for mark, title, shown in (("❌", "regressed", [c.line() for c in compared.regressed]),
                                   ("⚠️", "waived", [w.line() for w in compared.waived]),
                                   ("💥", "could not measure", [c.line() for c in compared.unmeasured]),
                                   ("⌛", "expired waiver", [expired_line(w) for w in compared.expired])):
            lines += [f"- {mark} {title}: {_escape(line)}" for line in shown[:FINDINGS_SHOWN]]
            if len(shown) > FINDINGS_SHOWN:
                lines.append(f"- … and {len(shown) - FINDINGS_SHOWN} more {title} (diff.json)")
        lines += [f"- {_escape(line)}" for line in compared.version_lines()]
        lines.append("")
    findings = [(f["meaning"], len(f["positions"])) for f in decide.findings(decide.Cells(document))]
    if findings:
        lines += ["**Findings** (what tells backends apart first; cells each; details in matrix.md):", ""]
        lines += [f"- {_escape(text)} ({count})" for text, count in findings[:FINDINGS_SHOWN]]
        if len(findings) > FINDINGS_SHOWN:
            lines.append(f"- … and {len(findings) - FINDINGS_SHOWN} more in matrix.md")
    if run.get("problems"):
        lines += ["", "**Problems:**", ""] + [f"- {_escape(p.splitlines()[0])}" for p in run["problems"]]
    return "\n".join(lines) + "\n"
