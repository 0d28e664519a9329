"""The page that decides in a minute, built from the cells (never written by hand): a scorecard of
the questions people choosing a backend ask, recipes for what worked, the settings that avoid the
losses before any backend, what was not measured, and the findings ordered by how much they tell
backends apart.

A loss counts against a backend only where it is the backend's own doing: the backend or its UI
changed it, or the collector's exporter for that backend did while the same data passed the
collector on its way to another backend. A loss in the SDK or on the wire is the same for every
backend: it goes to the settings box and the findings, not into the scorecard.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..backends import BACKENDS
from ..judge import when
from ..model import (
    ATTRIBUTE_TYPES,
    BACKEND,
    COLLECTOR,
    COLLECTOR_HOP,
    DEGRADED,
    ERROR,
    FEATURES,
    LINK_DROPPED_ATTRIBUTES_COUNT,
    LINK_PRESENT,
    LOST,
    NOT_APPLICABLE,
    PRESERVED,
    RENDER_LINK_SHOWN,
    RENDER_TARGET_IDENTIFIED,
    RENDER_TARGET_NAVIGABLE,
    SDK_ZIPKIN,
    SEARCH_LINK_ATTRIBUTE,
    SEARCH_LINK_SPAN_ID,
    SEARCH_LINK_TRACE_ID,
    SPAN_DROPPED_LINKS_COUNT,
    LinkmatrixError,
    attribute_feature,
)
from ..stack import toolchain
from ..stack import variants as pipeline_variants

Cell = dict[str, Any]
YES, PARTLY, NO, UNMEASURED = "✅", "⚠️", "❌", "❔"
RANK = {YES: 3, PARTLY: 2, NO: 1, UNMEASURED: 0}
OWN_HOPS = (BACKEND, "render")  # a change at these hops is the backend's (or its UI's) own
NO_QUERY = "has no such query"  # the reason of a search cell whose API cannot express the query


@dataclass(frozen=True)
class Question:
    """One row of the scorecard: what a person choosing asks, and the features that answer it."""

    id: str
    text: str
    features: tuple[str, ...]
    # A count instead of a yes/no: the number a read path reached (the best in the run is ✅); None: yes/no.
    measure: Callable[[list[Cell]], int] | None = None
    # Only these kinds of difference answer "no" (a type question is not about a whole link removed,
    # which link.present tells); empty: any.
    kinds: frozenset[str] = frozenset()


def most_links_back(cells: list[Cell]) -> int:
    """The most links one span had that came back (or were shown) complete on this read path."""
    return max((count for cell in cells if cell["verdict"] == PRESERVED
                for count in ((cell.get("evidence") or {}).get("sent") or {}).values() if isinstance(count, int)),
               default=0)


QUESTIONS: tuple[Question, ...] = (
    Question("ui_targets", "Are link targets visible in the UI?", (RENDER_LINK_SHOWN, RENDER_TARGET_IDENTIFIED)),
    Question("ui_click", "Can I click through to the linked span?", (RENDER_TARGET_NAVIGABLE,)),
    Question("search_attribute", "Can I search by link attribute?", (SEARCH_LINK_ATTRIBUTE,)),
    Question("search_target", "Can I search by link target id?", (SEARCH_LINK_TRACE_ID, SEARCH_LINK_SPAN_ID)),
    Question("drop_counted", "Is a drop visible as a count?",
             (SPAN_DROPPED_LINKS_COUNT, LINK_DROPPED_ATTRIBUTES_COUNT)),
    Question("most_links", "Most links per span, measured", (LINK_PRESENT, RENDER_LINK_SHOWN), most_links_back),
    Question("attribute_types", "Do link attributes keep their types?",
             tuple(attribute_feature(kind) for kind in ATTRIBUTE_TYPES),
             kinds=frozenset({"type_changed", "value_changed", "sign_changed", "missing"})),
)


@dataclass(frozen=True)
class Setting:
    """What to set (in the SDK, the pipeline or the backend) so that a loss seen in the cells does not happen."""

    test: Callable[[Cell], bool]
    setting: str
    avoids: str


SETTINGS: tuple[Setting, ...] = (
    Setting(when(feature=LINK_PRESENT, hop="sdk", kind="missing"),
            "`OTEL_SPAN_LINK_COUNT_LIMIT` (or `SpanLimits(max_links=…)`; 128 by default)",
            "the SDK dropping the oldest links of a span over its limit"),
    Setting(when(feature="link.attribute.", hop="sdk", kind="missing"),
            "`OTEL_LINK_ATTRIBUTE_COUNT_LIMIT` (or `SpanLimits(max_attributes_per_link=…)`; 128 by default)",
            "the SDK dropping the oldest attributes of a link over its limit"),
    Setting(when(hop="sdk", kind="missing_invalid_target"),
            "give a link to an invalid (all-zero) context an attribute or a trace_state, or do not add it",
            "the SDK dropping links to the invalid context that carry no data"),
    Setting(lambda c: c.get("pipeline") == SDK_ZIPKIN and c.get("hop") == "wire",
            "send to Zipkin through a collector (its `zipkin` exporter), not the SDK's own Zipkin exporter",
            "every link missing from Zipkin (the SDK's Zipkin exporter writes none)"),
    Setting(lambda c: c.get("backend") == "tempo" and c.get("hop") == BACKEND and "truncated" in _kinds(c),
            "Tempo's distributor `max_attribute_bytes` (per tenant: the `max_attribute_bytes` override; 2048 by "
            "default; a raised value was not measured here)",
            "Tempo cutting long attribute values"),
)


def _kinds(cell: Cell) -> set[str]:
    return {str(d.get("kind", "")) for d in (cell.get("evidence") or {}).get("difference") or []}


def _first_sentence(text: str) -> str:
    """The claim of a meaning line, without its parentheses and after-colon detail."""
    while True:
        shorter = re.sub(r" ?\([^()]*\)", "", text)
        if shorter == text:
            break
        text = shorter
    sentence = re.split(r": |; |\. ", text)[0].rstrip(".")
    return sentence if len(sentence) <= 160 else sentence[:159] + "…"


def superseded_columns(document: dict[str, Any]) -> set[tuple[str, str]]:
    """Fresh reads whose settled twin is in this run: what users live with is the settled form."""
    present = {(c["backend"], c["read_path"]) for c in document["columns"]}
    return {(c["backend"], c["read_path"]) for c in document["columns"]
            if c.get("age") == "fresh" and (c["backend"], c.get("twin", "")) in present}


def main_pipeline(document: dict[str, Any]) -> str:
    pipelines = document["run"].get("pipelines") or [COLLECTOR]
    return COLLECTOR if COLLECTOR in pipelines else str(pipelines[0])


class Cells:
    """The cells the page is built from, indexed once: the main pipeline's, settled reads only."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        hidden = superseded_columns(document)
        pipeline = main_pipeline(document)
        self.positions = {id(cell): i for i, cell in enumerate(document["cells"])}
        self.cells = [c for c in document["cells"]
                      if c["pipeline"] == pipeline and (c["backend"], c["read_path"]) not in hidden]
        self.columns = {(c["backend"], c["read_path"]): c for c in document["columns"]}
        variants = document["run"].get("variants") or {}
        self.batch_only = {name for name, variant in variants.items()
                           if all(set(step) <= {"batch"} for step in variant.get("processors", []))}
        if COLLECTOR not in variants:
            self.batch_only.add(COLLECTOR)  # the plain pipeline: batching only
        # (scenario, pipeline, feature) → the backends whose cell passed the collector unchanged
        self.passed_collector: dict[tuple[str, str, str], set[str]] = {}
        for cell in document["cells"]:
            if (cell.get("hops") or {}).get(COLLECTOR_HOP) == PRESERVED:
                self.passed_collector.setdefault((cell["scenario"], cell["pipeline"], cell["feature"]),
                                                 set()).add(cell["backend"])

    def position(self, cell: Cell) -> int:
        return self.positions[id(cell)]

    def own_loss(self, cell: Cell, first_hop_only: bool = False) -> bool:
        """Degraded or lost by the backend itself, its UI, or its own exporter in the collector
        (`first_hop_only`: by the first hop that changed it, the one its meaning line speaks of)."""
        if cell["verdict"] not in (DEGRADED, LOST):
            return False
        first = [cell["hop"]] if cell.get("hop") else []
        changed = first if first_hop_only else (cell.get("changed_at") or first)
        if any(hop in OWN_HOPS for hop in changed):
            return True
        if cell.get("hop") != COLLECTOR_HOP:
            return False
        others = self.passed_collector.get((cell["scenario"], cell["pipeline"], cell["feature"]), set())
        # its own exporter: the same data passed the collector towards another backend, or the
        # pipeline has nothing but batching that could have changed it
        return bool(others - {cell["backend"]}) or cell["pipeline"] in self.batch_only

    def no_field(self, cell: Cell) -> bool:
        """n/a because this read path has no field for what the feature needs."""
        if cell["verdict"] != NOT_APPLICABLE:
            return False
        feature = FEATURES.get(cell["feature"])
        column = self.columns.get((cell["backend"], cell["read_path"]), {})
        if feature is not None and feature.is_search:
            return NO_QUERY in str(cell.get("reason", ""))
        return feature is not None and feature.needs is not None and feature.needs in column.get("cannot_carry", [])


@dataclass
class Answer:
    """One scorecard cell (or one read path's answer before the best is chosen)."""

    mark: str
    caveat: str
    cells: list[int]  # positions in the document's cells: the ones behind the answer
    label: str = ""
    count: int = 0  # a count question's number


def _path_answer(question: Question, cells: list[Cell], index: Cells, label: str) -> Answer | None:
    """One read path's answer: each feature judged on its own, then combined (all yes → ✅, all no → ❌)."""
    if question.measure is not None:
        return _count_answer(question, cells, index, label)
    by_feature: dict[str, list[Cell]] = {}
    for cell in cells:
        by_feature.setdefault(cell["feature"], []).append(cell)
    answers = {feature: a for feature, mine in by_feature.items()
               for a in [_feature_answer(question, mine, index)] if a is not None}
    if not answers:
        return None
    if len({a.mark for a in answers.values()}) == 1:
        first = next(iter(answers.values()))
        caveat = first.caveat
        if first.mark == YES:  # every feature kept: the scenarios behind all of them
            caveat = f"{len({c['scenario'] for c in cells if c['verdict'] in (PRESERVED, DEGRADED)})} scenario(s)"
        return Answer(first.mark, caveat, [p for a in answers.values() for p in a.cells[:1]], label)
    parts = [f"{FEATURES[f].title}: {a.mark} {a.caveat}" for f, a in answers.items() if a.mark != YES]
    if len(parts) < len(answers):
        parts.append(f"{len(answers) - len(parts)} other(s) ✅")
    worst = min(answers.values(), key=lambda a: RANK[a.mark])
    return Answer(PARTLY if any(a.mark == YES for a in answers.values()) else worst.mark, " · ".join(parts),
                  worst.cells, label)


def _feature_answer(question: Question, cells: list[Cell], index: Cells) -> Answer | None:
    # Kept: as sent, or all of what reached it when an earlier hop took a part (the backend changed nothing)
    good = [c for c in cells if c["verdict"] == PRESERVED or (c["verdict"] == DEGRADED and not index.own_loss(c))]
    bad = [c for c in cells if index.own_loss(c) and (not question.kinds or question.kinds & _kinds(c))]
    # the caveat speaks of the cell whose first change is the backend's own (its meaning is about it)
    bad.sort(key=lambda c: not index.own_loss(c, first_hop_only=True))
    errors = [c for c in cells if c["verdict"] == ERROR]
    if bad:
        mark = NO if not good and all(c["verdict"] == LOST for c in bad) else PARTLY
        first = bad[0]
        if index.own_loss(first, first_hop_only=True):
            caveat = _first_sentence(first.get("meaning") or first.get("summary") or first["verdict"])
        else:  # its meaning line speaks of an earlier hop: say what this backend's own hop did
            own = [hop for hop in first.get("changed_at") or [] if hop in OWN_HOPS]
            caveat = f"{first['verdict']} at {', '.join(own) or 'its exporter'} too: {first.get('summary', '')}"
        if good:
            scenarios = {c["scenario"] for c in good + bad}
            caveat += f" — {len({c['scenario'] for c in bad})} of {len(scenarios)} scenarios, e.g. {bad[0]['scenario']}"
        return Answer(mark, caveat, [index.position(c) for c in bad])
    if good:
        return Answer(YES, f"{len({c['scenario'] for c in good})} scenario(s)", [index.position(c) for c in good])
    if any(index.no_field(c) for c in cells):
        return Answer(NO, "its API has no field or query for it", [index.position(cells[0])])
    if errors:
        return Answer(UNMEASURED, "not measured: " + str(errors[0].get("reason", "")).splitlines()[0][:120],
                      [index.position(c) for c in errors])
    gaps = [c for c in cells if c["verdict"] == NOT_APPLICABLE and "not rendered" in str(c.get("reason", ""))]
    if gaps:
        return Answer(UNMEASURED, "not measured: " + _first_sentence(str(gaps[0]["reason"])), [])
    upstream = [c for c in cells if c["verdict"] == LOST]
    if upstream:  # measured, but all of it was lost before it: nothing tells this backend apart
        return Answer(UNMEASURED, "every case here lost it before the backend (settings, findings)",
                      [index.position(c) for c in upstream])
    return None


def _count_answer(question: Question, cells: list[Cell], index: Cells, label: str) -> Answer | None:
    """The number this read path reached; which mark it earns is decided against the run's best."""
    assert question.measure is not None
    good = [c for c in cells if c["verdict"] == PRESERVED]
    most = question.measure(good)
    if not most:
        return None
    at = next(c for c in good if question.measure([c]) == most)
    return Answer(YES, f"{most} ({at['scenario']})", [index.position(at)], label, count=most)


def _best(answers: list[Answer], counting: bool) -> Answer:
    """The backend's answer: its best read path (a person can choose which to use), naming the others."""
    best = max(answers, key=(lambda a: a.count) if counting else (lambda a: RANK[a.mark]))
    worse = [a for a in answers if a is not best and (RANK[a.mark] < RANK[best.mark] or counting)]
    caveat = f"{best.label}: {best.caveat}" if len(answers) > 1 else best.caveat
    for other in worse:
        mark = PARTLY if counting and other.count < best.count else other.mark  # a count below the best is ⚠️
        caveat += f" · {other.label}: {mark} {other.caveat}"
    return Answer(best.mark, caveat, best.cells + [p for a in worse for p in a.cells[:1]], best.label, best.count)


def scorecard(index: Cells) -> dict[str, Any]:
    """Rows: the questions; columns: the backends in this run; each cell a mark, a caveat and the
    cells behind it. Read paths of one backend are merged into their best, the others named."""
    backends = list(dict.fromkeys(c["backend"] for c in index.document["columns"]))
    skipped = index.document["run"].get("skipped") or {}
    labels = {key: column["label"] for key, column in index.columns.items()}
    rows = []
    for question in QUESTIONS:
        wanted = set(question.features)
        by_path: dict[tuple[str, str], list[Cell]] = {}
        for cell in index.cells:
            if cell["feature"] in wanted:
                by_path.setdefault((cell["backend"], cell["read_path"]), []).append(cell)
        answers: dict[str, Answer | None] = {}
        for backend in backends:
            mine = [a for key, cells in by_path.items() if key[0] == backend
                    for a in [_path_answer(question, cells, index, labels[key])] if a is not None]
            ui_skipped = [reason for name, reason in skipped.items() if name.startswith(f"{backend}/")]
            if mine:
                answers[backend] = _best(mine, question.measure is not None)
            elif ui_skipped and all(f.startswith("render.") for f in wanted):
                answers[backend] = Answer(UNMEASURED, "not measured: " + _first_sentence(ui_skipped[0]), [])
            else:
                answers[backend] = None
        if question.measure is not None:
            _mark_counts(answers)
        rows.append({"id": question.id, "question": question.text, "features": list(question.features),
                     "answers": [answers[b] for b in backends]})
    return {"backends": backends, "titles": [_title(b) for b in backends], "rows": rows}


def _mark_counts(answers: dict[str, Answer | None]) -> None:
    """A count question: the run's best number is ✅, any less ⚠️ (named against the best)."""
    best = max((a.count for a in answers.values() if a is not None), default=0)
    for answer in answers.values():
        if answer is not None and answer.count < best:
            answer.mark = PARTLY
            answer.caveat += f", fewer than the {best} another backend returned"


def _title(backend: str) -> str:
    adapter = BACKENDS.get(backend)
    return adapter.title if adapter is not None else backend


def recipes(index: Cells) -> list[dict[str, Any]]:
    """What worked, to copy: each search query that found the linking span, and how each UI that
    showed links shows them."""
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for cell in index.cells:
        if not cell["feature"].startswith("search.") or cell["verdict"] not in (PRESERVED, DEGRADED):
            continue
        received = (cell.get("evidence") or {}).get("received") or {}
        key = (cell["backend"], cell["read_path"], cell["feature"])
        for query, answer in received.items():
            if answer == "found" and key not in found:
                found[key] = {"where": index.columns[key[:2]]["label"], "what": FEATURES[cell["feature"]].title,
                              "how": query, "cell": index.position(cell), "kind": "query"}
    shown: dict[tuple[str, str], dict[str, Any]] = {}
    for cell in index.cells:
        column = index.columns[(cell["backend"], cell["read_path"])]
        if cell["feature"] == RENDER_LINK_SHOWN and cell["verdict"] == PRESERVED and column.get("how"):
            shown.setdefault((cell["backend"], cell["read_path"]), {
                "where": column["label"], "what": "see a span's links", "how": column["how"],
                "cell": index.position(cell), "kind": "steps"})
    return [*found.values(), *shown.values()]


def settings(index: Cells) -> list[dict[str, Any]]:
    """The settings that avoid losses this run saw before any backend could act (and the backend
    limits that have one), each with the cells that showed the loss."""
    box = []
    every_pipeline = index.document["cells"]  # the SDK's Zipkin exporter is a pipeline of its own
    for setting in SETTINGS:
        seen = [c for c in every_pipeline if setting.test(c)]
        if seen:
            example = seen[0]
            box.append({"setting": setting.setting, "avoids": setting.avoids, "count": len(seen),
                        "example": f"{example['scenario']}: {example.get('summary') or example['verdict']}",
                        "cell": index.position(example)})
    return box


def not_measured(document: dict[str, Any]) -> list[str]:
    """What this run did not look at, so that nobody reads silence as a pass."""
    run = document["run"]
    backends = {c["backend"] for c in document["columns"]}
    items = [f"{name}: {_first_sentence(reason)}" for name, reason in (run.get("skipped") or {}).items()]
    gaps = {(c["backend"], c["read_path"]): str(c.get("reason", "")) for c in document["cells"]
            if c["verdict"] == NOT_APPLICABLE and "not rendered" in str(c.get("reason", ""))}
    labels = {(c["backend"], c["read_path"]): c["label"] for c in document["columns"]}
    items += [f"{labels[key]}: {_first_sentence(reason)}" for key, reason in gaps.items()]
    errors = [c for c in document["cells"] if c["verdict"] == ERROR]
    if errors:
        items.append(f"{len(errors)} cell(s) could not be measured (error); each says why")
    unselected = sorted(name for name, b in BACKENDS.items()
                        if b.default and name not in backends and name not in (run.get("skipped") or {}))
    if unselected:
        items.append(f"{', '.join(unselected)}: not in this run (`--backend` chose others)")
    storages = sorted(name for name, b in BACKENDS.items() if not b.default and not b.release and name not in backends)
    if storages:
        items.append(f"Jaeger storages other than memory: {', '.join(storages)} (`--storages all`)")
    releases = sorted(name for name, b in BACKENDS.items() if b.release and name not in backends)
    releases += [name for name in (*toolchain.SDK_RELEASES, *toolchain.COLLECTOR_RELEASES)
                 if name not in (run.get("pipelines") or [])]  # an SDK's or collector's: a pipeline of its own
    if releases:
        items.append(f"earlier releases: {', '.join(releases)} (`--versions all`)")
    variants = [name for name in _variant_names() if name not in (run.get("pipelines") or [])]
    if variants:
        items.append(f"{len(variants)} collector pipeline variant(s): {', '.join(variants)} (`--pipelines all`)")
    searched = {c["scenario"] for c in document["cells"] if c["feature"].startswith("search.")}
    items.append(f"search by link fields: only in {len(searched)} scenario(s) that ask for it"
                 if searched else "search by link fields: no scenario asked for it")
    items += ["data older than this run: retention, compaction and a backend restart were not exercised",
              "SDKs other than OpenTelemetry Python; backends other than single instances on one machine "
              "(point `--runtime external` at your own deployment)"]
    return items


def _variant_names() -> list[str]:
    try:
        return [variant.name for variant in pipeline_variants.available(None)]
    except LinkmatrixError:  # a broken pipelines.yaml is the run's problem to report, not the page's
        return []


def _tells_apart(cells: list[Cell], index: Cells) -> int:
    """How much a finding tells backends apart: 2 a backend's own doing, 1 could not measure, 0
    the same for every backend (SDK, wire, or a collector processor on every route)."""
    if any(index.own_loss(c, first_hop_only=True) for c in cells):
        return 2
    return 1 if any(c["verdict"] == ERROR for c in cells) else 0


def findings(index: Cells) -> list[dict[str, Any]]:
    """Every degraded, lost or error cell (settled reads; every pipeline) grouped by what it means
    for a user; backend- and render-level differences first, then what could not be measured, then
    losses common to every backend; within each, the finding on more cells first. Each finding:
    its meaning line and the positions of its cells in the document."""
    hidden = superseded_columns(index.document)
    grouped: dict[str, list[Cell]] = {}
    for cell in index.document["cells"]:
        if cell["verdict"] in (DEGRADED, LOST, ERROR) and (cell["backend"], cell["read_path"]) not in hidden:
            grouped.setdefault(cell.get("meaning") or cell.get("summary") or cell["verdict"], []).append(cell)
    ordered = sorted(grouped.items(), key=lambda item: (-_tells_apart(item[1], index), -len(item[1])))
    return [{"meaning": text, "positions": [index.position(c) for c in cells]} for text, cells in ordered]
