"""The emit stage: every scenario, on every pipeline it asks for, sent by the SDK through a wire
tap of its own (so no scenario's wire is ever mixed with another's), and recorded in sent.json."""

from __future__ import annotations

import os
import pickle
import subprocess
import time
from functools import partial
from pathlib import Path
from typing import cast

from ..emit import HttpPostTap, OtlpGrpcTap, emit, otlp_decoder, plan
from ..model import (
    COLLECTOR,
    SDK_ZIPKIN,
    Delivery,
    Emission,
    Evidence,
    LinkmatrixError,
    Pipeline,
    Recorder,
    Scenario,
    Sent,
    through_collector,
)
from ..stack import GRPC, HTTP_PROTOBUF, Stack, toolchain


def emit_with_release(release: str, scenario: Scenario, run_id: str, endpoint: str, pipeline_name: Pipeline,
                      sent: Sent) -> Emission:
    """The scenario emitted by an earlier SDK release, in its own environment (harness.emit._worker)."""
    python = toolchain.ensure([release], report=lambda message: None)[release]
    source = Path(__file__).resolve().parents[2]  # the folder that holds this very code, for the worker to import
    try:
        done = subprocess.run([str(python), "-m", "harness.emit._worker"], cwd=source,
                              input=pickle.dumps((scenario, run_id, endpoint, pipeline_name)),
                              capture_output=True, timeout=300, env={**os.environ, "PYTHONPATH": str(source)})
    except subprocess.TimeoutExpired:
        raise LinkmatrixError(f"{release} did not finish emitting within 300 s") from None
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        raise LinkmatrixError(f"{release} could not emit (exit {done.returncode}): {tail[0]}")
    emission, version = pickle.loads(done.stdout)
    sent.sdk_versions[pipeline_name] = version
    return cast(Emission, emission)


def _wire_tap(stack: Stack, pipeline_name: Pipeline, protocol: str, upstreams: list[str]) -> OtlpGrpcTap | HttpPostTap:
    """The wire tap: OTLP/gRPC; OTLP/HTTP protobuf; or, for the SDK's Zipkin exporter, what the
    backend it sends to reads that exporter's requests with."""
    target = stack.sdk_zipkin_target() if pipeline_name == SDK_ZIPKIN else None
    if target is not None:
        return HttpPostTap(f"http://{upstreams[0]}", target.sdk_zipkin_decoder(stack.run_id))
    if protocol == HTTP_PROTOBUF:
        return HttpPostTap(f"http://{upstreams[0]}", otlp_decoder(stack.run_id))
    return OtlpGrpcTap(upstreams, stack.run_id)


def _tap_key(tap: OtlpGrpcTap | HttpPostTap, upstream: str) -> str:
    """How the wire tap names a next hop ("host:port", or the URL it posts to)."""
    return tap.upstream if isinstance(tap, HttpPostTap) else upstream


def _prepare_releases(stack: Stack, recorder: Recorder) -> dict[str, str]:
    """The environment of every earlier SDK release the run emits with, made once before the first
    scenario (with progress; the first time it is a pip install): release → why it could not be."""
    unready = {}
    for release in dict.fromkeys(v.sdk for v in stack.variants if v.sdk):
        try:
            toolchain.ensure([release], report=recorder.notify)
        except LinkmatrixError as error:
            unready[release] = f"{release} could not be installed: {str(error).splitlines()[0]}"
            recorder.problem(unready[release])
    return unready


def not_sent(sent: Sent, stack: Stack, scenario: Scenario, pipeline_name: Pipeline, why: str) -> None:
    """A scenario that could not be sent on a pipeline: why, and the spans it would have sent (made
    by the SDK, sent nowhere), so that the judge gives it every cell a sent one has, each `error`."""
    sent.failed[(scenario.name, pipeline_name)] = why
    sent.planned[(scenario.name, pipeline_name)] = plan(scenario, stack.run_id, pipeline_name)


def send_all(stack: Stack, evidence: Evidence, recorder: Recorder) -> Sent:
    sent = Sent()
    started = time.monotonic()
    no_collector = "the collector did not start"
    if stack.through_collector and stack.collector is None:
        recorder.problem(f"pipeline collector: nothing to send to ({no_collector})")
    unready = _prepare_releases(stack, recorder)
    for pipeline_name in stack.pipelines:
        collected = through_collector(pipeline_name)
        dead = no_collector if collected and stack.collector is None else ""
        if collected and pipeline_name != COLLECTOR and stack.collector is not None \
                and not stack.collector.started_here:
            recorder.problem(f"pipeline {pipeline_name}: not run (a collector someone else runs has only its own "
                             "pipeline)")
            continue
        for scenario in stack.scenarios:
            if not stack.runs_on(scenario, pipeline_name):
                continue
            entered = stack.collector_of(pipeline_name) if collected and not dead else None
            death = entered.death_notice() if entered else None
            if death:  # nothing more can go through it: said once, nothing more sent its way
                recorder.problem(death)
                dead = death.splitlines()[0]
            if dead:  # the scenarios not yet sent keep their cells, each an error saying why
                not_sent(sent, stack, scenario, pipeline_name, dead)
                continue
            release = next((v.sdk for v in stack.variants if v.name == pipeline_name and v.sdk), "")
            if release in unready:  # its environment could not be made: said once, not tried again
                not_sent(sent, stack, scenario, pipeline_name, unready[release])
                continue
            recorder.notify(f"emitting {scenario.name}" + (f" ({pipeline_name})" if pipeline_name != COLLECTOR else ""))
            upstreams = stack.upstreams(pipeline_name, scenario.name)
            if pipeline_name == SDK_ZIPKIN and not upstreams:
                recorder.problem(f"pipeline {SDK_ZIPKIN}: not run (no backend of this run takes what the SDK's "
                                 "Zipkin exporter sends)")
                break
            if collected and not upstreams:  # its collector (or gateway) did not start: said once, above
                not_sent(sent, stack, scenario, pipeline_name, "the collector this pipeline needs did not start")
                continue
            protocol = next((v.protocol for v in stack.variants if v.name == pipeline_name), GRPC)
            _send_one(stack, scenario, pipeline_name, release, protocol, upstreams, sent, evidence, recorder)
    sent.ended = time.monotonic()
    recorder.stage("emit", sent.ended - started)
    _save_sent(evidence, stack.run_id, sent)
    return sent


def _send_one(stack: Stack, scenario: Scenario, pipeline_name: Pipeline, release: str, protocol: str,
              upstreams: list[str], sent: Sent, evidence: Evidence, recorder: Recorder) -> None:
    """One scenario on one pipeline: emitted through a wire tap of its own, what the tap saw and what
    the next hop did with each request kept."""
    with _wire_tap(stack, pipeline_name, protocol, upstreams) as tap:
        try:
            emission = (emit_with_release(release, scenario, stack.run_id, tap.address, pipeline_name, sent)
                        if release else emit(scenario, stack.run_id, tap.address, pipeline_name, protocol=protocol))
        except LinkmatrixError as error:  # that release could not emit: its cells are not measured
            recorder.problem(f"scenario {scenario.name} ({pipeline_name}): {error}")
            not_sent(sent, stack, scenario, pipeline_name, str(error))
            return
        sent.emissions.append(emission)
        sent.wire[(scenario.name, pipeline_name)] = tap.spans()
        for upstream in upstreams:
            key = _tap_key(tap, upstream)
            delivery = sent.delivery[(scenario.name, pipeline_name, upstream)] = Delivery(
                tap.refusals(key), tap.undelivered(key))
            if delivery.undelivered:  # could not measure: a problem of the run, not a finding
                recorder.problem(f"scenario {scenario.name}: {upstream} could not be reached: "
                                 f"{sorted(set(delivery.undelivered.values()))[0]}")
        if emission.export_failures and not (tap.refusals() or tap.undelivered()):
            recorder.problem(f"scenario {scenario.name}: the SDK's exporter failed {emission.export_failures} "
                             "export(s) that never reached linkmatrix's wire tap (see logs/sdk.log)")
        evidence.save(f"raw/wire/{pipeline_name}.jsonl", partial(tap.save, append=True))


def _save_sent(evidence: Evidence, run_id: str, sent: Sent) -> None:
    """What was sent, whole: sent.json (the evidence every cell's bounded sample points at)."""
    evidence.json("sent.json", {
        "run_id": run_id,
        "emissions": [{"scenario": e.scenario, "pipeline": e.pipeline,
                       "requested": [s.to_json() for s in e.requested],
                       "sdk": [s.to_json() for s in e.sdk],
                       "labels": {f"{t}/{s}": label for (t, s), label in e.labels.items()},
                       "messages": e.messages} for e in sent.emissions]})
