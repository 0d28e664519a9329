"""'What this means for you': the specific rule wins over the general one, and a rule reads only
structured facts — renaming a scenario or rewording a note never changes a finding."""

from __future__ import annotations

from typing import Any

from harness.backends import BACKENDS
from harness.judge._meaning import meaning

VERSIONS = {"opentelemetry-exporter-otlp-proto-grpc": "1.45.2"}


def advice_of(backend: str) -> list[dict[str, Any]]:
    """What a run's report carries of a backend: its adapter's advice."""
    return list(BACKENDS[backend].notes().get("advice") or [])


def cell(feature: str, hop: str | None, verdict: str = "lost", scenario: str = "s",
         differences: list[tuple[str, str]] = (), **extra: Any) -> dict[str, Any]:  # type: ignore[assignment]
    return {"scenario": scenario, "feature": feature, "hop": hop, "verdict": verdict,
            "changed_at": [hop] if hop else [],
            "evidence": {"sent": None, "received": None,
                         "difference": [{"path": "p", "note": note, "kind": kind} for kind, note in differences]},
            **extra}


def test_wire_losses_name_the_exporter_and_its_version() -> None:
    text = meaning(cell("link.trace_state", "wire"), "Tempo /api/v2/traces", VERSIONS)
    assert "opentelemetry-exporter-otlp-proto-grpc 1.45.2" in text and "trace_state" in text
    assert "sampled bit" in meaning(cell("link.flags", "wire", "degraded"), "Jaeger /api/v3", VERSIONS)


def test_sdk_limits_say_which_links_go() -> None:
    limited = cell("link.present", "sdk", "degraded", differences=[("missing", "missing: links[0..71]")])
    assert "dropped some links of a span (the oldest ones)" in meaning(limited, "Jaeger /api/v3", VERSIONS)
    limited["evidence"]["difference"][0].update(expected=200, actual=128)
    assert "The SDK dropped 72 of 200 links of a span" in meaning(limited, "Jaeger /api/v3", VERSIONS)
    attributes = cell("link.attribute.int", "sdk", "degraded", differences=[("missing", "missing")])
    assert "per-link attribute limit" in meaning(attributes, "Jaeger /api/v3", VERSIONS)


def test_links_to_the_all_zero_context_are_told_by_their_kind() -> None:
    by_sdk = cell("link.present", "sdk", "degraded", differences=[("missing_invalid_target", "missing: links[2]")])
    assert "all-zero context" in meaning(by_sdk, "Zipkin /api/v2", VERSIONS)
    by_backend = cell("link.present", "sdk", "lost", differences=[("missing_invalid_target", "x")],
                      changed_at=["sdk", "backend"])
    by_backend["evidence"]["backend_warnings"] = {"job.run-job": ["Invalid span link removed"]}
    text = meaning(by_backend, "Jaeger /api/v3", VERSIONS)
    assert text.startswith("Jaeger removes every link whose trace id is all zeros")
    assert "'Invalid span link removed'" in text


def test_names_and_wording_do_not_change_a_finding() -> None:
    """The old rules matched 'invalid' in a scenario's name and 'missing: links[' in a note."""
    plain = cell("link.present", "sdk", "degraded", differences=[("missing", "missing: links[0..71]")])
    renamed = cell("link.present", "sdk", "degraded", scenario="invalid-but-not-really",
                   differences=[("missing", "72 of them went away")])
    assert meaning(plain, "J", VERSIONS) == meaning(renamed, "J", VERSIONS)
    reworded = cell("link.attribute.string", "backend", "degraded", differences=[("truncated", "cut at 2048")])
    assert "cuts long link attribute values (cut at 2048)" in meaning(reworded, "Tempo /api/v2/traces", VERSIONS)
    no_kind = cell("link.attribute.string", "backend", "degraded", differences=[("value_changed", "truncated to 9")])
    assert "cuts" not in meaning(no_kind, "Tempo /api/v2/traces", VERSIONS)


def test_backend_specific_behaviours() -> None:
    cut = cell("link.attribute.string", "backend", "degraded",
               differences=[("truncated", "truncated to 2048 of 3000 characters")])
    assert meaning(cut, "Tempo /api/v2/traces", VERSIONS).startswith("Tempo /api/v2/traces cuts long link attribute")
    zero = cell("search.link_trace_id", "backend", differences=[("not_found_leading_zero", "not among 0 results")])
    said = meaning(zero, "Tempo TraceQL search", VERSIONS)
    # a workaround no cell tried is never advised: the line says it was not tried
    assert "starts with 0" in said and "not tried" in said and "drop the leading zeros" not in said
    other = cell("search.link_trace_id", "backend", differences=[("not_found", "not among 0 results")])
    assert "cannot find spans by this link field" in meaning(other, "Tempo TraceQL search", VERSIONS)
    folded = meaning(cell("span.parent_kept", "backend", differences=[("parent_lost", "lost its parent")]),
                     "Jaeger UI model /api/traces", VERSIONS)
    assert "parent reference" in folded


def test_a_hops_own_words_are_the_finding() -> None:
    dropped = cell("link.present", "collector")
    dropped["evidence"]["hop_messages"] = {"collector": ["collector exporter zipkin/zipkin.s dropped 2 span(s): NaN"]}
    assert "The collector dropped these spans on their way to Zipkin and said why" in meaning(
        dropped, "Zipkin /api/v2", VERSIONS)
    settled = cell("link.flags", "wire", changed_at=["wire", "backend"])
    settled["evidence"]["fresh_read"] = {"verdict": "degraded", "changed_at": ["wire"]}
    assert "once it writes the trace into its block" in meaning(settled, "Tempo /api/traces (settled)", VERSIONS)


def test_errors_and_unknown_backend_losses_still_get_a_line() -> None:
    assert meaning(cell("link.present", None, "error", reason="Tempo did not start"), "T", VERSIONS) == \
        "Not measured: Tempo did not start"
    assert "does not return it as sent" in meaning(cell("link.order", "backend", "degraded"), "NewDB /api", VERSIONS)


def test_a_render_attribute_written_differently_says_how_it_reads() -> None:
    escaped = cell("render.attributes_shown", "render", "degraded", differences=[("value_changed", "written differently")])
    escaped["evidence"]["difference"][0].update(expected="html='<b>'", actual="html=\\u003cb\\u003e")
    text = meaning(escaped, "Zipkin lens", VERSIONS)
    assert "html='<b>' is written html=\\u003cb\\u003e" in text
    absent = cell("render.attributes_shown", "render", "lost", differences=[("missing", "not on the page")])
    assert "does not show link attributes" in meaning(absent, "Zipkin lens", VERSIONS)


def test_a_target_dropped_in_the_collector_names_the_pipeline() -> None:
    dropped = cell("link.target_arrived", "collector", differences=[("missing", "not there")],
                   pipeline="filter-drop-named")
    assert "The collector (filter-drop-named pipeline) dropped the span a link points at" in meaning(dropped, "Jaeger /api/v3",
                                                                                       VERSIONS)


def test_a_loss_on_the_wire_of_the_sdk_zipkin_pipeline_names_that_exporter() -> None:
    lost = cell("link.present", "wire", pipeline="sdk-zipkin")
    text = meaning(lost, "Zipkin /api/v2", {"opentelemetry-exporter-zipkin-json": "1.45.1"}, advice_of("zipkin"))
    assert "opentelemetry-exporter-zipkin-json 1.45.1" in text and "sends no links" in text
    # the judge knows no backend: without its adapter's advice the line is the general one
    assert meaning(lost, "Zipkin /api/v2", VERSIONS) == "The OTLP exporter does not send this; no backend can show it."
    assert "OTLP exporter does not send" in meaning(cell("link.present", "wire", pipeline="collector"), "Zipkin",
                                                     VERSIONS)


def test_a_storage_that_drops_link_attributes_is_named() -> None:
    dropped = cell("link.attribute.int", "backend", backend="jaeger-opensearch")
    assert "Jaeger on OpenSearch storage keeps a link's target but not its attributes" in meaning(
        dropped, "Jaeger-OpenSearch /api/v3", VERSIONS, advice_of("jaeger-opensearch"))
    flags = cell("link.flags", "backend", backend="jaeger-badger")
    assert "Jaeger on Badger storage" in meaning(flags, "Jaeger-Badger /api/v3", VERSIONS, advice_of("jaeger-badger"))
    # the in-memory Jaeger gives no such advice: the general line
    assert "Jaeger on" not in meaning(dropped, "Jaeger /api/v3", VERSIONS, advice_of("jaeger"))


def test_of_the_collectors_words_the_line_quotes_the_one_about_its_own_loss() -> None:
    said = ["collector processor filter/s.filter-drop-named dropped 1 span(s) (its own count: 4 in, 3 out)",
            "collector exporter zipkin/zipkin.s.filter-drop-named dropped 2 span(s): json: unsupported value: NaN"]
    linking = cell("link.present", "collector", pipeline="filter-drop-named")
    linking["evidence"]["hop_messages"] = {"collector": said}
    assert "(collector exporter zipkin/zipkin.s.filter-drop-named dropped 2 span(s)" in meaning(
        linking, "Zipkin /api/v2", VERSIONS)  # the linking span itself: the exporter that failed
    target = cell("link.target_arrived", "collector", pipeline="filter-drop-named",
                  differences=[("missing", "its target producer.filtered-x is not there: the link dangles")])
    target["evidence"]["hop_messages"] = {"collector": said}
    assert "(collector processor filter/s.filter-drop-named dropped 1 span(s)" in meaning(
        target, "Zipkin /api/v2", VERSIONS)  # the span it points at: the processor that dropped it


def test_a_later_hop_that_changed_the_cell_too_is_said_after_the_first() -> None:
    flags = cell("link.flags", "sdk", "degraded", changed_at=["sdk", "wire"],
                 summary="0 of 200 links' flags kept, 128 changed, 72 missing")
    text = meaning(flags, "Jaeger /api/v3", VERSIONS)
    assert text.startswith("The SDK changed link.flags") and "Also, at wire: " in text and "sampled bit" in text
    assert "128 changed" not in text  # the wire's changes, not the SDK's
    navigable = cell("render.target_navigable", "sdk", changed_at=["sdk", "render"])
    assert "Also, at render: Zipkin Lens shows the link, but nothing on the page leads" in meaning(
        navigable, "Zipkin Lens", VERSIONS)


def test_attributes_over_the_limit_are_told_from_those_of_links_dropped_whole() -> None:
    attributes = cell("link.attribute.string", "sdk", "lost",
                      differences=[("link_missing", "missing")] * 3 + [("missing", "missing")] * 5)
    attributes["evidence"]["sent"] = {f"p{i}": {"string": "v"} for i in range(8)}
    assert meaning(attributes, "Jaeger /api/v3", VERSIONS).startswith(
        "The SDK dropped 5 of the 8 string attributes of its links (3 more went with whole links it dropped) "
        "over its per-link attribute limit")


def test_a_link_target_row_whose_links_are_gone_is_told_as_lost_links_not_as_dangling() -> None:
    gone = cell("link.target_arrived", "sdk", "degraded", differences=[("link_missing", "the link itself is missing")])
    assert meaning(gone, "Jaeger /api/v3", VERSIONS).startswith("The SDK dropped whole links before export")
    by_exporter = cell("link.target_arrived", "wire", pipeline="sdk-zipkin",
                       differences=[("link_missing", "the link itself is missing")])
    assert "Zipkin exporter" in meaning(by_exporter, "Zipkin /api/v2", VERSIONS, advice_of("zipkin"))
    dangling = cell("link.target_arrived", "backend", "degraded", differences=[("missing", "its target is not there")])
    assert "leads nowhere" in meaning(dangling, "Zipkin /api/v2", VERSIONS)
    cut = cell("link.attribute.string", "sdk", "degraded",
               differences=[("link_missing", "missing")] * 25 + [("more", "47 more differences")])
    assert meaning(cut, "Jaeger /api/v3", VERSIONS).startswith("The SDK dropped whole links before export")


def test_a_link_whose_following_hangs_the_tab_says_so() -> None:
    hung = cell("render.target_navigable", "render", differences=[
        ("missing", "following it does not arrive: the tab stopped answering after following it")])
    said = meaning(hung, "Jaeger UI", VERSIONS)
    assert said.startswith("Jaeger UI offers a way to the linked span, but following it hangs the page")
    elsewhere = cell("render.target_navigable", "render", differences=[
        ("missing", "following it does not arrive: the page says 404")])
    assert "hangs" not in meaning(elsewhere, "Jaeger UI", VERSIONS)
