"""A short "what this means for you" line for each finding (a degraded, lost or error cell).

Rules go from specific to general; the first whose test matches the cell writes the line. Each
rule reads only the cell, its column and the run's versions, so a new backend needs no rule to
get a sensible line, and a known behaviour gets a precise one.
"""

from __future__ import annotations

from typing import Any, Callable

Rule = tuple[Callable[[dict[str, Any]], bool], Callable[[dict[str, Any], str, dict[str, str]], str]]


def _differences(cell: dict[str, Any]) -> list[dict[str, Any]]:
    return (cell.get("evidence") or {}).get("difference") or []


def _notes(cell: dict[str, Any]) -> str:
    return " ".join(str(d.get("note", "")) for d in _differences(cell))


def _first_note(cell: dict[str, Any], starting: str) -> str:
    return next((str(d["note"]) for d in _differences(cell) if str(d.get("note", "")).startswith(starting)), "")


def _hop_messages(cell: dict[str, Any], hop: str) -> list[str]:
    return ((cell.get("evidence") or {}).get("hop_messages") or {}).get(hop) or []


def _is(feature: str, *hops: str) -> Callable[[dict[str, Any]], bool]:
    return lambda cell: cell["feature"] == feature and (not hops or cell.get("hop") in hops)


def _search_of_leading_zero_id(cell: dict[str, Any]) -> bool:
    return (cell["feature"] == "search.link_trace_id" and cell.get("hop") == "backend"
            and any('"0' in str(d.get("path", "")) for d in _differences(cell)))


def _changed_as_it_settled(cell: dict[str, Any]) -> bool:
    fresh = (cell.get("evidence") or {}).get("fresh_read")
    return bool(fresh) and "backend" in (cell.get("changed_at") or []) and "backend" not in fresh.get("changed_at", [])


RULES: list[Rule] = [
    (lambda c: c["verdict"] == "error",
     lambda c, label, v: f"Not measured: {(c.get('reason') or 'see the reason').splitlines()[0]}"),
    (_changed_as_it_settled,
     lambda c, label, v: f"{label.split(' ')[0]} changes {c['feature']} once it writes the trace into its block: "
                         "a read in the first seconds (fresh) still shows what every later read (settled) no "
                         "longer does."),
    (lambda c: any("Invalid span link removed" in w
                   for ws in (c.get("evidence") or {}).get("backend_warnings", {}).values() for w in ws),
     lambda c, label, v: f"{label.split(' ')[0]} removes every link whose trace id is all zeros, even one that "
                         "carries attributes (its span warnings say 'Invalid span link removed')."),
    (lambda c: c.get("hop") == "sdk" and c["feature"] in ("link.present", "link.target_ids", "link.order")
     and "invalid" in c["scenario"],
     lambda c, label, v: "The SDK drops a link to the all-zero context unless it carries attributes or a "
                         "trace_state; give such links data, or do not add them."),
    (lambda c: c.get("hop") == "sdk" and ("missing: links[" in _notes(c) or "links missing;" in _notes(c)),
     lambda c, label, v: "The SDK hit its link limit and dropped the oldest links before export; raise "
                         "max_links / OTEL_SPAN_LINK_COUNT_LIMIT if you need them. No backend can show them."),
    (lambda c: c.get("hop") == "sdk" and c["feature"].startswith("link.attribute."),
     lambda c, label, v: "The SDK hit its per-link attribute limit and dropped the oldest attributes; raise "
                         "max_attributes_per_link / OTEL_LINK_ATTRIBUTE_COUNT_LIMIT if you need them."),
    (lambda c: c.get("hop") == "sdk",
     lambda c, label, v: "The SDK changed this before export; no collector or backend setting can bring it back."),
    (_is("link.trace_state", "wire"),
     lambda c, label, v: f"The OTLP exporter (opentelemetry-exporter-otlp-proto-grpc "
                         f"{v.get('opentelemetry-exporter-otlp-proto-grpc', '?')}) does not send a link's "
                         "trace_state: it never leaves your process, whichever backend you choose."),
    (_is("link.flags", "wire"),
     lambda c, label, v: "The OTLP exporter writes only the is-remote bits of a link's flags, not the W3C "
                         "sampled bit: no backend can tell you whether the linked span was sampled."),
    (lambda c: c.get("hop") == "wire",
     lambda c, label, v: "The OTLP exporter does not send this; no backend can show it."),
    (lambda c: c["feature"].startswith("link.attribute.") and "type " in _notes(c),
     lambda c, label, v: (f"The collector's exporter for {label.split(' ')[0]}" if c.get("hop") == "collector"
                          else label) + f" changes the value's type ({_first_note(c, 'type ')}: {label.split(' ')[0]} "
                          "gets link attributes as JSON text, where 2.0 and 2 look alike); do not rely on it."),
    (lambda c: c.get("hop") == "collector" and _hop_messages(c, "collector"),
     lambda c, label, v: f"The collector's exporter for {label.split(' ')[0]} dropped these spans and said why "
                         f"in its log ({_hop_messages(c, 'collector')[0]}); nothing reached "
                         f"{label.split(' ')[0]}, so no setting there can bring them back."),
    (lambda c: c.get("hop") == "collector",
     lambda c, label, v: f"The collector's exporter for {label.split(' ')[0]} changed this on the way; look at "
                         "that exporter and the pipeline, not at the backend."),
    (_is("span.parent_kept", "backend"),
     lambda c, label, v: f"{label} turns a link to the span's own parent into the parent reference "
                         "(FOLLOWS_FROM): the span is shown as linked, no longer as the parent's child."),
    (_search_of_leading_zero_id,
     lambda c, label, v: f"{label} did not match a full 32-digit trace id that starts with 0; "
                         "drop the leading zeros from the id in the query until this is fixed."),
    (lambda c: c["feature"].startswith("search.") and c.get("hop") == "backend",
     lambda c, label, v: f"{label} cannot find spans by this link field; to answer 'what links here', use a "
                         "backend whose search knows link fields."),
    (lambda c: "truncated to" in _notes(c),
     lambda c, label, v: f"{label} cuts long link attribute values ({_first_note(c, 'truncated to')}); keep "
                         "payloads out of link attributes."),
    (lambda c: c.get("hop") == "backend" and _hop_messages(c, "backend"),
     lambda c, label, v: f"{label.split(' ')[0]} refused the request that carried these spans "
                         f"({_hop_messages(c, 'backend')[0][:200]})."),
    (lambda c: c.get("hop") == "backend",
     lambda c, label, v: f"{label} received this but does not return it as sent; if you need it, read "
                         "another path or choose another backend."),
]


def meaning(cell: dict[str, Any], label: str, versions: dict[str, str]) -> str:
    for test, write in RULES:
        if test(cell):
            return write(cell, label, versions)
    return ""
