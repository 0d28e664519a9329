"""Scenario files: YAML → a validated `Scenario`.

Validation happens before anything starts. A bad file raises `ScenarioError` naming the file, the
line and the field (`traces[1].spans[0].links[0].to`), so a user can fix it without reading code.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from opentelemetry.trace import TraceState

from ..model import (
    ALL_INSTANCES,
    FEATURES,
    INVALID,
    NO_PARENT,
    NOWHERE,
    AttrValue,
    LinkSpec,
    Scenario,
    ScenarioError,
    SpanLimitsSpec,
    SpanRef,
    SpanSpec,
    TraceSpec,
    field_path,
    is_known,
    line_of,
    load_yaml,
    selected_features,
)
from ._capture import is_capture, load_capture

_REFERENCE = re.compile(r"^(?P<trace>[a-z][a-z0-9_]*)(\[(?P<index>\*|[0-9]+)\])?\.(?P<span>.+)$")

# Bounds that keep a mistaken (or hostile) file from hanging validation or filling memory; each is
# far above what the shipped catalog and the scale benchmarks need.
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_SPANS = 200_000  # spans of one scenario, repeats included
MAX_LINKS = 1_000_000  # links of one scenario, counts and fan-outs included
MAX_ATTRIBUTE_VALUES = 5_000_000  # link attribute values of one scenario, generated ones included
MAX_TEXT = 64 * 1024 * 1024  # characters of link attribute text of one scenario
INT64 = (-(2**63), 2**63 - 1)  # OTLP's int is a signed 64-bit integer
# JSON Schema counts 2.0 as an integer; a scenario's counts must be written as integers (a 2.0 in
# `repeat:` is a mistake, and 2.0 as an attribute value is a double).
_VALIDATOR = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, instance: isinstance(instance, int) and not isinstance(instance, bool)))


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(resources.files(__package__).joinpath("scenario.schema.json").read_text())
    return schema


def _schema_message(error: jsonschema.ValidationError) -> tuple[list[Any], str]:
    """Turn a jsonschema error into (field path, short human message)."""
    parts = list(error.absolute_path)
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "required":
        missing = error.message.split("'")[1]
        return [*parts, missing], "is required"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = schema.get("properties", {})
        extra = sorted(set(error.instance) - set(known))
        return [*parts, extra[0]], f"unknown field (allowed here: {', '.join(sorted(known))})"
    if error.validator == "anyOf" and parts and parts[-2:-1] == ["attributes"]:
        return parts, "must be a string, bool, int, double, or a list of one of those"
    if error.validator == "pattern" and parts[-1:] == ["to"]:
        return parts, (f"{error.instance!r} is not a span reference: write trace.span, trace[2].span, "
                       "trace[*].span, invalid or nowhere")
    if error.validator == "pattern":
        return parts, f"{error.instance!r} does not match the expected form {schema.get('pattern')}"
    if error.validator == "enum" and isinstance(error.validator_value, list):
        return parts, f"{error.instance!r} is not one of {', '.join(map(str, error.validator_value))}"
    return parts, error.message


def _attribute(value: Any) -> AttrValue:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):  # {repeat: "x", times: 3000}
        return str(value["repeat"]) * int(value["times"])
    scalar: AttrValue = value
    return scalar


def _non_string_keys(node: Any, parts: list[Any]) -> Iterable[tuple[list[Any], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                yield [*parts, str(key)], key
            yield from _non_string_keys(value, [*parts, str(key)])
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _non_string_keys(item, [*parts, index])


def _parse_ref(text: str) -> SpanRef:
    if text in (INVALID, NOWHERE):
        return SpanRef(text)
    match = _REFERENCE.match(text)
    assert match, text  # the schema's pattern already guaranteed the form
    index = match["index"]
    return SpanRef(match["trace"], int(index) if index and index.isdigit() else index, match["span"])


def _build(data: dict[str, Any], path: str, name_line: int = 1) -> Scenario:
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
        expect=dict(data.get("expect", {})),
        name_line=name_line,
    )


def _links_with_where(data: dict[str, Any]) -> Iterable[tuple[list[Any], dict[str, Any]]]:
    for t_index, trace in enumerate(data["traces"]):
        for s_index, span in enumerate(trace["spans"]):
            for l_index, link in enumerate(span.get("links", [])):
                yield ["traces", t_index, "spans", s_index, "links", l_index], link


def trace_state_pairs(text: str) -> list[tuple[str, str]]:
    """A W3C tracestate as (key, value) members: optional whitespace around members trimmed,
    empty members skipped (both allowed by W3C)."""
    members = [item.strip() for item in text.split(",")]
    return [(key, value) for key, _, value in (member.partition("=") for member in members if member)]


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """The SDK says why it refuses a value in a log line; here the refusal becomes our own message."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def _trace_state_problem(text: str) -> str | None:
    """Why a scenario's trace_state cannot be a W3C tracestate (the SDK would silently drop it)."""
    pairs = trace_state_pairs(text)
    if len(pairs) > 32:
        return f"has {len(pairs)} members; a W3C tracestate holds at most 32"
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        return f"uses the key {next(key for key in keys if keys.count(key) > 1)!r} twice"
    with _quiet("opentelemetry"):
        for key, value in pairs:
            if len(TraceState([(key, value)])) != 1:
                return (f"{key}={value!r} is not a W3C tracestate member (a lowercase key of a-z0-9_-*/@, "
                        "and a printable value without ',' or '=')")
    return None


def _value_errors(data: dict[str, Any]) -> Iterable[tuple[list[Any], str]]:
    """Values the schema lets through but no OTLP type can carry, or that would not fit in memory,
    or that the SDK would silently change (so that a scenario mistake never becomes a finding)."""
    for where, link in _links_with_where(data):
        if "trace_state" in link:
            problem = _trace_state_problem(str(link["trace_state"]))
            if problem:
                yield [*where, "trace_state"], problem
        generated = {f"gen.{n}" for n in range(int(link.get("generated_attributes", 0)))}
        for key in sorted(generated & set(link.get("attributes", {}))):
            yield [*where, "attributes", key], (f"{key} is also the name of a generated attribute "
                                                "(generated_attributes writes gen.0 … gen.N-1); rename it")
        for key, value in link.get("attributes", {}).items():
            at = [*where, "attributes", key]
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, int) and not isinstance(item, bool) and not INT64[0] <= item <= INT64[1]:
                    yield at, (f"{item} does not fit in OTLP's int (a signed 64-bit integer, "
                               f"{INT64[0]} … {INT64[1]}); write it as a string or a double")
                    break
            if isinstance(value, dict) and len(value["repeat"]) * value["times"] > MAX_TEXT:
                yield at, f"repeat × times makes more than {MAX_TEXT:,} characters"


def _volume(scenario: Scenario) -> dict[str, int]:
    """Spans, links, attribute values and attribute text one scenario asks for (repeats expanded)."""
    repeats = {trace.id: trace.repeat for trace in scenario.traces}
    totals = {"spans": 0, "links": 0, "attribute values": 0, "characters of attribute text": 0}
    for trace in scenario.traces:
        totals["spans"] += trace.repeat * len(trace.spans)
        for span in trace.spans:
            for link in span.links:
                fan_out = repeats.get(link.to.trace, 1) if link.to.index == ALL_INSTANCES else 1
                links = trace.repeat * link.count * fan_out
                text = sum(len(value) for value in link.attributes.values() if isinstance(value, str))
                totals["links"] += links
                totals["attribute values"] += links * (len(link.attributes) + link.generated_attributes)
                totals["characters of attribute text"] += links * text
    return totals


_VOLUME_BOUNDS = {"spans": MAX_SPANS, "links": MAX_LINKS, "attribute values": MAX_ATTRIBUTE_VALUES,
                  "characters of attribute text": MAX_TEXT}


def _volume_errors(scenario: Scenario) -> Iterable[tuple[list[Any], str]]:
    for what, total in _volume(scenario).items():
        if total > _VOLUME_BOUNDS[what]:
            yield ["traces"], (f"asks for {total:,} {what} in all (repeat × count × fan-out); one scenario "
                               f"may have at most {_VOLUME_BOUNDS[what]:,}: split it into several files")


def _semantic_errors(scenario: Scenario) -> Iterable[tuple[list[Any], str]]:
    """What a schema cannot say: names are unique, parents are listed before, links name spans the
    run creates (before or after the linking span, itself included, as the API allows), a message
    carries a context that exists. Linear in the number of spans and links (sets and dicts, no rescans)."""
    all_traces: dict[str, tuple[TraceSpec, dict[str, SpanSpec]]] = {}  # id → (trace, its spans by name)
    for trace in scenario.traces:
        all_traces.setdefault(trace.id, (trace, {}))
        for span in trace.spans:
            all_traces[trace.id][1].setdefault(span.name, span)
    seen_traces: set[str] = set()
    for t_index, trace in enumerate(scenario.traces):
        where = ["traces", t_index]
        if trace.id in seen_traces:
            yield [*where, "id"], f"trace id {trace.id!r} is used twice"
        earlier: set[str] = set()
        for s_index, span in enumerate(trace.spans):
            span_where = [*where, "spans", s_index]
            if span.name in earlier:
                yield [*span_where, "name"], f"span name {span.name!r} is used twice in trace {trace.id!r}"
            if span.parent not in (None, NO_PARENT) and span.parent not in earlier:
                yield [*span_where, "parent"], (
                    f"{span.parent!r} is not a span listed before {span.name!r} in trace {trace.id!r} "
                    f"(write parent: {NO_PARENT} for another root)")
            started_before = _Started(trace.id, earlier, seen_traces)
            for l_index, link in enumerate(span.links):
                message = _reference_problem(link, trace, all_traces, started_before)
                if message:
                    yield [*span_where, "links", l_index, "to" if "via" not in message else "via"], message
            earlier.add(span.name)
        seen_traces.add(trace.id)
    for c_index, check in enumerate(scenario.checks or ()):
        if not is_known(check):
            yield ["checks", c_index], f"unknown feature {check!r} (known: {', '.join(FEATURES)})"
    checked = selected_features(scenario.checks) if all(is_known(check) for check in scenario.checks or ()) else []
    for pattern in scenario.expect:
        if not any(fnmatch.fnmatchcase(feature, pattern) for feature in FEATURES):
            yield ["expect", pattern], f"{pattern!r} matches no feature (known: {', '.join(FEATURES)})"
        elif checked and not any(fnmatch.fnmatchcase(feature, pattern) for feature in checked):
            # an expectation nothing measures would pass every night without saying so
            yield ["expect", pattern], (f"{pattern!r} matches no feature this scenario checks (checks: "
                                        f"{', '.join(scenario.checks or ('every feature that is not opt-in',))}): "
                                        "list it under checks, or drop the expectation")
    yield from _volume_errors(scenario)


@dataclass(frozen=True)
class _Started:
    """The spans already started when a span starts: earlier spans of its own trace, every span of
    an earlier trace (a message can only carry the context of one of those)."""

    trace: str
    spans: set[str]
    traces: set[str]

    def has(self, trace: str, span: str) -> bool:
        return span in self.spans if trace == self.trace else trace in self.traces


def _reference_problem(link: LinkSpec, own: TraceSpec, traces: dict[str, tuple[TraceSpec, dict[str, SpanSpec]]],
                       started: _Started) -> str | None:
    """Why `link.to` names no span this run creates. A span listed later (or the linking span
    itself) is fine: the API links any context, and the run fixes every id in advance."""
    ref = link.to
    if ref.special:
        return f"via: message needs a span to carry the message, not {ref.trace!r}" if link.via == "message" else None
    if ref.trace == own.id:
        if ref.index is not None:
            return "a link inside its own trace names no instance: write trace.span"
        target_spec = traces[own.id][1].get(ref.span)
        if target_spec is None:
            return f"no span {ref.span!r} in trace {own.id!r}: a link can only point at a span the run creates"
    else:
        if ref.trace not in traces:
            return f"no trace {ref.trace!r} in this scenario: a link can only point at a span the run creates"
        target, target_spans = traces[ref.trace]
        if isinstance(ref.index, int) and ref.index >= target.repeat:
            return f"trace {ref.trace!r} repeats {target.repeat} time(s); index {ref.index} is out of range"
        if ref.index is None and target.repeat > 1:
            return f"trace {ref.trace!r} repeats {target.repeat} times: say which, e.g. {ref.trace}[*].{ref.span}"
        target_spec = target_spans.get(ref.span)
        if target_spec is None:
            return f"no span {ref.span!r} in trace {ref.trace!r}: a link can only point at a span the run creates"
    if link.via == "message" and not target_spec.inject_message:
        return f"via: message needs the target span {ref.span!r} to have inject: message"
    if link.via == "message" and not started.has(ref.trace, ref.span):
        return (f"via: message needs a target started before this span (its headers carry the context): "
                f"{ref.trace}.{ref.span} is listed after it")
    return None


def load_scenario(path: Path | str) -> Scenario:
    path = Path(path)
    shown = str(path)
    root, data = load_yaml(path, limit=MAX_FILE_BYTES, kind="scenario files",
                           hint="use repeat:, count: and generated_attributes: for volume")
    if not isinstance(data, dict):
        raise ScenarioError(shown, "", "must be a mapping with name, problem and traces", 1)

    for parts, key in _non_string_keys(data, []):
        raise ScenarioError(shown, field_path(parts), f"the key {key!r} is not text: YAML reads unquoted "
                            "on/off/yes/no/true/false and numbers as other types; put it in quotes",
                            line_of(root, parts[:-1]))
    try:
        errors = sorted(_VALIDATOR(_schema()).iter_errors(data),
                        key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    except RecursionError:
        raise ScenarioError(shown, "", "is nested too deeply to be a scenario (a few levels are enough)") from None
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        parts, message = _schema_message(best)
        raise ScenarioError(shown, field_path(parts), message, line_of(root, parts))
    for parts, message in _value_errors(data):
        raise ScenarioError(shown, field_path(parts), message, line_of(root, parts))

    scenario = _build(data, shown, line_of(root, ["name"]) or 1)
    for parts, message in _semantic_errors(scenario):
        raise ScenarioError(shown, field_path(parts), message, line_of(root, parts))
    return scenario


def discover(paths: Iterable[Path | str]) -> list[Path]:
    """Scenario files from files and directories, in a stable order."""
    found: dict[Path, Path] = {}  # the same file named twice (a folder and a file in it) is read once
    for path in map(Path, paths):
        for file in sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]:
            found.setdefault(file.resolve(), file)
    return list(found.values())


def load_all(paths: Iterable[Path | str]) -> list[Scenario]:
    # A capture (OTLP JSON lines, or a backend's JSON answer) is named by its file, never found in a folder.
    scenarios = [load_capture(path) if is_capture(path) else load_scenario(path) for path in discover(paths)]
    names: dict[str, str] = {}
    for scenario in scenarios:
        if scenario.name in names:
            raise ScenarioError(scenario.path, "name",
                                f"{scenario.name!r} is also the name of {names[scenario.name]}", scenario.name_line)
        names[scenario.name] = f"{scenario.path}:{scenario.name_line}"
    if not scenarios:
        raise ScenarioError(", ".join(map(str, paths)) or ".", "", "no scenario files (*.yaml) or captures "
                            "(*.jsonl, *.json) found")
    return scenarios
