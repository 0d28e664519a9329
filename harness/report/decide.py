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
from dataclasses import dataclass, field
from typing import Any

from ..backends import BACKENDS
from ..judge import difference_kinds, matches, meaning, when
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
    ORDINARY_LINKS,
    PRESERVED,
    RENDER_LINK_SHOWN,
    RENDER_TARGET_IDENTIFIED,
    RENDER_TARGET_NAVIGABLE,
    RENDER_TRACE_SHOWN,
    REPRESENTATIVE_SCENARIOS,
    SEARCH_LINK_ATTRIBUTE,
    SEARCH_LINK_ATTRIBUTE_ALL,
    SEARCH_LINK_SPAN_ID,
    SEARCH_LINK_TRACE_ID,
    SPAN_DROPPED_LINKS_COUNT,
    LinkmatrixError,
    attribute_feature,
)
from ..stack import toolchain
from ..stack import variants as pipeline_variants

CellRecord = dict[str, Any]  # a cell as matrix.json writes it (the model's Cell is the one the judge makes)
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
    measure: Callable[[list[CellRecord]], int] | None = None
    # Only these kinds of difference answer "no" (a type question is not about a whole link removed,
    # which link.present tells); empty: any.
    kinds: frozenset[str] = frozenset()


def most_links_back(cells: list[CellRecord]) -> int:
    """The most links one span had that came back (or were shown) complete on this read path."""
    return max((count for cell in cells if cell["verdict"] == PRESERVED
                for count in ((cell.get("evidence") or {}).get("sent") or {}).values() if isinstance(count, int)),
               default=0)


QUESTIONS: tuple[Question, ...] = (
    Question("ui_drawn", "Does the UI draw the trace, whatever shape its links take?", (RENDER_TRACE_SHOWN,)),
    Question("ui_targets", "Are link targets visible in the UI?", (RENDER_LINK_SHOWN, RENDER_TARGET_IDENTIFIED)),
    Question("ui_click", "Can I click through to the linked span?", (RENDER_TARGET_NAVIGABLE,)),
    Question("search_attribute", "Can I search by link attribute?", (SEARCH_LINK_ATTRIBUTE,)),
    Question("search_target", "Can I search by link target id?", (SEARCH_LINK_TRACE_ID, SEARCH_LINK_SPAN_ID)),
    Question("search_all", "Does a search return every matching span?", (SEARCH_LINK_ATTRIBUTE_ALL,)),
    Question("drop_counted", "Does its API say how many links, and link attributes, the SDK dropped?",
             (SPAN_DROPPED_LINKS_COUNT, LINK_DROPPED_ATTRIBUTES_COUNT)),
    Question("most_links", "Most links per span, measured", (LINK_PRESENT, RENDER_LINK_SHOWN), most_links_back),
    Question("attribute_types", "Do link attributes keep their types?",
             tuple(attribute_feature(kind) for kind in ATTRIBUTE_TYPES),
             kinds=frozenset({"type_changed", "value_changed", "sign_changed", "missing"})),
)


SDK_SIDE, PIPELINE_SIDE, BACKEND_SIDE = "sdk", "pipeline", "backend"
# Where a setting is set, in the order the page shows them, and what that place means for choosing.
WHERE = {
    SDK_SIDE: "In the SDK of each service that adds links — before any backend: no backend choice avoids these",
    PIPELINE_SIDE: "In the pipeline (collector) — before any backend: no backend choice avoids these",
    BACKEND_SIDE: "In the backend — only if you choose that backend",
}


@dataclass(frozen=True)
class Setting:
    """What to set (in the SDK, the pipeline or the backend) so that a loss seen in the cells does
    not happen, and the cell that tried it: a setting no cell tried is named as the limit, not advised."""

    where: str
    test: Callable[[CellRecord], bool]  # a cell that showed the loss
    setting: str
    avoids: str
    # A cell with the setting in place (None: not tried by any scenario).
    tried: Callable[[CellRecord], bool] | None = None
    tried_how: str = ""  # what that cell's scenario set


def _in(scenario: str, feature: str, verdict: str = PRESERVED, **facts: str) -> Callable[[CellRecord], bool]:
    """A test for a cell of one scenario and feature with this verdict (and these other fields)."""
    return lambda c: matches(c, {"scenario": scenario, "feature": feature, "verdict": verdict, **facts})


SETTINGS: tuple[Setting, ...] = (
    Setting(SDK_SIDE, when(feature=LINK_PRESENT, hop="sdk", kind="missing"),
            "`OTEL_SPAN_LINK_COUNT_LIMIT` (or `SpanLimits(max_links=…)`; 128 by default)",
            "the SDK dropping the oldest links of a span over its limit",
            _in("link-count-limit-raised-by-env", LINK_PRESENT), "`OTEL_SPAN_LINK_COUNT_LIMIT=256` for 200 links"),
    Setting(SDK_SIDE, when(feature="link.attribute.", hop="sdk", kind="missing"),
            "`OTEL_LINK_ATTRIBUTE_COUNT_LIMIT` (or `SpanLimits(max_attributes_per_link=…)`; 128 by default)",
            "the SDK dropping the oldest attributes of a link over its limit",
            _in("link-attributes-over-env-limit", attribute_feature("int"), DEGRADED, hop="sdk"),
            "`OTEL_LINK_ATTRIBUTE_COUNT_LIMIT=2`: the SDK obeys it; a value above 128 was not tried"),
    Setting(SDK_SIDE, when(hop="sdk", kind="missing_invalid_target"),
            "give a link to an invalid (all-zero) context an attribute or a trace_state, or do not add it",
            "the SDK dropping links to the invalid context that carry no data",
            _in("invalid-context-links", attribute_feature("string")),
            "a link to the all-zero context with an attribute (whether a backend's store keeps it: the findings)"),
)


def _without_parentheses(text: str) -> str:
    """The text with every parenthesis (nested ones too) and the space before it left out."""
    while True:
        shorter = re.sub(r" ?\([^()]*\)", "", text)
        if shorter == text:
            return text
        text = shorter


def _first_sentence(text: str) -> str:
    """The claim of a meaning line, without its parentheses and after-colon detail."""
    text = _without_parentheses(text)
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
        # backend → what its adapter says of it (title, the store of a storage variant, advice)
        self.backends: dict[str, dict[str, Any]] = document["run"].get("backends") or {}
        variants = document["run"].get("variants") or {}
        self.batch_only = {name for name, variant in variants.items()
                           if all(set(step) <= {"batch"} for step in variant.get("processors", []))}
        if COLLECTOR not in variants:
            self.batch_only.add(COLLECTOR)  # the plain pipeline: batching only
        # (scenario, pipeline, feature) → every cell of that case, settled reads
        self.by_case: dict[tuple[str, str, str], list[CellRecord]] = {}
        for cell in document["cells"]:
            if (cell["backend"], cell["read_path"]) not in hidden:
                self.by_case.setdefault((cell["scenario"], cell["pipeline"], cell["feature"]), []).append(cell)
        # (scenario, pipeline, feature) → the backends whose cell passed the collector unchanged
        self.passed_collector: dict[tuple[str, str, str], set[str]] = {}
        for cell in document["cells"]:
            if (cell.get("hops") or {}).get(COLLECTOR_HOP) == PRESERVED:
                self.passed_collector.setdefault((cell["scenario"], cell["pipeline"], cell["feature"]),
                                                 set()).add(cell["backend"])

    def position(self, cell: CellRecord) -> int:
        return self.positions[id(cell)]

    def own_loss(self, cell: CellRecord, first_hop_only: bool = False) -> bool:
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

    def kept_elsewhere(self, cell: CellRecord) -> bool:
        """Another backend kept what reached it of the same scenario's feature (as sent, or all an
        earlier hop left): the finding is true of this backend and not of that one."""
        for other in self.by_case.get((cell["scenario"], cell["pipeline"], cell["feature"]), []):
            if other["backend"] != cell["backend"] and (
                    other["verdict"] == PRESERVED or (other["verdict"] == DEGRADED and not self.own_loss(other))):
                return True
        return False

    def own_line(self, cell: CellRecord) -> str:
        """What the backend's own hop did to a cell, in the words of that hop's meaning line (a cell
        an earlier hop changed first is told by its meaning from the backend's hop on)."""
        if self.own_loss(cell, first_hop_only=True):
            return _first_sentence(cell.get("meaning") or cell.get("summary") or cell["verdict"])
        changed = list(cell.get("changed_at") or [])
        own = next((hop for hop in changed if hop in OWN_HOPS), None)
        if own is None:  # its own exporter in the collector: its meaning line speaks of that hop
            return _first_sentence(cell.get("meaning") or cell.get("summary") or cell["verdict"])
        label = self.columns[(cell["backend"], cell["read_path"])]["label"]
        later = {**cell, "hop": own, "changed_at": changed[changed.index(own):]}
        said = meaning(later, label, self.document["run"].get("versions") or {}, self.advice(cell["backend"]))
        return _first_sentence(said or f"{cell['verdict']} at {own} too: {cell.get('summary', '')}")

    def advice(self, backend: str) -> list[dict[str, Any]]:
        return list((self.backends.get(backend) or {}).get("advice") or [])

    def stored_in(self, backend: str) -> str | None:
        """The backend a storage variant belongs to (`jaeger-badger` → `jaeger`); None for any other."""
        return (self.backends.get(backend) or {}).get("variant_of") or None

    def kept_on(self, backend: str) -> str:
        """A storage variant's store, as its adapter names it ("Badger")."""
        return str((self.backends.get(backend) or {}).get("kept_on") or backend)

    def no_field(self, cell: CellRecord) -> bool:
        """n/a because this read path has no field for what the feature needs."""
        if cell["verdict"] != NOT_APPLICABLE:
            return False
        feature = FEATURES.get(cell["feature"])
        column = self.columns.get((cell["backend"], cell["read_path"]), {})
        if feature is not None and feature.is_search:
            return NO_QUERY in str(cell.get("reason", ""))
        return feature is not None and feature.needs is not None and feature.needs in column.get("cannot_carry", [])


@dataclass
class Line:
    """A line under a mark: another read path's or feature's own answer, a storage that differs,
    a step of the recipe, or an edge case that did not set the mark."""

    text: str
    mark: str = ""  # its own mark ("": a line without one)
    label: str = ""  # what it is about: a read path, a feature, a storage, a step
    code: str = ""  # something to copy (a query), shown as code after the label
    cell: int | None = None  # the cell behind it


@dataclass
class Answer:
    """One scorecard cell (or one read path's answer before the best is chosen)."""

    mark: str
    caveat: str
    cells: list[int]  # positions in the document's cells: the ones behind the answer
    label: str = ""
    count: int = 0  # a count question's number
    path: tuple[str, str] | None = None  # the read path that answered (backend, read path)
    parts: list[Line] = field(default_factory=list)  # each feature's, or each worse read path's, own answer
    recipe: list[Line] = field(default_factory=list)  # what to copy when it works: query, click path, wait
    exceptions: list[Line] = field(default_factory=list)  # edge cases: said under the mark, never set it
    storages: list[Line] = field(default_factory=list)  # the same backend on the storages people deploy
    scope: str = ""  # whose answer the mark is when storages below it differ ("in memory")

    @property
    def plain(self) -> str:
        """The whole answer as one line of text: what a terminal or a test reads."""
        lines = [f"{self.mark} {self.scope + ': ' if self.scope else ''}{self.caveat}"]
        lines += [_plain(line) for line in (*self.parts, *self.storages, *self.recipe, *self.exceptions)]
        return " · ".join(lines)


def _plain(line: Line) -> str:
    code = f"`{line.code}`" + (" —" if line.text else "") if line.code else ""
    text = " ".join(part for part in (line.mark, code, line.text) if part)
    return f"{line.label}: {text}" if line.label else text


def _path_answer(question: Question, cells: list[CellRecord], index: Cells, label: str) -> Answer | None:
    """One read path's answer: each feature judged on its own, then combined (all yes → ✅, all no → ❌)."""
    if question.measure is not None:
        return _count_answer(question, cells, index, label)
    by_feature: dict[str, list[CellRecord]] = {}
    for cell in cells:
        by_feature.setdefault(cell["feature"], []).append(cell)
    answers = {feature: a for feature in question.features if feature in by_feature
               for a in [_feature_answer(question, by_feature[feature], index)] if a is not None}
    if not answers:
        return None
    path = (cells[0]["backend"], cells[0]["read_path"])
    marks = {a.mark for a in answers.values()}
    worst = min(answers.values(), key=lambda a: RANK[a.mark])
    named = len(question.features) <= NAMED_FEATURES  # few features: each one is named, kept or not
    parts = [Line(a.caveat, a.mark, FEATURES[f].title, cell=a.cells[0] if a.cells else None)
             for f, a in answers.items() if named or a.mark != YES]
    if not named and len(parts) < len(answers):
        parts.append(Line(f"{len(answers) - len(parts)} other kind(s)", YES))
    if len(marks) == 1:
        caveat = worst.caveat
        if worst.mark == YES:  # every feature kept: the scenarios behind all of them
            caveat = f"{len({c['scenario'] for c in cells if c['verdict'] in (PRESERVED, DEGRADED)})} scenario(s)"
        # each feature named only where they say different things (not one count for two features)
        alike = len({a.caveat for a in answers.values()}) == 1
        said = {line.text: line for a in answers.values() for line in a.parts}  # e.g. what would measure it
        return Answer(worst.mark, caveat, [p for a in answers.values() for p in a.cells[:1]], label, path=path,
                      parts=([] if alike or not named else parts) + list(said.values()))
    mark = PARTLY if YES in marks else worst.mark
    kept = [FEATURES[f].title for f, a in answers.items() if a.mark == YES]
    caveat = (f"{', '.join(kept)} only" if named else f"{len(kept)} of {len(answers)} kinds kept") if kept \
        else worst.caveat
    return Answer(mark, caveat, worst.cells, label, path=path, parts=parts)


NAMED_FEATURES = 3  # a question of up to this many features names each one's answer


def _feature_answer(question: Question, cells: list[CellRecord], index: Cells) -> Answer | None:
    # Kept: as sent, or all of what reached it when an earlier hop took a part (the backend changed nothing)
    good = [c for c in cells if c["verdict"] == PRESERVED or (c["verdict"] == DEGRADED and not index.own_loss(c))]
    bad = [c for c in cells if index.own_loss(c) and (not question.kinds or question.kinds & difference_kinds(c))]
    # the caveat speaks of the cell whose first change is the backend's own (its meaning is about it)
    bad.sort(key=lambda c: not index.own_loss(c, first_hop_only=True))
    errors = [c for c in cells if c["verdict"] == ERROR]
    if bad:
        mark = NO if not good and all(c["verdict"] == LOST for c in bad) else PARTLY
        caveat = index.own_line(bad[0])
        if good:
            scenarios = {c["scenario"] for c in good + bad}
            caveat += f" — {len({c['scenario'] for c in bad})} of {len(scenarios)} scenarios, e.g. {bad[0]['scenario']}"
        return Answer(mark, caveat, [index.position(c) for c in bad])
    if good:
        return Answer(YES, f"{len({c['scenario'] for c in good})} scenario(s)", [index.position(c) for c in good])
    if any(index.no_field(c) for c in cells):
        return Answer(NO, "its API has no field or query for it", [index.position(cells[0])])
    if errors:
        return Answer(UNMEASURED, "could not be measured: " + str(errors[0].get("reason", "")).splitlines()[0][:120],
                      [index.position(c) for c in errors])
    gaps = [c for c in cells if c["verdict"] == NOT_APPLICABLE and "not rendered" in str(c.get("reason", ""))]
    if gaps:
        to_measure = (index.backends.get(gaps[0]["backend"]) or {}).get("to_measure")
        return Answer(UNMEASURED, _first_sentence(str(gaps[0]["reason"])), [],
                      parts=[Line(to_measure, label="to measure")] if to_measure else [])
    upstream = [c for c in cells if c["verdict"] == LOST]
    if upstream:  # measured, but all of it was lost before it: nothing tells this backend apart
        return Answer(UNMEASURED, "every case here lost it before the backend (settings, findings)",
                      [index.position(c) for c in upstream])
    return None


def _count_answer(question: Question, cells: list[CellRecord], index: Cells, label: str) -> Answer | None:
    """The number this read path reached; which mark it earns is decided against the run's best."""
    assert question.measure is not None
    good = [c for c in cells if c["verdict"] == PRESERVED]
    most = question.measure(good)
    if not most:
        return None
    at = next(c for c in good if question.measure([c]) == most)
    return Answer(YES, f"{most} ({at['scenario']})", [index.position(at)], label, count=most,
                  path=(at["backend"], at["read_path"]))


def _best(answers: list[Answer], counting: bool) -> Answer:
    """The backend's answer: its best read path (a person can choose which to use), naming the others."""
    best = max(answers, key=(lambda a: a.count) if counting else (lambda a: RANK[a.mark]))
    worse = [a for a in answers if a is not best and (RANK[a.mark] < RANK[best.mark] or counting)]
    caveat = f"{best.label}: {best.caveat}" if len(answers) > 1 else best.caveat
    parts = list(best.parts)
    for other in worse:
        mark = PARTLY if counting and other.count < best.count else other.mark  # a count below the best is ⚠️
        parts.append(Line(other.caveat, mark, other.label, cell=other.cells[0] if other.cells else None))
    return Answer(best.mark, caveat, best.cells + [p for a in worse for p in a.cells[:1]], best.label, best.count,
                  best.path, parts)


def _representative(question: Question, cells: list[CellRecord]) -> tuple[list[CellRecord], list[CellRecord]]:
    """The cells that set the mark (the question's representative scenarios, when the run has any
    of them for this backend) and the others (edge cases)."""
    wanted = REPRESENTATIVE_SCENARIOS.get(question.id, ())
    if not wanted:
        return cells, []
    ordinary = [c for c in cells if c["scenario"] in wanted]
    return (ordinary, [c for c in cells if c["scenario"] not in wanted]) if ordinary else (cells, [])


EXCEPTIONS_SHOWN = 3  # edge-case lines under one mark; the rest are in the findings


def _exceptions(question: Question, ordinary: list[CellRecord], edge: list[CellRecord], index: Cells) -> list[Line]:
    """What the backend itself did in the edge cases and not in the representative ones: one line
    per meaning, its scenarios named."""
    def own(cell: CellRecord) -> bool:
        return index.own_loss(cell) and (not question.kinds or bool(question.kinds & difference_kinds(cell)))

    said = {index.own_line(cell) for cell in ordinary if own(cell)}  # the mark's own caveat tells these
    by_line: dict[str, list[CellRecord]] = {}
    for cell in edge:
        if own(cell) and index.own_line(cell) not in said:
            by_line.setdefault(index.own_line(cell), []).append(cell)
    lines = [Line(f"{text} ({', '.join(dict.fromkeys(c['scenario'] for c in cells))})", label="except",
                  cell=index.position(cells[0])) for text, cells in by_line.items()]
    if len(lines) > EXCEPTIONS_SHOWN:
        more = len(lines) - EXCEPTIONS_SHOWN
        lines = [*lines[:EXCEPTIONS_SHOWN], Line(f"{more} more edge case(s): see the findings", label="except")]
    return lines


def _answer(question: Question, backend: str, cells: list[CellRecord], index: Cells) -> Answer | None:
    """One backend's answer: its best read path on the representative scenarios, the edge cases under it."""
    ordinary, edge = _representative(question, cells)
    by_path: dict[tuple[str, str], list[CellRecord]] = {}
    for cell in ordinary:
        by_path.setdefault((cell["backend"], cell["read_path"]), []).append(cell)
    mine = [a for key, path_cells in by_path.items()
            for a in [_path_answer(question, path_cells, index, index.columns[key]["label"])] if a is not None]
    skipped = index.document["run"].get("skipped") or {}
    ui_skipped = [reason for name, reason in skipped.items() if name.startswith(f"{backend}/")]
    if mine:
        answer = _best(mine, question.measure is not None)
    elif ui_skipped and all(f.startswith("render.") for f in question.features):
        remedy = _remedy(ui_skipped[0])
        return Answer(UNMEASURED, _first_sentence(ui_skipped[0]), [],
                      parts=[Line(remedy, label="to measure")] if remedy else [])
    else:
        return None
    answer.exceptions = _exceptions(question, ordinary, edge, index)
    if answer.mark in (YES, PARTLY):
        answered = [c for c in ordinary if (c["backend"], c["read_path"]) == answer.path]
        answer.recipe = recipe_for(question, answer, answered, index)
    return answer


def _remedy(reason: str) -> str:
    """What a skip reason says to do (after its first colon), its parentheses kept out."""
    reason = _without_parentheses(reason)
    return reason.split(": ", 1)[1].strip() if ": " in reason else ""


def scorecard(index: Cells) -> dict[str, Any]:
    """Rows: the questions; columns: the backends in this run (a backend's other storages folded
    into its column, said per storage where they differ); each cell a mark, its caveat, its recipe,
    the edge cases under it and the cells behind it."""
    backends = list(dict.fromkeys(c["backend"] for c in index.document["columns"]))
    shown = [b for b in backends if index.stored_in(b) not in backends]
    rows = []
    for question in QUESTIONS:
        wanted = set(question.features)
        by_backend: dict[str, list[CellRecord]] = {}
        for cell in index.cells:
            if cell["feature"] in wanted:
                by_backend.setdefault(cell["backend"], []).append(cell)
        answers = {b: _answer(question, b, by_backend.get(b, []), index) for b in backends}
        if question.measure is not None:
            _mark_counts(answers)
        for backend in shown:
            _fold_storages(answers, backend, [b for b in backends if index.stored_in(b) == backend], index)
        representative = REPRESENTATIVE_SCENARIOS.get(question.id, ())
        rows.append({"id": question.id, "question": question.text, "features": list(question.features),
                     "marked_by": _marked_by(representative, index),
                     "answers": [answers[b] for b in shown]})
    return {"backends": shown, "titles": [_title(b, backends, index) for b in shown], "rows": rows}


def _marked_by(representative: tuple[str, ...], index: Cells) -> str:
    """Which scenarios of this run set a question's marks."""
    if not representative:
        return "every scenario"
    present = [s for s in representative if any(c["scenario"] == s for c in index.cells)]
    if representative[:len(ORDINARY_LINKS)] == ORDINARY_LINKS:
        ordinary = len([s for s in present if s in ORDINARY_LINKS])
        shapes = [s for s in present if s not in ORDINARY_LINKS]
        return f"ordinary valid links ({ordinary} scenarios)" + (f" and the link shapes {', '.join(shapes)}"
                                                                  if shapes else "")
    return ", ".join(present) or "no scenario of this run (all shown)"


def _fold_storages(answers: dict[str, Answer | None], backend: str, storages: list[str], index: Cells) -> None:
    """The storages of `backend` as lines under its answer: grouped where they answer alike, said
    as the same where they match the in-memory answer."""
    head = answers.get(backend)
    if head is None or not storages:
        return
    grouped: dict[tuple[str, str], list[str]] = {}  # storages that say the same, their own name left out
    for storage in storages:
        theirs, name = answers.get(storage), index.kept_on(storage)
        key = (theirs.mark, theirs.caveat.replace(name, STORAGE)) if theirs is not None else ("", "no cells")
        grouped.setdefault(key, []).append(storage)
    for (mark, caveat), members in grouped.items():
        names = [index.kept_on(s) for s in members]
        same = mark == head.mark
        first = next((a.cells[0] for a in (answers.get(s) for s in members) if a is not None and a.cells), None)
        text = "the same" if same else caveat.replace(STORAGE, "/".join(names))
        head.storages.append(Line(text, mark, f"on {', '.join(names)}", cell=first))
        if not same:
            head.scope = "in memory"


STORAGE = "\0"  # stands for a storage's name while storages that say the same are grouped


def _mark_counts(answers: dict[str, Answer | None]) -> None:
    """A count question: the run's best number is ✅, any less ⚠️ (named against the best)."""
    best = max((a.count for a in answers.values() if a is not None), default=0)
    for answer in answers.values():
        if answer is not None and answer.count < best:
            answer.mark = PARTLY
            answer.caveat += f", fewer than the {best} another backend returned"


def _title(backend: str, present: list[str], index: Cells) -> str:
    title = str((index.backends.get(backend) or {}).get("title") or backend)
    storages = [index.kept_on(b) for b in present if index.stored_in(b) == backend]
    return f"{title} (memory; on {', '.join(storages)} below)" if storages else title


# How a query this run sent reads for the reader's own key or id: (the query as sent, its general
# form, how it is built). Only a query that found its span is shown, so each form was tried.
QUERY_FORMS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^\{ link\.(?P<key>[\w.-]+) = .+ \}$"), '{ link.<your key> = "…" }',
     "`link.` is the scope, then your attribute's full name (`{key}` is asked as `link.{key}`); a number or "
     "true/false without quotes"),
    (re.compile(r'^\{ link:traceID = "[0-9a-f]+" \}$'), '{ link:traceID = "<trace id>" }',
     "`link:traceID` is the linked trace's id, 32 hex digits"),
    (re.compile(r'^\{ link:spanID = "[0-9a-f]+" \}$'), '{ link:spanID = "<span id>" }',
     "`link:spanID` is the linked span's id, 16 hex digits"),
)


def general_form(query: str) -> tuple[str, str]:
    """(the query for your own key or id, how it is built) — the query as sent when no form fits."""
    for pattern, form, how in QUERY_FORMS:
        matched = pattern.match(query)
        if matched:
            return form, how.format(**matched.groupdict())
    return query, ""


LIMITS_SAID = " with "  # a completeness probe's attempt: `<query> with <the limits it was sent with>`


def _with_limits(said: str) -> tuple[str, str]:
    """(the query, " with <limits>") of an attempt that names its limits; (the query, "") otherwise."""
    query, _, limits = said.rpartition(LIMITS_SAID)
    return (query, LIMITS_SAID + limits) if query else (said, "")


def recipe_for(question: Question, answer: Answer, cells: list[CellRecord], index: Cells) -> list[Line]:
    """What to copy where the answer is yes or partly: the query (for your own key), the queries
    this run sent that found the span, and the wait before an empty answer means anything; or the
    UI's click path."""
    if answer.path is None:
        return []
    column = index.columns[answer.path]
    if any(FEATURES[f].is_search for f in question.features):
        lines: list[Line] = []
        for cell in cells:
            found = [query for query, said in ((cell.get("evidence") or {}).get("received") or {}).items()
                     if said == "found"]
            if not found:
                continue
            query, limits = _with_limits(found[0])
            form, how = general_form(query)
            lines.append(Line(how, label=f"{FEATURES[cell['feature']].title}, query", code=form + limits,
                              cell=index.position(cell)))
            lines += [Line("", label="found this run", code=query, cell=index.position(cell)) for query in found]
            if FEATURES[cell["feature"]].every_match:  # how many the other limits tried brought back
                lines += [Line(said, label="fewer this run", code=query, cell=index.position(cell))
                          for query, said in cell["evidence"]["received"].items() if said != "found"]
        return [*lines, index_lag(answer.path, index)] if lines else []
    if column.get("how"):
        return [Line(str(column["how"]), label="click path")]
    return []


def index_lag(path: tuple[str, str], index: Cells) -> Line:
    """How long this run's search took to return a span it finds: before that, an empty answer
    may only mean "not indexed yet"."""
    lag = ((index.document["run"].get("stage_detail") or {}).get("indexing") or {}).get("/".join(path))
    if not isinstance(lag, (int, float)):
        return Line("this run did not record how long its index took: an empty answer proves nothing yet",
                    label="wait")
    return Line(f"an empty answer means nothing before {lag:.1f} s: this run's search returned the last span it "
                f"found {lag:.1f} s after searching began (right after sending; one instance, this run's load)",
                label="wait")


def settings(index: Cells) -> list[dict[str, Any]]:
    """The settings that avoid losses this run saw, grouped by where they are set (SDK, pipeline,
    backend), each with the cells that showed the loss and the cell that tried the setting — one
    no cell tried is said as the limit that was hit, not as advice."""
    groups: dict[str, list[dict[str, Any]]] = {where: [] for where in WHERE}
    every_pipeline = index.document["cells"]  # the SDK's Zipkin exporter is a pipeline of its own
    for setting in (*SETTINGS, *_advised_settings(index)):
        seen = [c for c in every_pipeline if setting.test(c)]
        if not seen:
            continue
        example = seen[0]
        tried = next((c for c in every_pipeline if setting.tried is not None and setting.tried(c)), None)
        groups[setting.where].append({
            "setting": setting.setting, "avoids": setting.avoids, "count": len(seen),
            "example": f"{example['scenario']}: {example.get('summary') or example['verdict']}",
            "cell": index.position(example),
            "tried": f"{setting.tried_how} ({_outcome(tried, index)})" if tried is not None else "",
            "tried_cell": index.position(tried) if tried is not None else None})
    return [{"where": where, "title": WHERE[where], "items": items} for where, items in groups.items() if items]


def _advised_settings(index: Cells) -> list[Setting]:
    """The settings the run's backends name for their own losses (their adapters' advice)."""
    def on(backend: str, facts: dict[str, str]) -> Callable[[CellRecord], bool]:
        return lambda c: c["backend"] == backend and matches(c, facts)

    return [Setting(advice["where"], on(backend, advice["when"]), advice["setting"], advice.get("avoids", ""),
                    on(backend, advice["tried"]) if advice.get("tried") else None, advice.get("tried_how", ""))
            for backend in index.backends for advice in index.advice(backend)
            if advice.get("setting") and advice.get("where") in WHERE]


def _outcome(cell: CellRecord, index: Cells) -> str:
    """`scenario: link present preserved on Jaeger /api/v3` (its summary, where it has one)."""
    label = index.columns[(cell["backend"], cell["read_path"])]["label"]
    what = cell.get("summary") or f"{FEATURES[cell['feature']].title} {cell['verdict']}"
    return f"{cell['scenario']}: {what} on {label}"


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
    storages: dict[str, list[str]] = {}  # backend → its storage variants not in this run
    for name, b in sorted(BACKENDS.items()):
        if b.kept_on and not b.release and name not in backends:
            storages.setdefault(b.variant_of, []).append(name)
    for of, names in storages.items():
        title = BACKENDS[of].title if of in BACKENDS else of
        items.append(f"{title} storages other than memory: {', '.join(names)} (`--storages all`)")
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
    every = {c["scenario"] for c in document["cells"] if c["feature"] == SEARCH_LINK_ATTRIBUTE_ALL}
    if searched and not every:
        items.append("whether a search returns every matching span when more match than it returns at once "
                     "(raised limits): no scenario of this run asked for it (`search.link_attribute_all`)")
    if every:
        items.append("paging through search results (a cursor, or narrowed time windows): only raised limits "
                     "were tried for every matching span")
    items += ["data older than this run: retention, compaction and a backend restart were not exercised",
              "SDKs other than OpenTelemetry Python; backends other than single instances on one machine "
              "(point `--runtime external` at your own deployment)"]
    return items


def _variant_names() -> list[str]:
    try:
        return [variant.name for variant in pipeline_variants.available(None)]
    except LinkmatrixError:  # a broken pipelines.yaml is the run's problem to report, not the page's
        return []


def _tells_apart(cells: list[CellRecord], index: Cells) -> tuple[int, int, int, int]:
    """How much a finding tells backends apart, most first: whether it is a backend's own doing
    (2; could not measure: 1; the same for every backend — SDK, wire, or a collector processor on
    every route: 0), then whether it sets a scorecard mark (the question's representative
    scenarios), then on how many of its cases another backend kept what this one did not, then in
    how many scenarios it happened."""
    if any(index.own_loss(c, first_hop_only=True) for c in cells):
        level = 2
    else:
        level = 1 if any(c["verdict"] == ERROR for c in cells) else 0
    marks = sum(1 for c in cells if _sets_a_mark(c))
    contrast = sum(1 for c in cells if index.kept_elsewhere(c))
    return level, marks, contrast, len({c["scenario"] for c in cells})


def _sets_a_mark(cell: CellRecord) -> bool:
    """A cell of a scorecard question's feature in one of its representative scenarios."""
    return any(cell["feature"] in question.features
               and cell["scenario"] in (REPRESENTATIVE_SCENARIOS.get(question.id) or (cell["scenario"],))
               for question in QUESTIONS if question.measure is None)


def findings(index: Cells) -> list[dict[str, Any]]:
    """Every degraded, lost or error cell (settled reads; every pipeline) grouped by what it means
    for a user, ordered by how much it tells backends apart (`_tells_apart`): a backend's own doing
    first, then what could not be measured, then losses common to every backend; within each, one
    that sets a scorecard mark and one that another backend did not share first. Each finding: its
    meaning line and the positions of its cells in the document."""
    hidden = superseded_columns(index.document)
    grouped: dict[str, list[CellRecord]] = {}
    for cell in index.document["cells"]:
        if cell["verdict"] in (DEGRADED, LOST, ERROR) and (cell["backend"], cell["read_path"]) not in hidden:
            grouped.setdefault(cell.get("meaning") or cell.get("summary") or cell["verdict"], []).append(cell)
    ordered = sorted(grouped.items(), key=lambda item: tuple(-n for n in _tells_apart(item[1], index)))
    return [{"meaning": text, "positions": [index.position(c) for c in cells]} for text, cells in ordered]
