"""The collector hop, watched while the run waits: what the collector forwarded toward one
backend, per scenario, published as each scenario settles — every span arrived at the tap in
front of the backend, or the collector's own log accounts for the rest as dropped. A read of
that backend waits for its scenario's record first, and then waits only for the spans that
record says reached the backend.

Without a tap in front of the backend (the Docker runtime on a network of its own) the record
is the collector's `file` export, which shows only what the whole collector forwarded.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import requests

from ..model import Delivery, Emission, Evidence, HopRecord, Key, Recorder
from ..stack import Stack, Tap, pipeline, wait_until
from . import _processor_counts as processor_counts


def keys_of(emission: Emission) -> set[Key]:
    return {span.key for span in emission.sdk}


class CollectorHop:
    """The records of one backend, keyed by scenario, with an event per scenario once settled."""

    def __init__(self, stack: Stack, backend: str, emissions: Sequence[Emission],
                 ingest: dict[str, Delivery] | None = None) -> None:
        self.stack = stack
        self.backend = backend
        self.ingest = ingest or {}  # route → what the collector's receiver did with its requests
        # Keyed by route (vocabulary.route_id): a scenario goes through every pipeline variant.
        self.pending = {e.route: e for e in emissions}
        self.owner = {key: e.route for e in emissions for key in keys_of(e)}  # span → its route
        self.records: dict[str, HopRecord] = {}
        self.settled = {scenario: threading.Event() for scenario in self.pending}

    def _look(self) -> dict[str, HopRecord]:
        """What every tap, file and log says now, for the scenarios not settled yet."""
        taps = self._taps()
        found = {scenario: HopRecord([], exact=bool(taps)) for scenario in self.pending}
        spans = [span for tap in taps for span in tap.spans()] if taps else [
            span for path in self.stack.forwarded_files for span in pipeline.read_forwarded(path, self.stack.run_id)]
        for span in spans:
            if self.owner.get(span.key) in found:
                found[self.owner[span.key]].spans.append(span)
        for tap in taps:
            for key, why in tap.refusals().items():
                if self.owner.get(key) in found:
                    found[self.owner[key]].refused[key] = why
            for key, why in tap.undelivered().items():
                if self.owner.get(key) in found:
                    found[self.owner[key]].undelivered[key] = why
        for scenario, record in found.items():
            self._add_ingest(scenario, record)
        counts = self._processor_counts()
        if counts is not None:
            for route, record in found.items():
                self._add_processor_drops(route, record, counts)
        failures = [f for collector in self.stack.collectors for f in pipeline.export_failures(collector.read_log())]
        for failure in failures:
            backend, scenario = self.stack.exporters.get(failure.exporter, ("", ""))
            if backend == self.backend and scenario in found:
                found[scenario].dropped += failure.dropped
                found[scenario].messages.append(failure.describe())
        return found

    def _taps(self) -> list[Tap]:
        """The taps in front of this backend: its ingest port's, and its OTLP/HTTP receiver's."""
        return [tap for egress in (self.stack.egress, self.stack.egress_http)
                if (tap := egress.get(self.backend)) is not None]

    def _processor_counts(self) -> processor_counts.Counts | None:
        """The collectors' own counts, where some route's processors may drop spans (processor ids
        are unique across the agent and its gateway: each is named by its route)."""
        counted = [c for c in self.stack.collectors if pipeline.METRICS_PORT in c.spec.ports]
        if not counted:
            return None
        merged = processor_counts.Counts()
        for collector in counted:
            try:
                response = requests.get(f"{collector.url(pipeline.METRICS_PORT)}/metrics", timeout=5)
            except requests.RequestException:
                return None  # no count: the route stays unsettled until it has one, or its deadline
            if response.status_code != 200:
                return None
            merged.add(processor_counts.parse(response.text))
        return merged

    def _add_processor_drops(self, route: str, record: HopRecord, counts: processor_counts.Counts) -> None:
        way = self.stack.routes.get(route)
        if way is None or not way.counted:
            return
        drops = processor_counts.drops(counts, list(way.processor_configs()))
        record.dropped += drops.spans
        record.messages.extend(drops.messages)
        if drops.traces_sampled_out:
            # Whole traces: the ones none of whose spans left the collector, once there are as
            # many of them as the sampler says it dropped.
            expected = keys_of(self.pending[route])
            arrived = {span.key[0] for span in record.spans}
            missing = {trace for trace, _ in expected} - arrived
            if len(missing) == drops.traces_sampled_out:
                record.dropped += sum(1 for trace, _ in expected if trace in missing)

    def _add_ingest(self, scenario: str, record: HopRecord) -> None:
        """Requests the collector itself refused never reach any tap: its answer accounts for them."""
        delivery = self.ingest.get(scenario)
        if delivery is None:
            return
        if delivery.refused:
            record.dropped += len(delivery.refused)
            record.messages.extend(f"the collector refused the request: {why}"
                                   for why in sorted(set(delivery.refused.values())))
        if delivery.undelivered:
            record.broken = f"the collector could not be reached: {sorted(set(delivery.undelivered.values()))[0]}"

    def _publish(self, found: dict[str, HopRecord]) -> bool:
        # A dead collector forwards nothing more, and what it would have done is unknown.
        death = next((notice for c in self.stack.collectors if (notice := c.death_notice())), None)
        for scenario, record in found.items():
            if death or record.broken or record.settled(keys_of(self.pending[scenario])):
                if death and not record.settled(keys_of(self.pending[scenario])):
                    record.broken = death.splitlines()[0]
                self._settle(scenario, record)
        if death:
            self.stack.recorder.problem(death)
        return not self.pending

    def _settle(self, scenario: str, record: HopRecord) -> None:
        self.records[scenario] = record
        del self.pending[scenario]
        self.settled[scenario].set()

    def watch(self, timeout: float, cancel: threading.Event, recorder: Recorder, evidence: Evidence) -> None:
        try:
            # Polled briskly: every read of this backend waits for it (taps decode incrementally).
            wait_until(self._look, self._publish, timeout=timeout, cancel=cancel, max_delay=0.2,
                       what=f"collector → {self.backend}",
                       describe=lambda found: f"still unsettled: {', '.join(sorted(self.pending))}")
        except Exception as error:  # not all there, or unreadable: the hop shows what it has
            recorder.problem(f"collector → {self.backend}: {error}")
            try:
                last = self._look()
            except Exception:
                last = {scenario: HopRecord([], exact=self.backend in self.stack.egress) for scenario in self.pending}
            for scenario, record in last.items():
                record.broken = record.broken or f"the collector hop did not settle: {str(error).splitlines()[0]}"
                self._settle(scenario, record)
        named = (("collector-egress", self.stack.egress), ("collector-egress-http", self.stack.egress_http))
        for name, egress in named:
            tap = egress.get(self.backend)
            if tap is None:
                continue
            for problem in tap.errors:
                recorder.problem(f"collector → {self.backend}: its tap could not take a request: {problem}")
            evidence.save(f"raw/{self.backend}/{name}.jsonl", tap.save)

    def reaching(self, emission: Emission, timeout: float, cancel: threading.Event) -> set[Key]:
        """The spans a read should wait for: all sent, less those this hop's record proves never
        reached the backend (once the record has settled; until the deadline otherwise)."""
        expected = keys_of(emission)
        event = self.settled.get(emission.route)
        if event is None or not event.wait(timeout) or cancel.is_set():
            return expected
        return self.records[emission.route].reaching_backend(expected)

    def record(self, scenario: str) -> HopRecord | None:
        return self.records.get(scenario)
