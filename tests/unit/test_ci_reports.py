"""JUnit XML and the Markdown summary: a cell fails only against what its scenario expects, errors
are errors and n/a is skipped, and hostile values stay text."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from datetime import date

from harness.report import ci
from harness.report.diff import compare
from harness.report.waivers import Waiver

HOSTILE = "</failure><script>alert(1)</script> | ]]>"


def cell(feature: str, verdict: str, backend: str = "zipkin", **extra: str) -> dict:
    return {"scenario": "s", "pipeline": "collector", "feature": feature, "backend": backend,
            "read_path": "api_v2", "verdict": verdict, **extra}


DOCUMENT = {"run": {"id": "r1", "problems": []},
            "columns": [{"backend": "zipkin", "read_path": "api_v2", "label": "Zipkin", "cannot_carry": []}], "cells": [
    cell("link.attribute.int", "degraded", hop="backend", summary=HOSTILE, meaning="types change"),
    cell("link.attribute.string", "preserved"),
    cell("link.present", "lost", hop="sdk"),
    cell("link.flags", "n/a", reason="cannot carry flags"),
    cell("link.order", "error", reason="connection refused"),
]}


def test_only_what_a_scenario_expects_can_fail_and_errors_and_gaps_are_told_apart() -> None:
    assert ci.expectation({"link.attribute.*": "degraded", "link.attribute.int": "preserved"},
                          "link.attribute.int") == "preserved"  # the strictest pattern wins
    xml = ci.junit(DOCUMENT, {"s": {"link.attribute.*": "preserved"}})
    root = ElementTree.fromstring(xml.split("\n", 1)[1])
    (suite,) = root
    assert {key: suite.get(key) for key in ("tests", "failures", "errors", "skipped")} == {
        "tests": "5", "failures": "1", "errors": "1", "skipped": "1"}
    failed = next(case for case in suite if case.find("failure") is not None)
    assert failed.get("name") == "link.attribute.int [zipkin api_v2]"
    failure = failed.find("failure")
    assert failure is not None and failure.get("message") == "expected preserved, got degraded at backend"
    assert HOSTILE in (failure.text or "")  # text, escaped by the XML writer, read back intact
    lost = next(case for case in suite if case.get("name") == "link.present [zipkin api_v2]")
    assert lost.find("failure") is None  # a loss nobody declared a need for is a finding, not a failure
    assert ci.junit(DOCUMENT, {}).count("<failure") == 0


def test_the_summary_is_findings_and_regressions_with_markup_neutralised() -> None:
    baseline = {"schema_version": 1, "run": {"versions": {"zipkin": "3.6.0"}},
                "cells": [cell("link.present", "preserved")]}
    text = ci.summary(DOCUMENT, compare(baseline, {**DOCUMENT, "run": {"versions": {"zipkin": "3.6.1"}}}))
    assert "1 regressed" in text and "s · pipeline collector · link.present · zipkin/api_v2: preserved → lost at sdk" in text
    assert "versions: zipkin 3.6.0 → 3.6.1" in text
    assert "- types change (1)" in text
    assert "<script>" not in ci.summary({**DOCUMENT, "cells": [cell("x", "lost", meaning=HOSTILE)]})


def test_an_expectation_no_cell_measured_fails_instead_of_passing_unseen() -> None:
    xml = ci.junit(DOCUMENT, {"s": {"link.trace_state": "preserved", "link.attribute.*": "degraded"}})
    (suite,) = ElementTree.fromstring(xml.split("\n", 1)[1])
    assert suite.get("tests") == "6" and suite.get("failures") == "1"
    unmeasured = next(case for case in suite if case.get("name") == "expect link.trace_state")
    failure = unmeasured.find("failure")
    assert failure is not None and failure.get("message", "").startswith(
        "expected preserved, but no cell measured link.trace_state")


def test_an_expectation_whose_cells_are_all_not_applicable_fails_with_their_reason() -> None:
    xml = ci.junit(DOCUMENT, {"s": {"link.flags": "preserved", "link.order": "preserved"}})
    (suite,) = ElementTree.fromstring(xml.split("\n", 1)[1])
    names = [case.get("name") for case in suite]
    assert "expect link.order" not in names  # its cell is an error: counted once, as an error
    flags = next(case for case in suite if case.get("name") == "expect link.flags").find("failure")
    assert flags is not None and flags.get("message") == (
        "expected preserved, but no cell measured link.flags: cannot carry flags")


def test_against_a_baseline_a_regression_fails_without_expect_and_a_waived_one_passes_saying_why() -> None:
    baseline = {"schema_version": 1, "run": {"versions": {}}, "cells": [
        cell("link.present", "preserved"), cell("link.attribute.int", "preserved"), cell("link.order", "preserved")]}
    waiver = Waiver({"feature": "link.attribute.*"}, "known, fixed in 3.7", date(2030, 1, 1))
    expired = Waiver({"backend": "jaeger"}, "long gone", date(2020, 1, 1))
    compared = compare(baseline, DOCUMENT, [waiver, expired], today=date(2029, 12, 31))
    (suite,) = ElementTree.fromstring(ci.junit(DOCUMENT, {}, compared).split("\n", 1)[1])
    assert {key: suite.get(key) for key in ("failures", "errors")} == {"failures": "1", "errors": "1"}
    failure = next(case for case in suite if case.get("name") == "link.present [zipkin api_v2]").find("failure")
    assert failure is not None and failure.get("message") == "regressed against the baseline: preserved → lost at sdk"
    waived = next(case for case in suite if case.get("name") == "link.attribute.int [zipkin api_v2]")
    assert "waived until 2030-01-01: known, fixed in 3.7" in (waived.findtext("system-out") or "")
    text = ci.summary(DOCUMENT, compared)
    assert "1 regressed, 1 waived, 1 could not be measured" in text
    assert "- ❌ regressed: s · pipeline collector · link.present · zipkin/api_v2: preserved → lost at sdk" in text
    assert "- ⚠️ waived: s · pipeline collector · link.attribute.int" in text
    assert "- 💥 could not measure: s · pipeline collector · link.order · zipkin/api_v2: preserved → error" in text
    assert "- ⌛ expired waiver: backend=jaeger — expired 2020-01-01, waives nothing: long gone" in text
