"""A short "what this means for you" line for each finding (a degraded, lost or error cell).

Rules go from specific to general; the first whose test matches the cell writes the line. A test
reads only structured facts — the feature, the hops that changed it, the kinds of difference,
the evidence the components gave — never the wording of a note or the name of a scenario, so
rewording a note or renaming a scenario cannot change the findings. A new backend needs no rule
to get a sensible line; a known behaviour gets a precise one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..model import (
    LINK_ATTRIBUTE_PREFIX,
    LINK_FLAGS,
    LINK_PRESENT,
    LINK_TARGET_ARRIVED,
    LINK_TRACE_STATE,
    RENDER_ATTRIBUTES_SHOWN,
    RENDER_LINK_SHOWN,
    RENDER_PARENT_KEPT,
    RENDER_PREFIX,
    RENDER_TARGET_IDENTIFIED,
    RENDER_TARGET_MARKED,
    RENDER_TARGET_NAVIGABLE,
    RENDER_TRACE_SHOWN,
    SEARCH_LINK_TRACE_ID,
    SEARCH_PREFIX,
    SPAN_PARENT_WITH_LINK_TO_PARENT,
)
from ._checks import MORE

CellRecord = dict[str, Any]  # a cell as matrix.json writes it (the model's Cell is the one the judge makes)
AdviceRecord = dict[str, Any]  # a backend's advice as the report carries it (model.Advice.to_json)
Test = Callable[[CellRecord], bool]
Write = Callable[[CellRecord, str, dict[str, str]], str]


def _differences(cell: CellRecord) -> list[dict[str, Any]]:
    return list((cell.get("evidence") or {}).get("difference") or [])


def difference_kinds(cell: CellRecord) -> set[str]:
    """The kinds of the cell's differences ("more", the line that says the list was cut, is none)."""
    return {str(d.get("kind", "")) for d in _differences(cell)} - {"more"}


def _first_note(cell: CellRecord, kind: str) -> str:
    return next((str(d.get("note", "")) for d in _differences(cell) if d.get("kind") == kind), "")


def _first_value_changed(cell: CellRecord) -> str:
    changed = next((d for d in _differences(cell) if d.get("kind") == "value_changed"), {})
    return f"{changed.get('expected')} is written {changed.get('actual')}"


def _hop_messages(cell: CellRecord, hop: str) -> list[str]:
    return list(((cell.get("evidence") or {}).get("hop_messages") or {}).get(hop) or [])


def _collector_said(cell: CellRecord, about: str) -> str:
    """The collector's words on this cell's loss: a link's target is dropped by a processor, the
    linking span itself by an exporter that failed — the first message of that kind, else the first."""
    said = _hop_messages(cell, "collector")
    return next((message for message in said if message.startswith(f"collector {about} ")), said[0] if said else "")


def _warnings(cell: CellRecord) -> list[str]:
    return sorted({w for ws in ((cell.get("evidence") or {}).get("backend_warnings") or {}).values() for w in ws})


def _changed_at(cell: CellRecord) -> list[str]:
    return list(cell.get("changed_at") or ([cell["hop"]] if cell.get("hop") else []))


def when(feature: str | None = None, hop: str | None = None, kind: str | None = None,
         changed_at: str | None = None) -> Test:
    """A test on structured facts: the feature (or a prefix ending in "."), the first hop that
    changed it, a kind of difference it has, a hop among every hop that changed it."""
    def test(cell: CellRecord) -> bool:
        return ((feature is None or cell["feature"] == feature
                 or (feature.endswith(".") and cell["feature"].startswith(feature)))
                and (hop is None or cell.get("hop") == hop)
                and (kind is None or kind in difference_kinds(cell))
                and (changed_at is None or changed_at in _changed_at(cell)))
    return test


def matches(cell: CellRecord, facts: dict[str, str]) -> bool:
    """Whether a cell has these facts (a backend's advice says which cells it is about): feature,
    hop, kind and changed_at as `when` reads them; any other key, the cell's field of that name."""
    known = {key: facts.get(key) for key in ("feature", "hop", "kind", "changed_at")}
    return when(**known)(cell) and all(cell.get(key) == value for key, value in facts.items() if key not in known)


class _Versions(dict[str, str]):
    def __missing__(self, package: str) -> str:
        return "?"


def _advised(cell: CellRecord, label: str, versions: dict[str, str], advice: list[AdviceRecord]) -> str:
    """The line the cell's backend gives for it, if it gives one ("" otherwise)."""
    said = next((a["meaning"] for a in advice if a.get("meaning") and matches(cell, a.get("when") or {})), "")
    return said.format_map(_Versions(versions, label=label)) if said else ""


def _changed_as_it_settled(cell: CellRecord) -> bool:
    fresh = (cell.get("evidence") or {}).get("fresh_read") or {}
    return bool(fresh) and "backend" in _changed_at(cell) and "backend" not in fresh.get("changed_at", [])


def _attribute_kind(cell: CellRecord) -> str:
    return str(cell["feature"]).rsplit(".", 1)[-1].replace("_", " ")  # link.attribute.string_array → string array


def _dropped_of(cell: CellRecord, things: str) -> str:
    """"72 of 200 links" from the first missing difference (sent count → count that came back)."""
    missing = next((d for d in _differences(cell) if d.get("kind") == "missing"
                    and isinstance(d.get("expected"), int) and isinstance(d.get("actual"), int)), None)
    if missing is not None:
        return f"{missing['expected'] - missing['actual']} of {missing['expected']} {things}"
    evidence = cell.get("evidence") or {}
    sent, received = evidence.get("sent") or {}, evidence.get("received") or {}
    if not sent or not isinstance(sent, dict) or not isinstance(received, dict) or MORE in sent:
        return f"some {things}"  # (a cut view: its counts are not the whole)
    kept = sum(1 for key in sent if received.get(key) is not None)
    return f"{len(sent) - kept} of {len(sent)} {things}"


def _attributes_over_limit(cell: CellRecord) -> str:
    """"5 of the 8 string attributes of its links (3 more went with whole links it dropped)": the
    attributes a link lost, told from those of links dropped whole."""
    differences = _differences(cell)
    things = _attribute_kind(cell) + " attributes"
    if any(d.get("kind") == "more" for d in differences):  # a cut list: its kinds are not the whole
        return f"some {things} of its links"
    over = sum(1 for d in differences if d.get("kind") == "missing")
    with_links = sum(1 for d in differences if d.get("kind") == "link_missing")
    sent = (cell.get("evidence") or {}).get("sent")
    of = f" of the {len(sent)}" if isinstance(sent, dict) and sent and MORE not in sent else ""
    return (f"{over}{of} {things} of its links"
            + (f" ({with_links} more went with whole links it dropped)" if with_links else ""))


def _relation(cell: CellRecord) -> str:
    """The label a link was listed under instead ("CHILD_OF"), from the first such difference."""
    actual = next((str(d.get("actual", "")) for d in _differences(cell) if d.get("kind") == "relation_changed"), "")
    return actual.removeprefix("listed as ") or "another relation"


def _shapes(cell: CellRecord) -> str:
    """"A root span that links its own child": the link shapes of the trace a page did not draw."""
    shapes = [str(shape) for shape in (cell.get("evidence") or {}).get("link_shapes") or []]
    said = " and ".join(shapes[:2]) if shapes else "this trace's shape"
    return said[:1].upper() + said[1:]


def _how_not_drawn(cell: CellRecord) -> str:
    note = _first_note(cell, "not_drawn")
    return "blank" if "blank" in note else "show an error instead" if "error instead" in note else \
        "hang" if "stopped answering" in note else "never finish drawing"


def _own_summary(cell: CellRecord) -> str:
    """The cell's summary when its first hop is the only one that changed it (else it counts the
    later hops' changes too)."""
    if len(_changed_at(cell)) > 1:
        return "see the evidence per hop"
    return cell.get("summary") or "see the evidence"


def _backend(label: str) -> str:
    return label.split(" ")[0]


ADVISED = None  # the place among the rules of the lines backends give (more specific than those after it)
RULES: list[tuple[Test, Write] | None] = [
    (lambda c: c["verdict"] == "error",
     lambda c, label, v: f"Not measured: {(c.get('reason') or 'see the reason').splitlines()[0]}"),
    (_changed_as_it_settled,
     lambda c, label, v: f"{_backend(label)} changes {c['feature']} once it writes the trace into its block: "
                         "a read in the first seconds (fresh) still shows what every later read (settled) no "
                         "longer does."),
    (when(feature=RENDER_LINK_SHOWN, kind="relation_changed"),
     lambda c, label, v: f"{label} lists the link with its target named and a way to it, but labelled "
                         f"{_relation(c)}: a person reads it as a second parent, not as a link (a link whose "
                         "attributes say opentracing.ref_type=child_of becomes one)."),
    (when(kind="relation_changed"),
     lambda c, label, v: f"{label} returns the link as a {_relation(c)} reference, a second parent, not as a "
                         "link: a link whose attributes say opentracing.ref_type=child_of becomes one."),
    # (a link.target_arrived whose link itself is gone is told by the rules for lost links below)
    (when(feature=LINK_TARGET_ARRIVED, hop="collector", kind="missing"),
     lambda c, label, v: "The collector" + ("" if c["pipeline"] == "collector" else f" ({c['pipeline']} pipeline)")
                         + " dropped the span a link points at"
                         + (f" ({_collector_said(c, 'processor')})" if _hop_messages(c, "collector") else "")
                         + ": the link is still there but leads nowhere, and nothing on the linking span says so."),
    (when(feature=LINK_TARGET_ARRIVED, kind="missing"),
     lambda c, label, v: f"{_backend(label)} does not have the span a link points at: the link leads nowhere."),
    (lambda c: c.get("hop") == "collector" and bool(_hop_messages(c, "collector")),
     lambda c, label, v: f"The collector dropped these spans on their way to {_backend(label)} and said why "
                         f"({_collector_said(c, 'exporter')}); nothing reached {_backend(label)}, so no "
                         "setting there can bring them back."),
    ADVISED,  # here: a line the backend's adapter gives (what its own store or exporter does)
    (when(kind="missing_invalid_target", changed_at="backend"),
     lambda c, label, v: f"{_backend(label)} removes every link whose trace id is all zeros, even one that "
                         "carries attributes" + (f" (its span warnings say '{_warnings(c)[0]}')." if _warnings(c)
                                                 else ".")),
    (when(feature=RENDER_TRACE_SHOWN, kind="not_drawn"),
     lambda c, label, v: f"{_shapes(c)} makes the trace page {_how_not_drawn(c)} in {label}: a person sees "
                         f"none of the trace ({_first_note(c, 'not_drawn').removeprefix('not drawn: ')})."),
    (lambda c: c["feature"].startswith(RENDER_PREFIX) and bool((c.get("evidence") or {}).get("trace_not_drawn")),
     lambda c, label, v: f"{label} did not draw the trace page at all (see render.trace_shown), so nothing of "
                         "it could be seen on the page."),
    (when(feature=RENDER_ATTRIBUTES_SHOWN, hop="backend"),
     lambda c, label, v: f"{label} never shows link attributes (the API it reads has none): read the "
                         "backend's full API when you need them, or a UI that reads it."),
    (when(feature=RENDER_ATTRIBUTES_SHOWN, hop="render", kind="value_changed"),
     lambda c, label, v: f"{label} shows link attributes as raw text, and some read differently from what was "
                         f"sent ({_first_value_changed(c)}): a person sees the escaped form."),
    (when(feature=RENDER_ATTRIBUTES_SHOWN, hop="render"),
     lambda c, label, v: f"{label} does not show link attributes, though its API returned them."),
    (lambda c: c["feature"] == RENDER_TARGET_NAVIGABLE and c.get("hop") == "render"
     and "stopped answering" in _first_note(c, "missing"),
     lambda c, label, v: f"{label} offers a way to the linked span, but following it hangs the page: the tab stops "
                         "answering and a person has to close it "
                         f"({_first_note(c, 'missing').removeprefix('following it does not arrive: ')})."),
    (lambda c: c["feature"] == RENDER_TARGET_NAVIGABLE and c.get("hop") == "render"
     and "does not arrive" in _first_note(c, "missing"),
     lambda c, label, v: f"{label} offers a way to the linked span, but following it does not get there "
                         f"({_first_note(c, 'missing').removeprefix('following it does not arrive: ')})."),
    (when(feature=RENDER_TARGET_NAVIGABLE, hop="render"),
     lambda c, label, v: f"{label} shows the link, but nothing on the page leads to the linked span: a person has to "
                         "copy its ids and search for them."),
    (when(feature=RENDER_TARGET_IDENTIFIED, hop="render"),
     lambda c, label, v: f"{label} does not fully say which span a link points at "
                         f"({_first_note(c, 'value_changed') or 'see the evidence'})."),
    (when(feature=RENDER_PARENT_KEPT, kind="parent_changed"),
     lambda c, label, v: f"{label} draws a span under something other than its parent "
                         f"({_first_note(c, 'parent_changed')}): the trace's tree on screen is not the real one."),
    (when(feature=RENDER_TARGET_MARKED, hop="render"),
     lambda c, label, v: f"{label} shows nothing on a link's target: from the target you cannot tell that "
                         "anything links to it."),
    (when(feature=RENDER_PREFIX, hop="render"),
     lambda c, label, v: f"{label} had this from its API but does not show it on the page."),
    (when(hop="sdk", kind="missing_invalid_target"),
     lambda c, label, v: "The SDK drops a link to the all-zero context unless it carries attributes or a "
                         "trace_state; give such links data, or do not add them."),
    (when(feature=LINK_PRESENT, hop="sdk", kind="missing"),
     lambda c, label, v: f"The SDK dropped {_dropped_of(c, 'links')} of a span (the oldest ones) over its link "
                         "limit before export; raise max_links / OTEL_SPAN_LINK_COUNT_LIMIT if you need them. "
                         "No backend can show them."),
    (when(feature=LINK_ATTRIBUTE_PREFIX, hop="sdk", kind="missing"),
     lambda c, label, v: f"The SDK dropped {_attributes_over_limit(c)} over its per-link attribute limit; raise "
                         "max_attributes_per_link / OTEL_LINK_ATTRIBUTE_COUNT_LIMIT if you need them."),
    (lambda c: c.get("hop") == "sdk" and difference_kinds(c) == {"link_missing"},
     lambda c, label, v: f"The SDK dropped whole links before export, and their {c['feature'].split('.', 1)[1]} "
                         "with them (link present says how many, and which setting keeps them)."),
    (lambda c: c.get("hop") == "sdk" and str(c.get("pipeline", "")).startswith("python-sdk-"),
     lambda c, label, v: f"The earlier SDK release of the {c['pipeline']} pipeline changed this before export; "
                         "see the same cell on the collector pipeline for this run's SDK (Between versions)."),
    (when(feature=RENDER_PREFIX, hop="sdk"),
     lambda c, label, v: f"The SDK changed these links before export, so {label} cannot show them as they were "
                         "written (the link and attribute rows say what the SDK did)."),
    (when(hop="sdk"),
     lambda c, label, v: f"The SDK changed {c['feature']} before export ({_own_summary(c)}); "
                         "no collector or backend setting can bring it back."),
    (when(feature=LINK_TRACE_STATE, hop="wire"),
     lambda c, label, v: f"The OTLP exporter (opentelemetry-exporter-otlp-proto-grpc "
                         f"{v.get('opentelemetry-exporter-otlp-proto-grpc', '?')}) does not send a link's "
                         "trace_state: it never leaves your process, whichever backend you choose."),
    (when(feature=LINK_FLAGS, hop="wire"),
     lambda c, label, v: "The OTLP exporter writes only the is-remote bits of a link's flags, not the W3C "
                         "sampled bit: no backend can tell you whether the linked span was sampled."),
    (when(hop="wire"),
     lambda c, label, v: "The OTLP exporter does not send this; no backend can show it."),
    (when(feature=LINK_ATTRIBUTE_PREFIX, kind="type_changed"),
     lambda c, label, v: (f"The collector's exporter for {_backend(label)}" if c.get("hop") == "collector"
                          else label) + f" changes the value's type ({_first_note(c, 'type_changed')}: "
                         f"{_backend(label)} gets link attributes as JSON text, where 2.0 and 2 look alike); "
                         "do not rely on it."),
    (when(hop="collector"),
     lambda c, label, v: f"The collector's exporter for {_backend(label)} changed this on the way; look at "
                         "that exporter and the pipeline, not at the backend."),
    (when(feature=SPAN_PARENT_WITH_LINK_TO_PARENT, hop="backend", kind="parent_lost"),
     lambda c, label, v: f"{label} turns a link to the span's own parent into the parent reference "
                         "(FOLLOWS_FROM): the span is shown as linked, no longer as the parent's child."),
    (when(feature=SEARCH_LINK_TRACE_ID, hop="backend", kind="not_found_leading_zero"),
     lambda c, label, v: f"{label} did not match a full 32-digit trace id that starts with 0 (1 random id in "
                         "16 does); a query with the leading zeros left out was not tried here."),
    (when(feature=SEARCH_PREFIX, hop="backend", kind="not_all_found"),
     lambda c, label, v: f"{label} returns only some of the spans that carry a link attribute value when more "
                         "match than it returns at once, even with the limits raised as this run did; count "
                         "before you conclude a message was not processed."),
    (when(feature=SEARCH_PREFIX, hop="backend"),
     lambda c, label, v: f"{label} cannot find spans by this link field; to answer 'what links here', use a "
                         "backend whose search knows link fields."),
    (when(kind="truncated"),
     lambda c, label, v: f"{label} cuts long link attribute values ({_first_note(c, 'truncated')}); keep "
                         "payloads out of link attributes."),
    (lambda c: c.get("hop") == "backend" and bool(_hop_messages(c, "backend")),
     lambda c, label, v: f"{_backend(label)} refused the request that carried these spans "
                         f"({_hop_messages(c, 'backend')[0][:200]})."),
    (when(hop="backend"),
     lambda c, label, v: f"{label} received this but does not return it as sent; if you need it, read "
                         "another path or choose another backend."),
]


def _first_rule(cell: CellRecord, label: str, versions: dict[str, str], advice: list[AdviceRecord]) -> str:
    for rule in RULES:
        if rule is ADVISED:
            if said := _advised(cell, label, versions, advice):
                return said
        elif rule[0](cell):
            return rule[1](cell, label, versions)
    return ""


def meaning(cell: CellRecord, label: str, versions: dict[str, str], advice: list[AdviceRecord] | None = None) -> str:
    """The line of the first hop that changed the cell; when a later hop changed it too, that
    hop's line after it (a sampled bit the wire lost is not the SDK's limit). `advice`: what the
    cell's backend says of its own losses (the report's `run.backends`)."""
    advice = advice or []
    first = _first_rule(cell, label, versions, advice)
    later = _changed_at(cell)[1:]
    if not first or not later or cell["verdict"] == "error":
        return first
    then = _first_rule({**cell, "hop": later[0], "changed_at": later}, label, versions, advice)
    return f"{first} Also, at {later[0]}: {then}" if then and then != first else first
