"""Collector pipeline variants, read from one declarative file (pipelines.yaml).

A variant names the processors a scenario's spans pass through in the collector, in order, each
in the collector's own config form. Every variant becomes a pipeline of its own in the matrix: its
own receiver, processors and exporters per scenario, judged at the same hops as the plain one.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..model import COLLECTOR, PLAIN, SDK_PIPELINES, ScenarioError, UsageError, Variant, load_yaml

DEFAULT_FILE = "pipelines.yaml"
MAX_FILE_BYTES = 1024 * 1024  # the shipped file is a few kilobytes
NAME = re.compile(r"^[a-z][a-z0-9-]*$")
ALL = "all"
DEFAULT = "default"
PROTOCOLS = ("grpc", "http/protobuf")  # the SDK's OTLP exporters (Python's HTTP one writes protobuf only)
# The collector's exporters to OTLP backends: otlp_grpc, or otlp_http writing protobuf or JSON.
EXPORTER_PROTOCOLS = ("grpc", "http/protobuf", "http/json")
RELEASE_PREFIXES = ("python-sdk-", "otelcol-")  # the pipelines of earlier SDK and collector releases


# The processors the pinned collector is built with (harness/stack/toolchain/otelcol-builder.yaml; an
# e2e test holds this list to what the built collector says of itself).
PROCESSOR_KINDS = ("attributes", "batch", "filter", "memory_limiter", "probabilistic_sampler", "redaction",
                   "tail_sampling", "transform")

def _problem(path: Path, where: str, what: str) -> ScenarioError:
    return ScenarioError(str(path), where, what)


def _processors(path: Path, name: str, raw: object) -> tuple[tuple[str, dict[str, Any]], ...]:
    if not isinstance(raw, list) or not raw:
        raise _problem(path, f"variants.{name}.processors", "a non-empty list of `kind: {config}` items")
    processors = []
    for index, item in enumerate(raw):
        where = f"variants.{name}.processors[{index}]"
        if not isinstance(item, dict) or len(item) != 1:
            raise _problem(path, where, "one `kind: {config}` entry, e.g. `batch: {timeout: 200ms}`")
        ((kind, config),) = item.items()
        if not isinstance(kind, str) or not re.match(r"^[a-z][a-z0-9_]*$", kind):
            raise _problem(path, where, f"{kind!r} is not a collector processor kind")
        if kind not in PROCESSOR_KINDS:
            raise _problem(path, where, f"the pinned collector has no {kind!r} processor "
                                        f"(it has: {', '.join(PROCESSOR_KINDS)})")
        if config is not None and not isinstance(config, dict):
            raise _problem(path, where, f"the config of {kind} must be a mapping")
        processors.append((kind, dict(config or {})))
    return tuple(processors)


def load(path: Path) -> list[Variant]:
    """Every variant in the file, in its order; one clear line for whatever is wrong with it."""
    _, document = load_yaml(path, limit=MAX_FILE_BYTES, kind="pipelines files")
    variants = document.get("variants") if isinstance(document, dict) else None
    if not isinstance(variants, dict) or not variants:
        raise _problem(path, "variants", "a mapping of variant name → {about, processors}")
    loaded = []
    for name, body in variants.items():
        if not isinstance(name, str) or not NAME.match(name):
            raise _problem(path, f"variants.{name}", "a name of lower-case letters, digits and dashes")
        if name in SDK_PIPELINES:
            raise _problem(path, f"variants.{name}", "is the name of a pipeline without the collector; pick another")
        if name.startswith(RELEASE_PREFIXES):
            raise _problem(path, f"variants.{name}", "names of earlier releases (--versions) begin so; pick another")
        if not isinstance(body, dict):
            raise _problem(path, f"variants.{name}", "a mapping with `about` and `processors`")
        unknown = set(body) - {"about", "processors", "default", "sdk_protocol", "gateway", "exporter_protocol"}
        if unknown:
            raise _problem(path, f"variants.{name}.{sorted(unknown)[0]}", "not a variant field "
                           "(about, processors, default, sdk_protocol, gateway, exporter_protocol)")
        if body.get("exporter_protocol", "grpc") not in EXPORTER_PROTOCOLS:
            raise _problem(path, f"variants.{name}.exporter_protocol", f"one of {', '.join(EXPORTER_PROTOCOLS)}")
        if body.get("sdk_protocol", "grpc") not in PROTOCOLS:
            raise _problem(path, f"variants.{name}.sdk_protocol", f"one of {', '.join(PROTOCOLS)}")
        if not isinstance(body.get("about"), str) or not body["about"].strip():
            raise _problem(path, f"variants.{name}.about", "one line saying what the variant shows")
        for flag in ("default", "gateway"):
            if not isinstance(body.get(flag, False), bool):
                raise _problem(path, f"variants.{name}.{flag}", "true or false")
        loaded.append(Variant(name, body["about"].strip(), _processors(path, name, body.get("processors")),
                              bool(body.get("default", False)), protocol=body.get("sdk_protocol", "grpc"),
                              gateway=bool(body.get("gateway", False)),
                              exporter_protocol=body.get("exporter_protocol", "grpc")))
    if COLLECTOR not in {variant.name for variant in loaded}:
        raise _problem(path, "variants", f"the plain variant `{COLLECTOR}` must be there (every run has it)")
    return loaded


def available(path: Path | None) -> list[Variant]:
    """The file's variants; the plain one alone when the default file is not there."""
    if path is None:
        default = Path(DEFAULT_FILE)
        return load(default) if default.is_file() else [PLAIN]
    return load(path)


def sdk_release(key: str, version: str) -> Variant:
    """The plain pipeline, emitted by an earlier SDK release in its own environment."""
    return Variant(f"{RELEASE_PREFIXES[0]}{version}", f"opentelemetry-python {version} (its own virtual environment), "
                   "through the plain collector pipeline", PLAIN.processors, sdk=key)


def collector_release(key: str, version: str, variant: Variant = PLAIN) -> Variant:
    """A collector variant run by an earlier collector release (the same components) in a
    collector process of its own: `otelcol-0.158.0` (the plain one), `otelcol-0.158.0-<variant>`."""
    name = release_pipeline(version, variant.name)
    return replace(variant, name=name, about=f"{variant.about} (OpenTelemetry Collector {version}, the same "
                   "components built at that release)", default=False, collector=key)


def release_pipeline(version: str, variant: str) -> str:
    return f"{RELEASE_PREFIXES[1]}{version}" + ("" if variant == COLLECTOR else f"-{variant}")


RELEASE_PIPELINE = re.compile(rf"^{RELEASE_PREFIXES[1]}(\d+\.\d+\.\d+)(?:-(.+))?$")


def released_from(pipeline: str) -> str | None:
    """The pinned pipeline an earlier collector release's pipeline runs again: `collector` for
    `otelcol-0.158.0`, `filter-drop-named` for `otelcol-0.158.0-filter-drop-named`; None: not one."""
    match = RELEASE_PIPELINE.match(pipeline)
    return (match[2] or COLLECTOR) if match else None


def runs_on_release(variant: Variant) -> bool:
    """An earlier collector runs a variant of the pinned one's file; not one with a gateway (that
    would be a second release's process too) or an earlier SDK's."""
    return not variant.gateway and not variant.sdk and not variant.collector


def select(variants: list[Variant], choice: str) -> list[Variant]:
    """`default`, `all`, or names separated by commas (the plain variant always comes along)."""
    if choice == ALL:
        return variants
    if choice == DEFAULT:
        return [variant for variant in variants if variant.default or variant.name == COLLECTOR]
    by_name = {variant.name: variant for variant in variants}
    wanted = [name.strip() for name in choice.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        raise UsageError(f"--pipelines: no variant {unknown[0]!r} (there are: {', '.join(by_name)})")
    return [variant for variant in variants if variant.name == COLLECTOR or variant.name in wanted]
