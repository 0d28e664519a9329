"""What a stack file and its candidates make of a run: the backends it chooses from (the stack's
own releases under the usual names, each candidate as a backend of its own beside it), the
pipelines the collector and the SDK add, the images, what each backend is given, and the pairs
of the current and candidate releases whose cells are compared.

Pure planning: nothing is built or started here, and the backend table is never changed (the run
gets a table of its own).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from ..model import COLLECTOR, UsageError, Variant
from ..stack import Backend, Candidate, Given, StackFile, toolchain, variants
from ..stack import load_stack_file as stack_file_loaded
from ..stack import parse_candidate as stack_candidate
from ._table import BACKENDS

# How a candidate's cells are told from the current release's: by the backend, or by the pipeline
# (the SDK and the collector are pipelines of their own).
BY_BACKEND, BY_PIPELINE = "backend", "pipeline"


@dataclass
class Plan:
    table: dict[str, Backend]  # the backends the run chooses from
    backends: list[str]  # those a run without --backend runs (besides --storages and --versions)
    variants: list[Variant]  # the chosen pipelines, with those the stack file and the candidates add
    images: dict[str, str] = field(default_factory=dict)  # docker: service → image
    options: dict[str, dict[str, str]] = field(default_factory=dict)  # backend family → what the user gave it
    record: dict[str, Any] = field(default_factory=dict)  # the report's `run.stack`
    notes: list[str] = field(default_factory=list)  # said once before the run starts


def plan(stack: StackFile | None, candidates: list[Candidate], chosen: list[Variant],
         default_backends: list[str], collector_config: tuple[Variant, tuple[str, ...]] | None = None) -> Plan:
    """The run a stack file (None: the pinned stack) and its candidates ask for; `collector_config`:
    the variant `--collector-config` made of a collector config, and what the run says about it."""
    planned = Plan(dict(BACKENDS), list(default_backends), list(chosen))
    if stack is not None:
        planned.notes += stack.notes
        planned.record = {"file": stack.path.name, "given": stack.describe()}
        if stack.collector_variant is not None:
            planned.variants.append(stack.collector_variant)
    if collector_config is not None:
        _add_config_variant(planned, *collector_config)
    ours: dict[str, str] = {}  # family → the stack's own release of it (its backend's name)
    if stack is not None:
        # The backends a stack file lists are those the team runs; the pinned others are left out.
        planned.backends = [name for name in planned.backends if name not in FAMILIES]
        for family in FAMILIES:
            if stack.given(family):
                ours[family] = _backend(planned, family, stack)
        planned.backends[:0] = ours.values()
    # A candidate release runs beside the current one of each backend linkmatrix builds.
    current = {family: planned.table[ours.get(family, family)] for family in FAMILIES
               if BACKENDS[family].build is not None}
    sdk = _sdk(planned, stack.given("python_sdk") if stack else None)
    collector = _collector(planned, stack.given("collector") if stack else None)
    pairs = []
    for candidate in candidates:
        if candidate.component in current:
            pairs.append(_backend_candidate(planned, current[candidate.component], candidate))
        elif candidate.component == "python_sdk":
            pairs.append(_sdk_candidate(planned, sdk, candidate))
        elif candidate.component == "collector":
            pairs.append(_collector_candidate(planned, collector, candidate))
        else:
            raise UsageError(f"--candidate {candidate.text}: a Tempo candidate is not run yet (run the two Tempos "
                             "as two nights' stack files and compare them with `linkmatrix diff`)")
    if pairs:
        planned.record["candidates"] = pairs
    return planned


def _add_config_variant(planned: Plan, variant: Variant, notes: tuple[str, ...]) -> None:
    """A collector config's variant beside the chosen ones; the same processors under the same name
    once (the stack file may name the same config), another pipeline of that name refused."""
    same_name = next((v for v in planned.variants if v.name == variant.name), None)
    if same_name is not None and same_name.processors != variant.processors:
        raise UsageError(f"--collector-config: the run already has a pipeline named {variant.name!r} with other "
                         "processors; rename the file (its name names the pipeline)")
    planned.notes += notes
    if same_name is None:
        planned.variants.append(variant)


# --- the stack file's own releases ---------------------------------------------------------------

FAMILIES = ("jaeger", "zipkin", "tempo")  # the backends a stack file may list (and a candidate name)


def load_stack_file(path: Path, built_processors: dict[str, str]) -> StackFile:
    """The stack file at `path`, each backend it lists checking its own entry (see stack.load_stack_file)."""
    return stack_file_loaded(path, built_processors, {family: BACKENDS[family] for family in FAMILIES})


def parse_candidate(text: str) -> Candidate:
    """`jaeger=2.14.0`, `tempo=grafana/tempo:2.9.0`, `collector=0.158.0`: a release to run beside the current one."""
    return stack_candidate(text, {family: BACKENDS[family] for family in FAMILIES})


def _backend(planned: Plan, name: str, stack: StackFile) -> str:
    """The stack's release of a backend under its usual name (`jaeger-opensearch`), as its adapter
    makes it of the stack file's entry; its name."""
    chosen = BACKENDS[name].as_given(stack.components[name], stack, BACKENDS)
    if chosen.options is not None:
        planned.options[name] = chosen.options
    planned.images.update(chosen.images)
    planned.table[chosen.backend.name] = chosen.backend
    return chosen.backend.name


def _sdk(planned: Plan, given: Given | None) -> str:
    """The pipeline the stack's SDK emits on: `collector` for the one installed here, else an SDK
    release in a virtual environment of its own (`python-sdk-1.40.0`)."""
    if given is None or given.version == _installed_sdk():
        return COLLECTOR
    return _sdk_variant(planned, given.version)


def _sdk_variant(planned: Plan, version: str) -> str:
    variant = variants.sdk_release(f"{toolchain.PYTHON_SDK_PREVIOUS.name}@{version}", version)
    if variant.name not in {v.name for v in planned.variants}:
        planned.variants.append(variant)
    return variant.name


def _installed_sdk() -> str:
    return metadata.version("opentelemetry-sdk")


def _collector(planned: Plan, given: Given | None) -> str:
    """The collector release the stack runs: "" for the pinned one, else its version (its pipelines
    run in a collector process of their own, as an earlier release's do)."""
    if given is None:
        return ""
    if given.image:
        planned.images["collector"] = given.image
    if not given.version or given.version == toolchain.COLLECTOR.version:
        return ""
    _collector_variants(planned, given.version)
    return given.version


def _collector_variants(planned: Plan, version: str) -> dict[str, str]:
    """Every collector pipeline of the run again, on the collector at `version`: variant → its pipeline."""
    key = f"{toolchain.COLLECTOR.name}@{version}"
    runs = [v for v in planned.variants if variants.runs_on_release(v)]
    names = {v.name for v in planned.variants}
    for variant in runs:
        release = variants.collector_release(key, version, variant)
        if release.name not in names:
            planned.variants.append(release)
    return {variant.name: variants.release_pipeline(version, variant.name) for variant in runs}


# --- candidates ----------------------------------------------------------------------------------

def _backend_candidate(planned: Plan, current: Backend, candidate: Candidate) -> dict[str, Any]:
    backend = current.at_release(candidate.version, current=False)
    if _release_of(backend) == _release_of(current) or backend.name in planned.backends:
        raise UsageError(f"--candidate {candidate.text}: that is the release the run already has as {current.name}")
    planned.table[backend.name] = backend
    planned.backends.append(backend.name)
    if candidate.image:
        planned.images[backend.name] = candidate.image
    return _pair(candidate, BY_BACKEND, [(current.name, backend.name)])


def _release_of(backend: Backend) -> tuple[str, str] | None:
    """The name and version of what a backend runs (None: whatever the user gives it)."""
    return (backend.build.name, backend.build.version) if backend.build is not None else None


def _sdk_candidate(planned: Plan, current: str, candidate: Candidate) -> dict[str, Any]:
    chosen = COLLECTOR if candidate.version == _installed_sdk() else _sdk_variant(planned, candidate.version)
    if chosen == current:
        raise UsageError(f"--candidate {candidate.text}: that is the SDK release the run already has")
    return _pair(candidate, BY_PIPELINE, [(current, chosen)])


def _collector_candidate(planned: Plan, current: str, candidate: Candidate) -> dict[str, Any]:
    if candidate.version == (current or toolchain.COLLECTOR.version):
        raise UsageError(f"--candidate {candidate.text}: that is the collector release the run already has")
    runs = [v.name for v in planned.variants if variants.runs_on_release(v)]
    ours = {name: variants.release_pipeline(current, name) if current else name for name in runs}
    if candidate.version == toolchain.COLLECTOR.version:  # the pinned one is a candidate of an older stack
        theirs = {name: name for name in runs}
    else:
        theirs = _collector_variants(planned, candidate.version)
    return _pair(candidate, BY_PIPELINE, [(ours[name], theirs[name]) for name in runs])


def _pair(candidate: Candidate, by: str, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    return {"component": candidate.component, "version": candidate.version,
            **({"image": candidate.image} if candidate.image else {}), "by": by,
            "pairs": [{"current": current, "candidate": other} for current, other in pairs]}
