"""Emit a scenario's spans with the OpenTelemetry Python SDK and record what was meant and made.

Two truths come out of here:
- `requested` (hop "requested"): the links exactly as the scenario's code asked for them;
- `sdk` (hop "sdk"): the SDK's own finished spans, after its limits and rules.
The wire and later hops are recorded by other stages.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence

from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import Link as SdkLink
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ..model import (
    ALL_INSTANCES,
    FLAG_CONTEXT_HAS_IS_REMOTE,
    FLAG_CONTEXT_IS_REMOTE,
    INVALID,
    NO_PARENT,
    RUN_ID_ATTRIBUTE,
    SDK_ZIPKIN,
    AttrValue,
    Emission,
    Link,
    LinkSpec,
    Pipeline,
    Scenario,
    Span,
    SpanRef,
    SpanSpec,
    TraceSpec,
)
from ..scenario import trace_state_pairs
from ._replay import replay

SCENARIO_ATTRIBUTE = "linkmatrix.scenario"
PIPELINE_ATTRIBUTE = "linkmatrix.pipeline"
_KINDS = {"internal": SpanKind.INTERNAL, "server": SpanKind.SERVER, "client": SpanKind.CLIENT,
          "producer": SpanKind.PRODUCER, "consumer": SpanKind.CONSUMER}
_PROPAGATOR = TraceContextTextMapPropagator()


class _ExportRecorder(SpanExporter):
    """Wraps the OTLP exporter so a failed export stops the run instead of passing silently."""

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self.failures = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self._inner.export(spans)
        if result is not SpanExportResult.SUCCESS:
            with self._lock:
                self.failures += 1
        return result

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


def link_flags(context: SpanContext) -> int:
    """OTLP Span.Link.flags as the OTLP spec defines them: W3C trace flags + is-remote bits."""
    flags = int(context.trace_flags) | FLAG_CONTEXT_HAS_IS_REMOTE
    return flags | FLAG_CONTEXT_IS_REMOTE if context.is_remote else flags


def _model_link(context: SpanContext, attributes: dict[str, AttrValue], dropped: int = 0) -> Link:
    return Link(
        trace_id=f"{context.trace_id:032x}",
        span_id=f"{context.span_id:016x}",
        trace_state=context.trace_state.to_header() if context.trace_state else "",
        attributes={key: tuple(value) if isinstance(value, (list, tuple)) else value
                    for key, value in attributes.items()},
        dropped_attributes_count=dropped,
        flags=link_flags(context),
    )


def _model_span(span: ReadableSpan) -> Span:
    context = span.get_span_context()
    assert context is not None  # a finished span always has one
    return Span(
        trace_id=f"{context.trace_id:032x}",
        span_id=f"{context.span_id:016x}",
        name=span.name,
        parent_span_id=f"{span.parent.span_id:016x}" if span.parent else "",
        # Earlier SDK releases (see harness.emit._worker) count neither: as they export, zero.
        links=tuple(_model_link(link.context, _attributes(link.attributes), getattr(link, "dropped_attributes", 0))
                    for link in span.links),
        dropped_links_count=getattr(span, "dropped_links", 0),
    )


def _attributes(attributes: object) -> dict[str, AttrValue]:
    """The SDK's attribute mapping as the model's (its values are already AnyValue-clean)."""
    return dict(attributes) if isinstance(attributes, Mapping) else {}


def _numbered(value: AttrValue, index: int, instance: int = 0) -> AttrValue:
    """"{index}" (the repeated link's number) or "{instance}" (the repeated trace's) alone becomes
    that int; inside a longer string each is replaced by its digits."""
    numbers = {"{index}": index, "{instance}": instance}
    if isinstance(value, str) and value in numbers:
        return numbers[value]
    if isinstance(value, str):
        return value.replace("{index}", str(index)).replace("{instance}", str(instance))
    return value


def _no_leading_zero(trace_id: int) -> int:
    """A random trace id whose first hex digit is not 0 (see _PlannedIds: a search must not be lost
    by chance on a backend that cannot find such ids)."""
    return trace_id | (1 << 124) if trace_id < (1 << 124) else trace_id


def _random_context() -> SpanContext:
    """A valid context no span has (`nowhere`)."""
    return SpanContext(_no_leading_zero(random.getrandbits(128)), random.getrandbits(64) or 1, is_remote=False,
                       trace_flags=TraceFlags(TraceFlags.SAMPLED))


def _unsampled_parent(trace_id: int) -> Context:
    """A remote parent that was not sampled: the default ParentBased sampler then records nothing."""
    parent = SpanContext(trace_id, random.getrandbits(64) or 1, is_remote=True,
                         trace_flags=TraceFlags(TraceFlags.DEFAULT))
    return trace_api.set_span_in_context(trace_api.NonRecordingSpan(parent))


@contextlib.contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    """SDK limits read from the environment, set only while the SDK reads them."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _PlannedIds(RandomIdGenerator):
    """Every id of a run fixed before the first span starts, handed to the SDK as it starts each
    span: a link can then point at a span listed later, or at itself, at start (as an application
    that fixes its ids with an IdGenerator can). Random ids, except that trace ids can be made to
    start with given hex digits — and, unless a scenario asks for one, never with a 0: a backend that
    cannot find a trace id starting with 0 (Tempo's TraceQL) would then lose a link search on one
    night in sixteen, by chance (`trace_id_prefix: "0"` measures that on purpose)."""

    def __init__(self) -> None:
        self.next_trace_id: int | None = None
        self.next_span_id: int | None = None

    def new_trace_id(self, prefix: str) -> int:
        trace_id = super().generate_trace_id()
        if not prefix:
            return _no_leading_zero(trace_id)
        shift = 128 - 4 * len(prefix)
        return (int(prefix, 16) << shift) | (trace_id & ((1 << shift) - 1)) or 1

    def generate_trace_id(self) -> int:
        return self.next_trace_id or self.new_trace_id("")

    def generate_span_id(self) -> int:
        return self.next_span_id or super().generate_span_id()


_SpanKey = tuple[str, int, str]  # (trace id in the scenario, instance, span name)


class _ScenarioRun:
    """Builds the spans of one scenario, trace by trace, span by span, in file order. Every span's
    context is planned first; a link added after start to a span not yet started is added as soon
    as that span starts (its own span stays open until then)."""

    def __init__(self, scenario: Scenario, tracer: trace_api.Tracer, ids: _PlannedIds) -> None:
        self.scenario = scenario
        self.tracer = tracer
        self.ids = ids
        self.contexts: dict[_SpanKey, SpanContext] = {}  # started spans
        self.planned: dict[_SpanKey, SpanContext] = self._plan()
        self.headers: dict[_SpanKey, dict[str, str]] = {}
        self.requested_links: dict[tuple[str, str], list[Link]] = {}
        self.labels: dict[tuple[str, str], str] = {}
        self.pending: dict[_SpanKey, list[tuple[trace_api.Span, SdkLink]]] = defaultdict(list)  # target → links
        self.open: list[trace_api.Span] = []  # started, not ended yet, in start order

    def _plan(self) -> dict[_SpanKey, SpanContext]:
        """The context each span will have, as the SDK will make it (flags included)."""
        # The W3C random-trace-id flag, where the SDK release sets it (earlier ones have neither).
        is_random = getattr(self.ids, "is_trace_id_random", lambda: False)()
        random_flag = getattr(TraceFlags, "RANDOM_TRACE_ID", 0) if is_random else 0
        planned: dict[_SpanKey, SpanContext] = {}
        for spec in self.scenario.traces:
            flags = TraceFlags(TraceFlags.SAMPLED | random_flag) if spec.sampled else TraceFlags(TraceFlags.DEFAULT)
            for instance in range(spec.repeat):
                trace_id = self.ids.new_trace_id(spec.trace_id_prefix)
                for span_spec in spec.spans:
                    planned[(spec.id, instance, span_spec.name)] = SpanContext(
                        trace_id, random.getrandbits(64) or 1, is_remote=False, trace_flags=flags)
        return planned

    def _targets(self, ref: SpanRef, own_trace: str, own_instance: int) -> list[_SpanKey]:
        if ref.special:
            return [(ref.trace, 0, "")]
        if ref.trace == own_trace:
            return [(ref.trace, own_instance, ref.span)]
        repeat = self.scenario.trace(ref.trace).repeat
        instances = range(repeat) if ref.index == ALL_INSTANCES else [ref.index or 0]
        return [(ref.trace, int(instance), ref.span) for instance in instances]

    def _link_context(self, spec: LinkSpec, target: _SpanKey) -> SpanContext:
        if spec.to.special:
            context = trace_api.INVALID_SPAN_CONTEXT if spec.to.trace == INVALID else _random_context()
        elif spec.via == "message":
            # The consumer sees only the message headers: extract, as a real consumer would.
            extracted = _PROPAGATOR.extract(carrier=self.headers[target])
            context = trace_api.get_current_span(extracted).get_span_context()
        else:
            # A span already started links by its own context; a later one (or the span itself, at
            # its start) by the context fixed for it in advance.
            context = self.contexts.get(target) or self.planned[target]
        if spec.trace_state is not None:
            context = SpanContext(context.trace_id, context.span_id, context.is_remote,
                                  context.trace_flags, TraceState(trace_state_pairs(spec.trace_state)))
        return context

    def _links(self, specs: Sequence[LinkSpec], trace_id: str, instance: int) -> list[tuple[_SpanKey, SdkLink]]:
        links: list[tuple[_SpanKey, SdkLink]] = []
        for spec in specs:
            targets = [target for target in self._targets(spec.to, trace_id, instance) for _ in range(spec.count)]
            for index, target in enumerate(targets):
                attributes = {key: _numbered(value, index, instance) for key, value in spec.attributes.items()}
                attributes.update({f"gen.{n}": n for n in range(spec.generated_attributes)})
                links.append((target, SdkLink(self._link_context(spec, target), attributes)))
        return links

    def _add_link(self, span: trace_api.Span, link: SdkLink) -> None:
        # Record before add_link: the SDK rewrites each Link's attributes in place.
        context = span.get_span_context()
        key = (f"{context.trace_id:032x}", f"{context.span_id:016x}")
        self.requested_links.setdefault(key, []).append(_model_link(link.context, _attributes(link.attributes)))
        add_link = getattr(span, "add_link", None)  # Span.add_link came in SDK 1.23.0
        if add_link is not None:
            add_link(link.context, link.attributes)

    def _parent_context(self, spec: TraceSpec, span_spec: SpanSpec, by_name: dict[str, trace_api.Span],
                        first: trace_api.Span | None, trace_id: int) -> Context:
        parent = None if span_spec.parent == NO_PARENT else \
            by_name.get(span_spec.parent) if span_spec.parent else first
        if parent:
            return trace_api.set_span_in_context(parent)
        return Context() if spec.sampled else _unsampled_parent(trace_id)

    def emit_trace_instance(self, trace_id: str, instance: int) -> None:
        spec = self.scenario.trace(trace_id)
        started: list[trace_api.Span] = []
        by_name: dict[str, trace_api.Span] = {}
        for span_spec in spec.spans:
            key = (trace_id, instance, span_spec.name)
            planned = self.planned[key]
            parent_context = self._parent_context(spec, span_spec, by_name, started[0] if started else None,
                                                  planned.trace_id)
            at_start = self._links([link for link in span_spec.links if link.added == "at_start"], trace_id, instance)
            after_start = self._links([link for link in span_spec.links if link.added == "after_start"],
                                      trace_id, instance)
            links = [link for _, link in at_start]
            span_key = (f"{planned.trace_id:032x}", f"{planned.span_id:016x}")
            # Record before start_span: the SDK rewrites each Link's attributes in place.
            self.requested_links[span_key] = [_model_link(link.context, _attributes(link.attributes))
                                              for link in links]
            self.ids.next_trace_id, self.ids.next_span_id = planned.trace_id, planned.span_id
            try:
                span = self.tracer.start_span(span_spec.name, context=parent_context,
                                              kind=_KINDS[span_spec.kind], links=links)
            finally:
                self.ids.next_trace_id = self.ids.next_span_id = None
            context = span.get_span_context()
            self.contexts[key] = context
            suffix = f"[{instance}]" if spec.repeat > 1 else ""
            self.labels[span_key] = f"{trace_id}{suffix}.{span_spec.name}"
            for target, link in after_start:
                if target[2] and target not in self.contexts:
                    self.pending[target].append((span, link))  # added once the target has started
                else:
                    self._add_link(span, link)
            for waiting, link in self.pending.pop(key, []):
                self._add_link(waiting, link)
            if span_spec.inject_message:
                carrier: dict[str, str] = {}
                _PROPAGATOR.inject(carrier, context=trace_api.set_span_in_context(span))
                self.headers[key] = carrier
            started.append(span)
            self.open.append(span)
            by_name[span_spec.name] = span
        time.sleep(0.001)  # non-zero durations: some UIs hide zero-length spans
        self.end_spans()

    def end_spans(self, everything: bool = False) -> None:
        """End the open spans, children first, except those still waiting to add a link to a span
        not yet started (an ended span takes no more links)."""
        waiting = set() if everything else {id(span) for links in self.pending.values() for span, _ in links}
        for span in reversed(self.open):
            if id(span) not in waiting:
                span.end()
        self.open = [span for span in self.open if id(span) in waiting]


def _span_limits(scenario: Scenario) -> SpanLimits:
    # Unset fields fall back to OTEL_SPAN_LINK_COUNT_LIMIT / OTEL_LINK_ATTRIBUTE_COUNT_LIMIT.
    return SpanLimits(max_links=scenario.span_limits.max_links,
                      max_link_attributes=scenario.span_limits.max_attributes_per_link)


def _exporter(pipeline: Pipeline, endpoint: str, timeout_s: float, protocol: str = "grpc") -> SpanExporter:
    """OTLP/gRPC, OTLP/HTTP (protobuf), or the SDK's own Zipkin JSON exporter (its pipeline sends to
    Zipkin, no collector)."""
    if pipeline == SDK_ZIPKIN:
        # Imported here: an earlier SDK release's environment (harness.emit._worker) has no need of it.
        from opentelemetry.exporter.zipkin.json import ZipkinExporter

        return ZipkinExporter(endpoint=f"http://{endpoint}/api/v2/spans", timeout=int(timeout_s))
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as OtlpHttpExporter

        return OtlpHttpExporter(endpoint=f"http://{endpoint}/v1/traces", timeout=timeout_s)
    return OTLPSpanExporter(endpoint=endpoint, insecure=True, timeout=timeout_s)


def emit(scenario: Scenario, run_id: str, otlp_endpoint: str | None, pipeline: Pipeline = "collector",
         export_timeout_s: float = 10.0, protocol: str = "grpc") -> Emission:
    """Send every span of `scenario` to `otlp_endpoint` ("127.0.0.1:4317"): OTLP/gRPC, OTLP/HTTP
    (`protocol` http/protobuf), or Zipkin JSON on the sdk-zipkin pipeline; None: nowhere. A capture
    is replayed as it is, with no SDK (see _replay)."""
    if scenario.is_capture:
        return replay(scenario, run_id, otlp_endpoint, pipeline, export_timeout_s, protocol)
    resource = Resource.create({"service.name": f"linkmatrix-{scenario.name}", RUN_ID_ATTRIBUTE: run_id,
                                SCENARIO_ATTRIBUTE: scenario.name, PIPELINE_ATTRIBUTE: pipeline})
    ids = _PlannedIds()
    with _environment(scenario.sdk_env):
        provider = TracerProvider(resource=resource, span_limits=_span_limits(scenario), id_generator=ids)
    finished = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(finished))
    exporter = None
    if otlp_endpoint is not None:
        exporter = _ExportRecorder(_exporter(pipeline, otlp_endpoint, export_timeout_s, protocol))
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=100))
    run = _ScenarioRun(scenario, provider.get_tracer("linkmatrix"), ids)
    started = time.time()
    try:
        for trace_spec in scenario.traces:
            for instance in range(trace_spec.repeat):
                run.emit_trace_instance(trace_spec.id, instance)
        run.end_spans(everything=True)
        provider.force_flush()
    finally:
        provider.shutdown()
    # A failed export is not a failure of the run: the wire tap recorded what the next hop said.

    sdk_spans = [_model_span(span) for span in finished.get_finished_spans()]
    requested = [Span(span.trace_id, span.span_id, span.name, span.parent_span_id,
                      tuple(run.requested_links.get(span.key, [])))
                 for span in sdk_spans]
    return Emission(scenario.name, run_id, pipeline, requested, sdk_spans, run.labels, list(run.headers.values()),
                    started, time.time(), exporter.failures if exporter else 0)


def plan(scenario: Scenario, run_id: str, pipeline: Pipeline = "collector") -> Emission:
    """What `emit` would send, made by the same SDK and sent nowhere: the spans of a scenario that
    could not be sent (its collector died), so that its cells are the ones a sent one has."""
    return emit(scenario, run_id, None, pipeline)
