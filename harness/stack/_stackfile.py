"""The stack file (`linkmatrix.stack.yaml`): the components a team runs, each with its version,
image or binary, and the candidates (`--candidate jaeger=2.14.0`) to run beside them.

Read through the guarded loader and checked against `stackfile.schema.json`; whatever is wrong is one
line naming the file, the line and the field (exit 2), before anything starts. What it names
only travels as the objects below: nothing is written into the versions table or the environment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import yaml

from ..model import InputError, UsageError, Variant, field_path, line_of, load_yaml, schema_problem
from ._variants import NAME, PROCESSOR_KINDS, RELEASE_PREFIXES


class ListedBackend(Protocol):
    """What a stack file asks of a backend it may list (stack._backend.Backend fills it in)."""

    title: str
    image: str

    @property
    def build(self) -> object | None: ...

    def stack_entry_problem(self, given: Given) -> tuple[str, str] | None: ...

DEFAULT_FILE = "linkmatrix.stack.yaml"
MAX_FILE_BYTES = 256 * 1024  # a stack file is a few lines; a collector or Tempo config a few kilobytes
MAX_CONFIG_BYTES = 1024 * 1024
VERSION = re.compile(r"^\d+\.\d+\.\d+$")


@dataclass(frozen=True)
class Given:
    """One component as the stack file gives it ("" where it says nothing: the pinned default)."""

    version: str = ""
    image: str = ""
    binary: str = ""  # absolute
    config: str = ""  # absolute
    storage: str = ""
    storage_version: str = ""
    storage_image: str = ""

    def describe(self) -> str:
        """`2.12.0 on opensearch 2.19.1`: what the report says came from the stack file."""
        parts = [self.version, f"image {self.image}" if self.image else "",
                 f"binary {Path(self.binary).name}" if self.binary else "",
                 f"config {Path(self.config).name}" if self.config else ""]
        storage = " ".join(part for part in (self.storage, self.storage_version,
                                             f"(image {self.storage_image})" if self.storage_image else "") if part)
        return " ".join(part for part in parts if part) + (f" on {storage}" if storage else "")


@dataclass(frozen=True)
class StackFile:
    path: Path
    components: dict[str, Given]
    collector_variant: Variant | None = None  # the processors of the user's collector config
    # A backend's own config file (component → its settings), merged over the config linkmatrix writes
    config_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what the run says once, in one line each (parts of a file it ignores)

    def given(self, component: str) -> Given | None:
        return self.components.get(component)

    def describe(self) -> dict[str, str]:
        return {name: given.describe() or "as pinned" for name, given in self.components.items()}


@dataclass(frozen=True)
class Candidate:
    """A release of one component to run beside the current one: `jaeger=2.14.0`, `tempo=grafana/tempo:2.9.0`."""

    component: str
    version: str
    image: str = ""

    @property
    def text(self) -> str:
        return f"{self.component}={self.image or self.version}"


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(resources.files(__package__).joinpath("stackfile.schema.json").read_text())
    return schema


def load_stack_file(path: Path, built_processors: dict[str, str], backends: Mapping[str, ListedBackend]) -> StackFile:
    """The stack file at `path`, its collector config and Tempo overrides read and checked with it.
    `built_processors`: the processors of the collector linkmatrix builds (kind without underscores → its module);
    `backends`: those it may list, each checking its own entry beyond the schema."""
    shown = str(path)
    root, document = load_yaml(path, limit=MAX_FILE_BYTES, kind="stack files")
    if not isinstance(document, dict):
        raise InputError(shown, "", f"a mapping of components ({', '.join(_schema()['properties'])}) to what runs", 1)
    problem = schema_problem(document, _schema(), shown)
    if problem:
        parts, message = problem
        unexpected = re.search(r"\('([^']+)' was unexpected\)", message)
        if unexpected:  # name the field itself, on its own line
            parts = [*parts, unexpected[1]]
            known = ", ".join(_schema()["properties"] if len(parts) == 1 else
                              _schema()["properties"][parts[0]]["properties"])
            message = f"not a field of a stack file here (there are: {known})"
        elif "is not of type string" in message and isinstance(parts[-1:], list) and "version" in str(parts[-1:]):
            message += " (write a release as text, e.g. \"2.12.0\")"
        raise InputError(shown, field_path(parts) or "(file)", _readable(message), line_of(root, parts))
    folder = path.parent

    def file(component: str, key: str) -> str:
        value = document[component].get(key)
        if not value:
            return ""
        resolved = (folder / value).resolve()
        if not resolved.is_file():
            raise InputError(shown, f"{component}.{key}", f"no file {value!r} (relative to the stack file's folder)",
                             line_of(root, [component, key]))
        return str(resolved)

    components = {name: Given(**{key: value for key, value in body.items() if key not in ("binary", "config")},
                              binary=file(name, "binary"), config=file(name, "config"))
                  for name, body in document.items()}
    for name, backend in backends.items():
        wrong = backend.stack_entry_problem(components[name]) if name in components else None
        if wrong:
            key, why = wrong
            raise InputError(shown, f"{name}.{key}", why, line_of(root, [name, key]))
    collector = components.get("collector")
    built = built_processors if collector and not collector.image else None
    variant, notes = (collector_config_variant(Path(collector.config), built, "the stack file's collector")
                      if collector and collector.config else (None, ()))
    overrides = {name: _config_overrides(name, Path(given.config)) for name, given in components.items()
                 if name != "collector" and given.config}
    return StackFile(path, components, variant, overrides, notes)


def _readable(message: str) -> str:
    if "does not match" in message and "[0-9]+" in message:
        return message.split(" does not match")[0] + " is not a release (write it as 2.12.0)"
    return message


def collector_config_variant(config_path: Path, built: dict[str, str] | None,
                             source: str) -> tuple[Variant, tuple[str, ...]]:
    """The processors of a collector config, in the order its traces pipeline runs them, as a
    pipeline variant named after the file, and the line the run says about what it ignores. Its
    receivers and exporters are not used: linkmatrix puts its own in, so that it can record what
    each hop did. `built`: the processors of the collector linkmatrix builds (None: not checked,
    the collector is an image); `source`: where the config came from, for the report."""
    shown = str(config_path)
    root, config = load_yaml(config_path, limit=MAX_CONFIG_BYTES, kind="collector configs")
    if not isinstance(config, dict):
        raise InputError(shown, "", "a collector config (a mapping with processors and service.pipelines)", 1)
    processors = config.get("processors") or {}
    if not isinstance(processors, dict) or not processors:
        raise InputError(shown, "processors", "a mapping of processor id → its config; there is none to run",
                         line_of(root, ["processors"]))
    order = _pipeline_order(config) or list(processors)
    missing = [pid for pid in order if pid not in processors]
    if missing:
        raise InputError(shown, "service.pipelines", f"names processor {missing[0]!r}, which `processors` does not "
                         "define", line_of(root, ["service", "pipelines"]))
    if built is not None:
        lacking = [pid for pid in order if _kind(pid).replace("_", "") not in built]
        if lacking:
            has = sorted(next((kind for kind in PROCESSOR_KINDS if kind.replace("_", "") == short), short)
                         for short in built)
            raise InputError(shown, f"processors.{lacking[0]}", f"the collector linkmatrix builds has no "
                             f"{', '.join(sorted({_kind(pid) for pid in lacking}))} processor (it has: "
                             f"{', '.join(has)}; or give the collector as an image)",
                             line_of(root, ["processors", lacking[0]]))
    steps = []
    for pid in order:
        body = processors[pid]
        if body is not None and not isinstance(body, dict):
            raise InputError(shown, f"processors.{pid}", "its config must be a mapping",
                             line_of(root, ["processors", pid]))
        steps.append((_kind(pid), dict(body or {})))
    ignored = [part for part in ("receivers", "exporters", "connectors") if config.get(part)]
    notes = (f"{config_path.name}: its {' and '.join(ignored)} are not used — linkmatrix puts in its own, to "
             "record what every hop did; its processors run as the pipeline "
             f"{variant_name(config_path)}",) if ignored else ()
    return Variant(variant_name(config_path), f"the processors of {config_path.name} ({source})",
                   tuple(steps), default=True), notes


def _kind(processor_id: str) -> str:
    return processor_id.split("/", 1)[0]


def _pipeline_order(config: dict[str, Any]) -> list[str]:
    """The processors of the config's first traces pipeline, in its order ([] when it has none)."""
    pipelines = (config.get("service") or {}).get("pipelines") if isinstance(config.get("service"), dict) else None
    for name, pipeline in (pipelines or {}).items() if isinstance(pipelines, dict) else ():
        if str(name).split("/", 1)[0] == "traces" and isinstance(pipeline, dict):
            listed = pipeline.get("processors") or []
            return [str(pid) for pid in listed] if isinstance(listed, list) else []
    return []


def variant_name(config_path: Path) -> str:
    """`gateway.yaml` → `gateway`: a variant name of lower-case letters, digits and dashes that no
    other pipeline has."""
    stem = re.sub(r"[^a-z0-9-]+", "-", config_path.stem.lower()).strip("-") or "config"
    name = stem if NAME.match(stem) else f"config-{stem}"
    taken = name in ("collector", "direct", "sdk-zipkin") or name.startswith(RELEASE_PREFIXES)
    return f"stack-{name}" if taken else name


def _config_overrides(component: str, config_path: Path) -> dict[str, Any]:
    """A backend's config file from the stack file: a mapping of its settings (read, not applied)."""
    _, overrides = load_yaml(config_path, limit=MAX_CONFIG_BYTES, kind=f"{component} configs")
    if not isinstance(overrides, dict):
        raise InputError(str(config_path), "", f"a mapping of {component} settings, merged over the config "
                         "linkmatrix writes", 1)
    return overrides


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`overrides` over `base`, mapping by mapping (a value that is not a mapping replaces)."""
    result = dict(base)
    for key, value in overrides.items():
        result[key] = merged(result[key], value) if isinstance(value, dict) and isinstance(result.get(key), dict) \
            else value
    return result


NOT_BACKENDS = ("collector", "python_sdk")  # the candidates that are no backend (releases linkmatrix builds)


def parse_candidate(text: str, backends: Mapping[str, ListedBackend]) -> Candidate:
    """`jaeger=2.14.0` (a release linkmatrix builds), or `tempo=grafana/tempo:2.9.0` (an image whose tag is its
    version: a docker run); one line for anything else. `backends`: those a candidate may name."""
    names = (*backends, *NOT_BACKENDS)
    component, sep, value = text.partition("=")
    component = component.strip().replace("-", "_")
    if not sep or component not in names:
        raise UsageError(f"--candidate {text!r}: write COMPONENT=VERSION with COMPONENT one of "
                         f"{', '.join(names)} (e.g. jaeger=2.14.0)")
    value = value.strip()
    backend = backends.get(component)
    if VERSION.match(value):
        if backend is not None and backend.build is None:
            example = f"{component}={backend.image.rpartition(':')[0]}:{value}"
            raise UsageError(f"--candidate {text!r}: linkmatrix never builds {backend.title}; give its image, "
                             f"e.g. {example} (docker runtime)")
        return Candidate(component, value)
    tag = value.rpartition(":")[2]
    if "/" in value and VERSION.match(tag) and backend is not None:
        return Candidate(component, tag, image=value)
    *first, last = backends
    raise UsageError(f"--candidate {text!r}: give a release (2.14.0) or, for {', '.join(first)} and {last}, an "
                     "image tagged with its release (grafana/tempo:2.9.0)")


def dump_yaml(overrides: dict[str, Any]) -> str:
    return yaml.safe_dump(overrides, sort_keys=False)
