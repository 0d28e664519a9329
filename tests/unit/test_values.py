"""Values at the edges: NaN equals NaN, the sign of zero and of infinity are data, every written
file is strict JSON, and every field a scenario sends is judged by some feature."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from harness.emit._sdk import emit
from harness.emit._taps import OtlpGrpcTap
from harness.judge._checks import Subject
from harness.judge._features import check_of
from harness.judge._hops import exercised_features
from harness.model import _features as F
from harness.model import _jsonio as jsonio
from harness.model._handoff import Emission
from harness.model._spans import Link, Span, comparable, index_spans, to_json_value, value_type
from harness.model._vocabulary import DEGRADED, PRESERVED
from harness.scenario._scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
EDGE_SCENARIOS = [ROOT / "tests" / "fixtures" / "scenarios" / "edge-values.yaml",
                  ROOT / "scenarios" / "non-finite-double-attributes.yaml"]
T1, T3, S1, S9 = "1" * 32, "3" * 32, "a" * 16, "9" * 16


def linking(**attributes: Any) -> Span:
    return Span(T3, S9, "consume", links=(Link(T1, S1, attributes=attributes),))


def judge(feature: str, sent: Span, received: Span):
    return check_of(feature)(Subject([sent], index_spans([received]), {sent.key: "sink.consume"}))


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -0.0, 0.0, 1e20, 5e-324])
def test_a_double_equals_itself(value: float) -> None:
    assert judge(F.attribute_feature("double"), linking(x=value), linking(x=value)).verdict == PRESERVED


def test_doubles_that_look_alike_are_told_apart() -> None:
    assert comparable(math.inf) != comparable(-math.inf)
    assert comparable(math.nan) != comparable(math.inf)
    assert comparable(-0.0) != comparable(0.0)
    assert comparable((1.5, math.nan)) == comparable((1.5, float("nan")))
    outcome = judge(F.attribute_feature("double"), linking(x=-0.0), linking(x=0.0))
    assert outcome.verdict == DEGRADED and outcome.differences[0].note == "sign of zero changed"
    assert judge(F.attribute_feature("double"), linking(x=math.nan), linking(x=0.0)).verdict == DEGRADED
    assert judge(F.attribute_feature("int"), linking(x=0), linking(x=-0.0)).differences[0].note == "type int → double"


def test_written_json_is_strict_and_names_non_finite_doubles() -> None:
    document = {"sent": to_json_value(math.nan), "inf": [math.inf, -math.inf], "zero": -0.0}
    text = jsonio.dumps(document)
    parsed = jsonio.loads_strictly(text)
    assert parsed == {"sent": {"double": "NaN"}, "inf": ["Infinity", "-Infinity"], "zero": -0.0}
    assert math.copysign(1.0, parsed["zero"]) == -1.0
    with pytest.raises(ValueError):
        jsonio.loads_strictly('{"x": NaN}')


def test_negative_zero_is_read_as_a_double() -> None:
    value = jsonio.loads('{"a": -0, "b": 0, "c": 7}')
    assert value["a"] == 0.0 and math.copysign(1.0, value["a"]) == -1.0 and isinstance(value["a"], float)
    assert isinstance(value["b"], int) and value["c"] == 7


def test_every_value_type_has_a_feature() -> None:
    for value in ["s", 1, 1.5, True, ("a",), (1,), (1.5,), (True,), (1, "a"), ()]:
        assert F.attribute_feature(value_type(value)) in F.FEATURES, value_type(value)


@pytest.fixture(scope="module")
def edge_emissions() -> list[Emission]:
    """The edge scenarios emitted by the real SDK and exporter into a tap that forwards nowhere."""
    emissions = []
    for path in EDGE_SCENARIOS:
        with OtlpGrpcTap([]) as tap:
            emissions.append(emit(load_scenario(path), "unit", tap.address))
    return emissions


def _sent_fields(emission: Emission) -> list[tuple[str, str]]:
    """(feature that must judge it, field path) for every field a link was sent with."""
    fields = []
    for span in emission.linking_spans:
        label = emission.labels[span.key]
        for index, link in enumerate(span.links):
            path = f"spans[{label}].links[{index}]"
            fields.append((F.LINK_PRESENT, label))  # judged per span: how many of its links came back
            fields.append((F.LINK_TARGET_IDS, path))
            if link.trace_state:
                fields.append((F.LINK_TRACE_STATE, path))
            if link.flags is not None:
                fields.append((F.LINK_FLAGS, path))
            for key, value in link.attributes.items():
                fields.append((F.attribute_feature(value_type(value)), f"{path}.attributes[{key}]"))
    return fields


def _judged(outcome: Any) -> str:
    return jsonio.dumps([outcome.sent, [d.path for d in outcome.differences]], ensure_ascii=False)


def test_every_sent_link_field_and_attribute_is_judged(edge_emissions: list[Emission]) -> None:
    for emission in edge_emissions:
        features = exercised_features(emission, None)
        for feature, path in _sent_fields(emission):
            assert feature in features, f"{emission.scenario}: nothing judges {path} (needs {feature})"
            outcome = check_of(feature)(Subject(emission.linking_spans, index_spans(emission.sdk), emission.labels))
            assert path in _judged(outcome), f"{feature} does not name {path}"


def test_edge_values_survive_the_sdk_and_the_exporter_unchanged(edge_emissions: list[Emission]) -> None:
    """Judged against the SDK's own finished spans, every edge value is preserved: a value that
    equals itself must never be reported as changed."""
    for emission in edge_emissions:
        subject = Subject(emission.linking_spans, index_spans(emission.sdk), emission.labels)
        for feature in exercised_features(emission, None):
            if feature.startswith(F.LINK_ATTRIBUTE_PREFIX):
                outcome = check_of(feature)(subject)
                assert outcome.verdict == PRESERVED, (emission.scenario, feature, outcome.differences)
                jsonio.loads_strictly(jsonio.dumps(outcome.sent))


def test_a_repeated_trace_numbers_its_instances_and_a_repeated_link_its_links(tmp_path: Path) -> None:
    scenario = tmp_path / "numbered.yaml"
    scenario.write_text("name: numbered\nproblem: p\ntraces:\n  - id: origin\n    spans:\n      - name: fill\n"
                        "  - id: reader\n    repeat: 3\n    spans:\n      - name: read\n        links:\n"
                        "          - to: origin.fill\n            count: 2\n"
                        "            attributes: {who: \"reader-{instance}\", n: \"{index}\", i: \"{instance}\"}\n")
    with OtlpGrpcTap([]) as tap:
        emission = emit(load_scenario(scenario), "unit", tap.address)
    seen = sorted((link.attributes["who"], link.attributes["n"], link.attributes["i"])
                  for span in emission.linking_spans for link in span.links)
    assert seen == [(f"reader-{i}", n, i) for i in range(3) for n in range(2)]


def test_trace_ids_start_with_0_only_when_a_scenario_asks_for_it() -> None:
    from harness.emit._sdk import _PlannedIds
    ids = _PlannedIds()
    assert not any(f"{ids.generate_trace_id():032x}".startswith("0") for _ in range(2000))  # 1 in 16 would
    assert not any(f"{ids.new_trace_id(''):032x}".startswith("0") for _ in range(2000))
    assert all(f"{ids.new_trace_id('0'):032x}".startswith("0") for _ in range(100))
    from harness.emit._sdk import _random_context
    assert not any(f"{_random_context().trace_id:032x}".startswith("0") for _ in range(500))  # `nowhere`
