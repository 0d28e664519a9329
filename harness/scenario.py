"""Scenario files: YAML → a validated `Scenario`.

Validation happens before anything starts. A bad file raises `ScenarioError` naming the file, the
line and the field (`traces[1].spans[0].links[0].to`), so a user can fix it without reading code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import yaml

from .errors import ScenarioError
from .features import FEATURES, LINK_ATTRIBUTE_PREFIX
from .model import AttrValue

ALL_INSTANCES = "*"
INVALID = "invalid"  # the all-zero span context
NOWHERE = "nowhere"  # a valid context whose span is never sent (a dangling link)
_REFERENCE = re.compile(r"^(?P<trace>[a-z][a-z0-9_]*)(\[(?P<index>\*|[0-9]+)\])?\.(?P<span>.+)$")


@dataclass(frozen=True)
class SpanRef:
    """`producer[2].produce`: a span by trace id, instance (None = same/only, '*' = every) and name.
    The special targets `invalid` and `nowhere` have only `trace` set (to that word)."""

    trace: str
    index: int | str | None = None
    span: str = ""

    @property
    def special(self) -> bool:
        return self.trace in (INVALID, NOWHERE) and not self.span


@dataclass(frozen=True)
class LinkSpec:
    to: SpanRef
    via: str = "memory"  # "message": the target context travels in W3C headers and is extracted
    trace_state: str | None = None
    attributes: dict[str, AttrValue] = field(default_factory=dict)
    added: str = "at_start"  # "after_start": span.add_link() once the span has started
    count: int = 1
    generated_attributes: int = 0


@dataclass(frozen=True)
class SpanSpec:
    name: str
    parent: str | None = None
    kind: str = "internal"
    inject_message: bool = False
    links: tuple[LinkSpec, ...] = ()


@dataclass(frozen=True)
class TraceSpec:
    id: str
    repeat: int
    spans: tuple[SpanSpec, ...]
    sampled: bool = True
    trace_id_prefix: str = ""


@dataclass(frozen=True)
class SpanLimitsSpec:
    max_links: int | None = None
    max_attributes_per_link: int | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    problem: str
    path: str
    traces: tuple[TraceSpec, ...]
    span_limits: SpanLimitsSpec = SpanLimitsSpec()
    sdk_env: dict[str, str] = field(default_factory=dict)
    pipelines: tuple[str, ...] = ("collector",)
    checks: tuple[str, ...] | None = None  # None: every feature the scenario exercises

    def trace(self, trace_id: str) -> TraceSpec:
        return next(trace for trace in self.traces if trace.id == trace_id)


def _schema() -> dict[str, Any]:
    return json.loads(resources.files("harness").joinpath("scenario.schema.json").read_text())


def _field_path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_of(node: yaml.Node | None, parts: list[Any]) -> int | None:
    """1-based line of the YAML node at `parts`, or of the deepest ancestor that exists."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in parts:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((value for key, value in node.value if key.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


def _schema_message(error: jsonschema.ValidationError) -> tuple[list[Any], str]:
    """Turn a jsonschema error into (field path, short human message)."""
    parts = list(error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1]
        return parts + [missing], "is required"
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return parts + [extra[0]], f"unknown field (allowed here: {allowed})"
    if error.validator == "anyOf" and parts and parts[-2:-1] == ["attributes"]:
        return parts, "must be a string, bool, int, double, or a list of one of those"
    if error.validator == "pattern" and parts[-1:] == ["to"]:
        return parts, (f"{error.instance!r} is not a span reference: write trace.span, trace[2].span, "
                       "trace[*].span, invalid or nowhere")
    if error.validator == "pattern":
        return parts, f"{error.instance!r} does not match the expected form {error.schema['pattern']}"
    if error.validator == "enum":
        return parts, f"{error.instance!r} is not one of {', '.join(map(str, error.validator_value))}"
    return parts, error.message


def _attribute(value: Any) -> AttrValue:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):  # {repeat: "x", times: 3000}
        return value["repeat"] * value["times"]
    return value


def _non_string_keys(node: Any, parts: list[Any]) -> Iterable[tuple[list[Any], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                yield parts + [str(key)], key
            yield from _non_string_keys(value, parts + [str(key)])
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _non_string_keys(item, parts + [index])


def _parse_ref(text: str) -> SpanRef:
    if text in (INVALID, NOWHERE):
        return SpanRef(text)
    match = _REFERENCE.match(text)
    assert match, text  # the schema's pattern already guaranteed the form
    index = match["index"]
    return SpanRef(match["trace"], int(index) if index and index.isdigit() else index, match["span"])


def _build(data: dict[str, Any], path: str) -> Scenario:
    traces = tuple(
        TraceSpec(
            id=trace["id"],
            repeat=trace.get("repeat", 1),
            spans=tuple(
                SpanSpec(
                    name=span["name"],
                    parent=span.get("parent"),
                    kind=span.get("kind", "internal"),
                    inject_message=span.get("inject") == "message",
                    links=tuple(
                        LinkSpec(
                            to=_parse_ref(link["to"]),
                            via=link.get("via", "memory"),
                            trace_state=link.get("trace_state"),
                            attributes={key: _attribute(value)
                                        for key, value in link.get("attributes", {}).items()},
                            added=link.get("added", "at_start"),
                            count=link.get("count", 1),
                            generated_attributes=link.get("generated_attributes", 0),
                        )
                        for link in span.get("links", [])
                    ),
                )
                for span in trace["spans"]
            ),
            sampled=trace.get("sampled", True),
            trace_id_prefix=trace.get("trace_id_prefix", ""),
        )
        for trace in data["traces"]
    )
    limits = data.get("sdk", {}).get("span_limits", {})
    checks = data.get("checks")
    return Scenario(
        name=data["name"],
        problem=data["problem"].strip(),
        path=path,
        traces=traces,
        span_limits=SpanLimitsSpec(limits.get("max_links"), limits.get("max_attributes_per_link")),
        sdk_env=dict(data.get("sdk", {}).get("env", {})),
        pipelines=tuple(data.get("pipelines", ["collector"])),
        checks=tuple(checks) if checks else None,
    )


def _semantic_errors(scenario: Scenario) -> Iterable[tuple[list[Any], str]]:
    """What a schema cannot say: names are unique, references resolve, targets exist in time."""
    seen_traces: dict[str, TraceSpec] = {}
    for t_index, trace in enumerate(scenario.traces):
        where = ["traces", t_index]
        if trace.id in seen_traces:
            yield where + ["id"], f"trace id {trace.id!r} is used twice"
        names: list[str] = []
        for s_index, span in enumerate(trace.spans):
            span_where = where + ["spans", s_index]
            if span.name in names:
                yield span_where + ["name"], f"span name {span.name!r} is used twice in trace {trace.id!r}"
            if span.parent is not None and span.parent not in names:
                yield span_where + ["parent"], (
                    f"{span.parent!r} is not a span listed before {span.name!r} in trace {trace.id!r}")
            for l_index, link in enumerate(span.links):
                message = _reference_problem(link, trace, names, seen_traces)
                if message:
                    yield span_where + ["links", l_index, "to" if "via" not in message else "via"], message
            names.append(span.name)
        seen_traces[trace.id] = trace
    for c_index, check in enumerate(scenario.checks or ()):
        if check not in FEATURES and not (check == LINK_ATTRIBUTE_PREFIX.rstrip(".")):
            yield ["checks", c_index], f"unknown feature {check!r} (known: {', '.join(FEATURES)})"


def _reference_problem(link: LinkSpec, own: TraceSpec, earlier_spans: list[str],
                       earlier_traces: dict[str, TraceSpec]) -> str | None:
    ref = link.to
    if ref.special:
        return f"via: message needs a span to carry the message, not {ref.trace!r}" if link.via == "message" else None
    if ref.trace == own.id:
        if ref.index is not None:
            return "a link inside its own trace names no instance: write trace.span"
        if ref.span not in earlier_spans:
            return f"{ref.span!r} is not a span listed before this one in trace {own.id!r}"
        target_spec = next(span for span in own.spans if span.name == ref.span)
    else:
        target = earlier_traces.get(ref.trace)
        if target is None:
            return f"no trace {ref.trace!r} is listed before this one (links point at spans already sent)"
        if isinstance(ref.index, int) and ref.index >= target.repeat:
            return f"trace {ref.trace!r} repeats {target.repeat} time(s); index {ref.index} is out of range"
        if ref.index is None and target.repeat > 1:
            return f"trace {ref.trace!r} repeats {target.repeat} times: say which, e.g. {ref.trace}[*].{ref.span}"
        target_spec = next((span for span in target.spans if span.name == ref.span), None)
        if target_spec is None:
            return f"no span {ref.span!r} in trace {ref.trace!r}"
    if link.via == "message" and not target_spec.inject_message:
        return f"via: message needs the target span {ref.span!r} to have inject: message"
    return None


def load_scenario(path: Path | str) -> Scenario:
    path = Path(path)
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ScenarioError(shown, "", f"cannot read the file: {error.strerror}") from None
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        raise ScenarioError(shown, "", f"not valid YAML: {problem}",
                            mark.line + 1 if mark else None) from None
    if not isinstance(data, dict):
        raise ScenarioError(shown, "", "must be a mapping with name, problem and traces", 1)

    for parts, key in _non_string_keys(data, []):
        raise ScenarioError(shown, _field_path(parts), f"the key {key!r} is not text: YAML reads unquoted "
                            "on/off/yes/no/true/false and numbers as other types; put it in quotes",
                            _line_of(root, parts[:-1]))
    errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(data),
                    key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        parts, message = _schema_message(best)
        raise ScenarioError(shown, _field_path(parts), message, _line_of(root, parts))

    scenario = _build(data, shown)
    for parts, message in _semantic_errors(scenario):
        raise ScenarioError(shown, _field_path(parts), message, _line_of(root, parts))
    return scenario


def discover(paths: Iterable[Path | str]) -> list[Path]:
    """Scenario files from files and directories, in a stable order."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")))
        else:
            found.append(path)
    return found


def load_all(paths: Iterable[Path | str]) -> list[Scenario]:
    scenarios = [load_scenario(path) for path in discover(paths)]
    names: dict[str, str] = {}
    for scenario in scenarios:
        if scenario.name in names:
            raise ScenarioError(scenario.path, "name",
                                f"{scenario.name!r} is also the name of {names[scenario.name]}")
        names[scenario.name] = scenario.path
    if not scenarios:
        raise ScenarioError(", ".join(map(str, paths)) or ".", "", "no scenario files (*.yaml) found")
    return scenarios
