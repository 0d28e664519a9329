"""The judge stage alone: emissions and observations in, cells out — no service, no clock."""

from __future__ import annotations

from harness.judge._judge import Topology, judge
from harness.model._columns import Answer, SearchReadPath, TraceReadPath
from harness.model._handoff import Emission, ObservationKey, Observations
from harness.model._records import HopRecord
from harness.model._scenarios import Scenario, SpanSpec, TraceSpec
from harness.model._spans import Link, Span

T1, T2, S1, S2 = "1" * 32, "2" * 32, "a" * 16, "b" * 16
READ = TraceReadPath("b", "api", "B /api", lambda http, base, trace: Answer([], 404, None))
SEARCH = SearchReadPath("b", "search", "B search", lambda http, base, query: None, kinds=frozenset())  # type: ignore[arg-type,return-value]


def emission(name: str, pipeline: str = "collector") -> tuple[Scenario, Emission]:
    target = Span(T1, S1, "publish")
    linking = Span(T2, S2, "consume", links=(Link(T1, S1, attributes={"k": "v"}, flags=0x100),))
    scenario = Scenario(name, "p", f"{name}.yaml", (TraceSpec("t", 1, (SpanSpec("s"),)),), pipelines=(pipeline,))  # type: ignore[arg-type]
    return scenario, Emission(name, "run", pipeline, [target, linking], [target, linking],
                              {linking.key: "consumer.consume", target.key: "producer.publish"})


def test_judge_takes_each_hop_from_the_emissions_own_record() -> None:
    scenario, sent = emission("one")
    lost_link = Span(T2, S2, "consume")
    observations = Observations(reads={ObservationKey("one", "collector", "b", "api"): [lost_link]},
                                hop_records={("b", "one"): HopRecord(sent.sdk)})
    cells = {c.feature: c for c in judge([scenario], [sent], {("one", "collector"): sent.sdk}, observations, [READ],
                                         Topology())}
    assert (cells["link.present"].verdict, cells["link.present"].changed_at) == ("lost", ["backend"])
    assert cells["link.present"].hops == {"sdk": "preserved", "wire": "preserved", "collector": "preserved",
                                          "backend": "lost"}


def test_judge_pins_a_loss_on_the_collector_with_its_own_words() -> None:
    scenario, sent = emission("one")
    record = HopRecord([], dropped=2, messages=["collector exporter x/b.one dropped 2 span(s): boom"])
    observations = Observations(reads={ObservationKey("one", "collector", "b", "api"): []},
                                hop_records={("b", "one"): record})
    (present, *_) = judge([scenario], [sent], {("one", "collector"): sent.sdk}, observations, [READ], Topology())
    assert (present.verdict, present.changed_at) == ("lost", ["collector"])
    assert present.evidence["hop_messages"] == {"collector": record.messages}


def test_judge_gives_declared_gaps_unreached_backends_and_failed_reads_their_own_verdicts() -> None:
    scenario, sent = emission("two", pipeline="direct")
    unreached = judge([scenario], [sent], {}, Observations(), [READ], Topology(unreached=frozenset({("direct", "b")})))
    assert {c.verdict for c in unreached} == {"n/a"} and "does not reach b" in unreached[0].reason
    failed = judge([scenario], [sent], {}, Observations(), [READ],
                   Topology(unreached=frozenset({("direct", "b")}), failed={"b": "b was killed by signal 9"}))
    assert {c.verdict for c in failed} == {"error"}  # a backend that died is never n/a
    assert {c.reason for c in failed} == {"b was killed by signal 9"}


def test_judge_of_one_scenario_does_not_depend_on_the_others() -> None:
    one, sent_one = emission("one")
    two, sent_two = emission("two")
    reads = {ObservationKey(name, "collector", "b", "api"): sent.sdk for name, sent in (("one", sent_one),
                                                                                      ("two", sent_two))}
    wire = {("one", "collector"): sent_one.sdk, ("two", "collector"): sent_two.sdk}
    alone = judge([one], [sent_one], wire, Observations(reads=reads), [READ, SEARCH], Topology())
    together = judge([one, two], [sent_one, sent_two], wire, Observations(reads=reads), [READ, SEARCH], Topology())
    assert [c.to_json() for c in alone] == [c.to_json() for c in together if c.scenario == "one"]


def test_a_change_past_what_the_evidence_keeps_is_still_pinned_on_its_hop() -> None:
    from harness.judge._checks import MAX_EVIDENCE_ITEMS, MORE
    targets = [Span(T1, f"{i:016x}", f"publish-{i}") for i in range(1, 1001)]
    linking = Span(T2, S2, "consume", links=tuple(Link(T1, t.span_id, attributes={"i": i}, flags=0x100)
                                                 for i, t in enumerate(targets)))
    spans = [*targets, linking]
    scenario = Scenario("big", "p", "big.yaml", (TraceSpec("t", 1, (SpanSpec("s"),)),))  # type: ignore[arg-type]
    sent = Emission("big", "run", "collector", spans, spans, {linking.key: "consumer.consume"})
    # The collector changed the attribute of the 901st link only, and the backend shows that.
    changed = [*targets, Span(T2, S2, "consume", links=tuple(
        link if i != 900 else Link(link.trace_id, link.span_id, attributes={"i": "900"}, flags=0x100)
        for i, link in enumerate(linking.links)))]
    observations = Observations(reads={ObservationKey("big", "collector", "b", "api"): changed},
                                hop_records={("b", "big"): HopRecord(changed)})
    cells = {c.feature: c for c in judge([scenario], [sent], {("big", "collector"): spans}, observations, [READ],
                                         Topology())}
    attribute = cells["link.attribute.int"]
    assert (attribute.verdict, attribute.changed_at) == ("degraded", ["collector"])
    # The evidence keeps the first entries and says how many more; the difference itself is whole.
    shown = attribute.evidence["sent"]
    assert len(shown) == MAX_EVIDENCE_ITEMS + 1 and shown[MORE].startswith("900 more")
    assert [d["path"] for d in attribute.evidence["difference"]] == [
        "spans[consumer.consume].links[900].attributes[i]"]
    assert cells["link.present"].evidence["sent"] == {"consumer.consume": 1000}  # counts are kept whole


def test_bounded_evidence_cuts_long_lists_and_maps_and_keeps_the_largest_counts() -> None:
    from harness.judge._checks import MAX_EVIDENCE_ITEMS, MORE, bounded, bounded_pair
    assert bounded({"a": [1, 2]}) == {"a": [1, 2]}
    assert bounded(list(range(150)))[-1] == f"{MORE} 50 more"
    counts = bounded({f"s{i}": i for i in range(500)})  # of counts, the largest ("most links")
    assert list(counts)[:MAX_EVIDENCE_ITEMS] == [f"s{i}" for i in range(400, 500)] and "400 more" in counts[MORE]
    cut = bounded({f"s{i}": "x" for i in range(500)})
    assert len(cut) == MAX_EVIDENCE_ITEMS + 1 and "400 more" in cut[MORE]
    # both sides show the same links, even where one side's values are not counts
    sent, received = bounded_pair({f"l{i}": 1 for i in range(300)}, {f"l{i}": None if i % 2 else 1 for i in range(300)})
    assert [k for k in sent if k != MORE] == [k for k in received if k != MORE]


def test_a_render_cell_with_linking_spans_left_out_blames_only_the_hops_that_changed() -> None:
    """The page is opened for some linking spans only; the API it is compared with for the hops is
    every linking span, as the hops before it are: a backend that changed nothing is not named."""
    from harness.model._columns import RenderReadPath
    from harness.model._handoff import Rendered
    from harness.model._shown import ShownLink, ShownSpan

    target = Span(T1, S1, "publish")
    asked = [Span(T2, f"{i + 1:016x}", f"consume-{i}", links=(Link(T1, S1, attributes={"a": "1", "b": "2"}),))
             for i in range(12)]
    # The SDK kept one attribute of each link (its per-link limit was 1); every hop after it passed them on.
    kept = [Span(s.trace_id, s.span_id, s.name, links=(Link(T1, S1, attributes={"a": "1"},
                                                            dropped_attributes_count=1),)) for s in asked]
    scenario = Scenario("few", "p", "few.yaml", (TraceSpec("t", 1, (SpanSpec("s"),)),))  # type: ignore[arg-type]
    sent = Emission("few", "run", "collector", [target, *asked], [target, *kept],
                    {s.key: f"consumer.{s.name}" for s in asked})
    lens = RenderReadPath("b", "ui", "B UI", render=lambda *a: None, api="api")  # type: ignore[arg-type,return-value]
    opened = kept[:10]  # two linking spans were left out of the pages
    rendered = Rendered(shown={ObservationKey("few", "collector", "b", "ui"): {
        s.span_id: ShownSpan(s.span_id, True, "", [ShownLink("x", S1, T1, attributes={"a": "1"})]) for s in opened}},
        left_out={ObservationKey("few", "collector", "b", "ui"): {s.span_id for s in kept[10:]}})
    observations = Observations(reads={ObservationKey("few", "collector", "b", "api"): [target, *kept]},
                                hop_records={("b", "few"): HopRecord([target, *kept])})
    cells = {(c.feature, c.read_path): c for c in judge([scenario], [sent], {("few", "collector"): [target, *kept]},
                                                       observations, [READ, lens], Topology(), rendered)}
    shown = cells[("render.attributes_shown", "ui")]
    assert (shown.verdict, shown.changed_at) == ("degraded", ["sdk"])


def test_a_scenario_whose_linking_spans_were_not_sampled_is_not_applicable_not_preserved() -> None:
    scenario, sent = emission("unsampled")
    scenario = Scenario("unsampled", "p", "unsampled.yaml",
                        (TraceSpec("origin", 1, (SpanSpec("source"),)),
                         TraceSpec("consumer", 1, (SpanSpec("consume", links=(object(),)),), sampled=False)))  # type: ignore[arg-type]
    target = sent.sdk[0]
    nothing = Emission("unsampled", "run", "collector", [target], [target], {target.key: "origin.source"})
    cells = judge([scenario], [nothing], {("unsampled", "collector"): [target]}, Observations(), [READ, SEARCH],
                  Topology())
    assert [(c.feature, c.read_path, c.verdict) for c in cells] == [("link.present", "api", "n/a")]
    assert cells[0].reason == ("no span with links was exported: the trace consumer, which holds the links, is not "
                               "sampled (sampled: false): the SDK exported none of its spans; nothing to measure")
