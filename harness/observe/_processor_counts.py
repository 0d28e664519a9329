"""The collector's own counts of what its processors did, per route: the record that proves a
processor (a filter, a sampler) dropped spans, so the loss is pinned on the collector hop.

Every route has processors of its own (ids `kind/<route>`), so the counts the collector keeps per
processor are that route's. Two kinds of count are read from its Prometheus endpoint:

- processors that pass data on as it comes (filter, attributes, transform, redaction,
  probabilistic_sampler, memory_limiter) count the items they took in and passed on: the
  difference is what they dropped;
- tail_sampling holds traces until it decides; it counts its decisions per policy (labelled
  `<processor name>.<policy>`), in traces. With one policy, "not sampled" decisions are drops of
  whole traces.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

INCOMING = "otelcol_processor_incoming_items"
OUTGOING = "otelcol_processor_outgoing_items"
TAIL_DECISIONS = "otelcol_processor_tail_sampling_count_traces_sampled"


@dataclass
class Counts:
    """What the collector said of its processors at one moment."""

    incoming: dict[str, float] = field(default_factory=dict)  # processor id → items taken in
    outgoing: dict[str, float] = field(default_factory=dict)  # processor id → items passed on
    # policy label ("<processor name>.<policy>") → {"true": traces kept, "false": traces dropped}
    decisions: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, other: Counts) -> None:
        """Another collector's counts (an agent's and its gateway's processors have ids of their own)."""
        self.incoming.update(other.incoming)
        self.outgoing.update(other.outgoing)
        for label, decided in other.decisions.items():
            self.decisions[label].update(decided)


def parse(text: str) -> Counts:
    counts = Counts()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            name = sample.name.removesuffix("_total")  # the collector writes counters without it
            if name in (INCOMING, OUTGOING) and labels.get("otel_signal", "traces") == "traces":
                target = counts.incoming if name == INCOMING else counts.outgoing
                target[labels.get("processor", "")] = sample.value
            elif name == TAIL_DECISIONS:
                counts.decisions[labels.get("policy", "")][labels.get("sampled", "")] = sample.value
    return counts


@dataclass(frozen=True)
class ProcessorDrops:
    """Spans a route's processors dropped, by the collector's own counts."""

    spans: int = 0
    messages: tuple[str, ...] = ()
    traces_sampled_out: int | None = None  # tail sampling: whole traces dropped; None when none decided yet


def drops(counts: Counts, processor_ids: list[str]) -> ProcessorDrops:
    spans, messages = 0, []
    sampled_out: int | None = None
    for processor in processor_ids:
        if processor.startswith("tail_sampling/"):
            name = processor.split("/", 1)[1]
            policies = {label: by for label, by in counts.decisions.items() if label.startswith(f"{name}.")}
            if len(policies) == 1:
                ((label, by),) = policies.items()
                sampled_out = int(by.get("false", 0))
                if sampled_out:
                    messages.append(f"collector processor {processor} sampled out {sampled_out} trace(s) "
                                    f"(its own count: {TAIL_DECISIONS}{{policy={label},sampled=false}} "
                                    f"{sampled_out:g})")
            continue
        taken, passed = counts.incoming.get(processor), counts.outgoing.get(processor)
        if taken is None or passed is None or taken <= passed:
            continue
        dropped = int(taken - passed)
        spans += dropped
        messages.append(f"collector processor {processor} dropped {dropped} span(s) (its own count: "
                        f"{taken:g} in, {passed:g} out)")
    return ProcessorDrops(spans, tuple(messages), sampled_out)
