"""'What this means for you': the specific rule wins over the general one."""

from __future__ import annotations

from harness.meaning import meaning

VERSIONS = {"opentelemetry-exporter-otlp-proto-grpc": "1.45.2"}


def cell(feature: str, hop: str | None, verdict: str = "lost", scenario: str = "s", **extra) -> dict:
    return {"scenario": scenario, "feature": feature, "hop": hop, "verdict": verdict,
            "evidence": {"sent": None, "received": None, "difference": []}, **extra}


def test_wire_losses_name_the_exporter_and_its_version() -> None:
    text = meaning(cell("link.trace_state", "wire"), "Tempo /api/v2/traces", VERSIONS)
    assert "opentelemetry-exporter-otlp-proto-grpc 1.45.2" in text and "trace_state" in text
    assert "sampled bit" in meaning(cell("link.flags", "wire", "degraded"), "Jaeger /api/v3", VERSIONS)


def test_sdk_limits_say_which_links_go() -> None:
    limited = cell("link.present", "sdk", "degraded")
    limited["evidence"]["difference"] = [{"path": "spans[a].links", "note": "missing: links[0..71]"}]
    assert "dropped the oldest links" in meaning(limited, "Jaeger /api/v3", VERSIONS)


def test_backend_specific_behaviours() -> None:
    cut = cell("link.attribute.string", "backend", "degraded")
    cut["evidence"]["difference"] = [{"path": "p", "note": "truncated to 2048 of 3000 characters"}]
    assert meaning(cut, "Tempo /api/v2/traces", VERSIONS).startswith("Tempo /api/v2/traces cuts long link attribute")
    zero = cell("search.link_trace_id", "backend")
    zero["evidence"]["difference"] = [{"path": 'search[{ link:traceID = "0a19" }]', "note": "not found"}]
    assert "starts with 0" in meaning(zero, "Tempo TraceQL search", VERSIONS)
    folded = meaning(cell("span.parent_kept", "backend"), "Jaeger UI model /api/traces", VERSIONS)
    assert "parent reference" in folded


def test_errors_and_unknown_backend_losses_still_get_a_line() -> None:
    assert meaning(cell("link.present", None, "error", reason="Tempo did not start"), "T", VERSIONS) == \
        "Not measured: Tempo did not start"
    assert "does not return it as sent" in meaning(cell("link.order", "backend", "degraded"), "NewDB /api", VERSIONS)
