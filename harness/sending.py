"""The emit stage: every scenario, on every pipeline it asks for, sent by the SDK through a wire
tap of its own (so no scenario's wire is ever mixed with another's), and recorded in sent.json."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial

from .emit import Emission, emit
from .errors import LinkmatrixError
from .evidence import Evidence
from .model import Span
from .recorder import Recorder
from .stack import Stack
from .taps import OtlpGrpcTap
from .vocabulary import COLLECTOR, Pipeline


@dataclass
class Sent:
    emissions: list[Emission] = field(default_factory=list)
    wire: dict[tuple[str, Pipeline], list[Span]] = field(default_factory=dict)  # (scenario, pipeline) → wire
    ended: float = 0.0  # monotonic time the last export finished


def send_all(stack: Stack, evidence: Evidence, recorder: Recorder) -> Sent:
    sent = Sent()
    started = time.monotonic()
    if COLLECTOR in stack.pipelines and stack.collector is None:
        recorder.problem("pipeline collector: nothing to send to (the collector did not start)")
    for pipeline_name in stack.pipelines:
        if pipeline_name == COLLECTOR and stack.collector is None:
            continue
        for scenario in stack.scenarios:
            if pipeline_name not in scenario.pipelines:
                continue
            recorder.notify(f"emitting {scenario.name}" + (f" ({pipeline_name})" if pipeline_name != COLLECTOR else ""))
            with OtlpGrpcTap(stack.upstreams(pipeline_name, scenario.name), stack.run_id) as tap:
                try:
                    sent.emissions.append(emit(scenario, stack.run_id, tap.address, pipeline_name))
                except LinkmatrixError as error:
                    recorder.problem(str(error))
                sent.wire[(scenario.name, pipeline_name)] = tap.spans()
                evidence.save(f"raw/wire/{pipeline_name}.jsonl", partial(tap.save, append=True))
    sent.ended = time.monotonic()
    recorder.stage("emit", sent.ended - started)
    evidence.json("sent.json", {
        "run_id": stack.run_id,
        "emissions": [{"scenario": e.scenario, "pipeline": e.pipeline,
                       "requested": [s.to_json() for s in e.requested],
                       "sdk": [s.to_json() for s in e.sdk],
                       "labels": {f"{t}/{s}": label for (t, s), label in e.labels.items()},
                       "messages": e.messages} for e in sent.emissions]})
    return sent
