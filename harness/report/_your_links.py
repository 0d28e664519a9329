"""Your links, one by one: for each replayed capture, the spans of the capture that link (service,
span name, how many links, the keys of their attributes), and per column and pipeline how many of
those links came back and which of their fields did not. Links whose target is not in the capture
are said too: they were sent as they were, and nothing of theirs can arrive.

Built from the emissions (what the capture held) and the judged cells' evidence (field paths such
as `spans[orders/consume-batch].links[2].attributes[messaging.message.id]`), nothing else.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from ..model import CAPTURE, LINK_PRESENT, Emission, Span

SPANS_LISTED = 200  # linking spans per capture in matrix.json (each with every column): the rest counted
OUTSIDE_LISTED = 20  # link targets outside the capture, listed by id; the rest counted
_LINK_PATH = re.compile(r"^spans\[(?P<label>.*)\]\.links(?:\[(?P<index>\d+)\](?:\.(?P<field>.+))?)?$")


def your_links(emissions: Iterable[Emission], cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per replayed capture (none for a run of YAML scenarios only)."""
    captures: dict[str, Emission] = {}
    for emission in emissions:
        if emission.first_hop == CAPTURE:
            captures.setdefault(emission.scenario, emission)
    return [_capture(emission, [c for c in cells if c["scenario"] == name]) for name, emission in captures.items()]


def _capture(emission: Emission, cells: list[dict[str, Any]]) -> dict[str, Any]:
    linking = emission.linking_spans
    finished = {span.key: span for span in emission.sdk}
    outside = [(span, link) for span in linking for link in span.links if link.target in emission.outside_targets]
    columns = _columns(cells)
    return {
        "scenario": emission.scenario,
        "linking_spans": len(linking),
        "links": sum(len(span.links) for span in linking),
        "spans": [_span(emission, span, finished.get(span.key, span), columns) for span in linking[:SPANS_LISTED]],
        "outside_targets": {
            "links": len(outside),
            "listed": [{"from": emission.labels.get(span.key, span.name), "trace_id": link.trace_id,
                        "span_id": link.span_id} for span, link in outside[:OUTSIDE_LISTED]],
        },
    }


ColumnKey = tuple[str, str, str]  # backend, read_path, pipeline


def _columns(cells: list[dict[str, Any]]) -> dict[ColumnKey, list[dict[str, Any]]]:
    """The capture's link cells by column and pipeline, in the report's order."""
    by_column: dict[ColumnKey, list[dict[str, Any]]] = defaultdict(list)
    for cell in cells:
        if cell["feature"].startswith("link."):
            by_column[(cell["backend"], cell["read_path"], cell["pipeline"])].append(cell)
    return by_column


def _span(emission: Emission, span: Span, finished: Span, columns: dict[ColumnKey, list[dict[str, Any]]]
          ) -> dict[str, Any]:
    label = emission.labels.get(span.key, span.name)
    return {
        "label": label,
        "service": emission.service_of(span.key),
        "name": span.name,
        "links": len(span.links),
        # What the service's SDK dropped before the capture (its link limit): the capture cannot hold them.
        "dropped_before_capture": finished.dropped_links_count,
        "link_attribute_keys": sorted({key for link in span.links for key in link.attributes}),
        "outside_links": sum(link.target in emission.outside_targets for link in span.links),
        "columns": [_survived(label, len(span.links), key, column_cells) for key, column_cells in columns.items()],
    }


def _survived(label: str, sent: int, key: ColumnKey, cells: list[dict[str, Any]]) -> dict[str, Any]:
    """How many of one span's links a column showed, and which fields of them it did not keep
    (field → how many links lost it)."""
    backend, read_path, pipeline = key
    present = next((cell for cell in cells if cell["feature"] == LINK_PRESENT), None)
    lost: dict[str, set[int]] = defaultdict(set)
    for cell in cells:
        for difference in cell.get("evidence", {}).get("difference", []):
            matched = _LINK_PATH.match(difference.get("path", ""))
            if not matched or matched["label"] != label or matched["index"] is None:
                continue
            lost[matched["field"] or cell["feature"].removeprefix("link.")].add(int(matched["index"]))
    return {"backend": backend, "read_path": read_path, "pipeline": pipeline,
            "verdict": present["verdict"] if present else "n/a",
            "links": _links_shown(present, label, sent),
            "fields_lost": {field: len(indexes) for field, indexes in sorted(lost.items())}}


def _links_shown(present: dict[str, Any] | None, label: str, sent: int) -> int | None:
    """The links the column showed for this span: from the link.present cell's counts, all of them
    on a preserved cell that counted nothing, None when nothing was measured."""
    if present is None:
        return None
    received = present.get("evidence", {}).get("received")
    if isinstance(received, dict) and isinstance(received.get(label), int):
        return int(received[label])
    return sent if present["verdict"] == "preserved" else None


SPANS_SHOWN = 20  # linking spans per capture on the pages (matrix.json lists more)


def views(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The section as the pages show it: per capture, its linking spans, each with one line per
    column ("Jaeger UI: 3 of 3 links; not kept: attributes[messaging.message.id] on 3")."""
    labels = {(c["backend"], c["read_path"]): c["label"] for c in document["columns"]}
    pipelines = {c["pipeline"] for record in document.get("your_links", []) for span in record["spans"]
                 for c in span["columns"]}
    shown = []
    for record in document.get("your_links", []):
        spans = [{**span, "survived": [_line(column, labels, span["links"], len(pipelines) > 1)
                                       for column in span["columns"]]}
                 for span in record["spans"][:SPANS_SHOWN]]
        outside = record["outside_targets"]
        shown.append({**record, "shown": spans, "more": record["linking_spans"] - len(spans),
                      "outside_more": outside["links"] - len(outside["listed"])})
    return shown


def _line(column: dict[str, Any], labels: dict[tuple[str, str], str], sent: int, name_pipeline: bool
          ) -> dict[str, Any]:
    where = labels.get((column["backend"], column["read_path"]), f"{column['backend']}/{column['read_path']}")
    if name_pipeline:
        where += f" (pipeline {column['pipeline']})"
    count = "links not measured" if column["links"] is None else f"{column['links']} of {sent} links"
    return {"column": where, "verdict": column["verdict"], "count": count,
            "lost": [{"field": field, "links": f"{number} of {sent}"}
                     for field, number in column["fields_lost"].items()]}
