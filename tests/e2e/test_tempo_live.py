"""Tempo, live — only when a Tempo is given (a `tempo` binary on PATH or in LINKMATRIX_TEMPO_BIN, or a
running one in LINKMATRIX_TEMPO_URL). Its contract tests on recorded answers run everywhere
(tests/unit/test_tempo_contract.py)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.backends.tempo._adapter import BACKEND as TEMPO

from .test_matrix_live import cell

pytestmark = pytest.mark.skipif(TEMPO.unavailable() is not None,
                                reason=f"Tempo live tests skipped: {TEMPO.unavailable()}")


def test_tempo_columns_are_measured(document: dict[str, Any]) -> None:
    assert "tempo" not in document["run"]["skipped"]
    assert not document["run"]["versions"]["tempo"].startswith("unknown")
    for read_path in ("api_v1", "api_v2"):
        assert cell(document, "cross-trace-attributes", "link.attribute.int", "tempo", read_path)["verdict"] == "preserved"
        assert cell(document, "thousand-links", "link.present", "tempo", read_path)["verdict"] == "preserved"


def test_tempo_cuts_long_link_attribute_values(document: dict[str, Any]) -> None:
    long_values = cell(document, "long-link-attribute", "link.attribute.string", "tempo", "api_v2")
    assert (long_values["verdict"], long_values["hop"]) == ("degraded", "backend")
    assert {d["note"] for d in long_values["evidence"]["difference"]} == {
        "truncated to 2048 of 3000 characters", "truncated to 2048 of 70000 characters"}


def test_tempo_keeps_invalid_context_links_that_carry_data(document: dict[str, Any]) -> None:
    present = cell(document, "invalid-context-links", "link.present", "tempo", "api_v2")
    assert (present["verdict"], present["changed_at"]) == ("degraded", ["sdk"])


def test_traceql_finds_links_but_not_a_full_id_with_a_leading_zero(document: dict[str, Any]) -> None:
    for feature in ("search.link_trace_id", "search.link_span_id", "search.link_attribute"):
        assert cell(document, "search-by-link", feature, "tempo", "search")["verdict"] == "preserved", feature
    zero = cell(document, "search-by-link-leading-zero", "search.link_trace_id", "tempo", "search")
    assert (zero["verdict"], zero["hop"]) == ("lost", "backend")
    assert "starts with 0" in zero["meaning"]


def test_tempo_drops_link_flags_once_it_writes_its_block(document: dict[str, Any]) -> None:
    """Fresh, the live store still has the is-remote bits; settled, the block has no link flags."""
    fresh = cell(document, "unsampled-target", "link.flags", "tempo", "api_v2")
    settled = cell(document, "unsampled-target", "link.flags", "tempo", "api_v2_settled")
    assert fresh["verdict"] == "preserved"
    assert (settled["verdict"], settled["changed_at"]) == ("lost", ["backend"])
    assert settled["evidence"]["fresh_read"]["verdict"] == "preserved"
    assert "once it writes the trace into its block" in settled["meaning"]
    assert 0 < document["run"]["stage_detail"]["settled"]["tempo"] < 60
    for read_path in ("api_v1_settled", "api_v2_settled"):  # everything else reads the same settled
        assert cell(document, "cross-trace-attributes", "link.attribute.int", "tempo", read_path)["verdict"] == "preserved"
