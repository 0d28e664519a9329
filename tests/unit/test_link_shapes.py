"""Every link shape the OpenTelemetry API allows, written as YAML and emitted by the real SDK: a
span linking itself, a span listed later, a trace with several roots, cycles; and the one shape the
API cannot make (a link to a span never created) refused in one line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.emit._sdk import emit
from harness.emit._taps import OtlpGrpcTap
from harness.model._errors import InputError
from harness.model._handoff import Emission
from harness.scenario._scenario import load_scenario

SHAPES = """\
name: shapes
problem: Every link shape the API allows.
traces:
  - id: job
    spans:
      - name: root
        links:
          - to: job.child            # a later span, added once it exists
            added: after_start
          - to: job.root             # itself, at start (its id fixed in advance)
      - name: child
        links:
          - to: job.child            # itself, after start
            added: after_start
          - to: later[*].work        # a trace listed later, at start
      - name: other_root
        parent: none                 # a second root of the same trace
        links:
          - to: job.root
  - id: later
    repeat: 2
    spans:
      - name: work
        links:
          - to: job.other_root       # closes a cycle job.child → later.work → job.other_root → job.root
          - to: job.root
            added: after_start
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shapes.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Emission:
    path = _write(tmp_path_factory.mktemp("shapes"), SHAPES)
    with OtlpGrpcTap([]) as tap:
        return emit(load_scenario(path), "unit", tap.address)


def _by_label(emission: Emission) -> dict[str, tuple[str, str, str]]:
    """label → (trace id, span id, parent span id) of the SDK's own finished spans."""
    spans = {span.key: span for span in emission.sdk}
    return {label: (key[0], key[1], spans[key].parent_span_id) for key, label in emission.labels.items()}


def _links_of(emission: Emission, label: str) -> list[tuple[str, str]]:
    key = next(key for key, name in emission.labels.items() if name == label)
    span = next(span for span in emission.sdk if span.key == key)
    return [(link.trace_id, link.span_id) for link in span.links]


def test_every_link_points_at_the_span_the_file_names(shapes: Emission) -> None:
    ids = {label: (trace_id, span_id) for label, (trace_id, span_id, _) in _by_label(shapes).items()}
    assert _links_of(shapes, "job.root") == [ids["job.root"], ids["job.child"]]  # at start first, then added
    assert _links_of(shapes, "job.child") == [ids["later[0].work"], ids["later[1].work"], ids["job.child"]]
    assert _links_of(shapes, "job.other_root") == [ids["job.root"]]
    for instance in (0, 1):
        assert _links_of(shapes, f"later[{instance}].work") == [ids["job.other_root"], ids["job.root"]]


def test_requested_links_are_what_the_sdk_made(shapes: Emission) -> None:
    requested = {span.key: [(link.trace_id, link.span_id, link.flags) for link in span.links]
                 for span in shapes.requested}
    made = {span.key: [(link.trace_id, link.span_id, link.flags) for link in span.links] for span in shapes.sdk}
    assert requested == made


def test_a_second_root_shares_its_trace(shapes: Emission) -> None:
    spans = _by_label(shapes)
    assert spans["job.other_root"][0] == spans["job.root"][0]
    assert spans["job.other_root"][2] == "" and spans["job.root"][2] == ""
    assert spans["job.child"][2] == spans["job.root"][1]


def _error(tmp_path: Path, text: str) -> InputError:
    with pytest.raises(InputError) as caught:
        load_scenario(_write(tmp_path, text))
    return caught.value


@pytest.mark.parametrize(("to", "says"), [
    ("job.nothing", "no span 'nothing' in trace 'job'"),
    ("elsewhere.work", "no trace 'elsewhere'"),
])
def test_a_link_to_a_span_never_created_is_refused_in_one_line(tmp_path: Path, to: str, says: str) -> None:
    error = _error(tmp_path, f"""\
        name: never
        problem: p
        traces:
          - id: job
            spans:
              - name: root
                links:
                  - to: {to}
        """)
    text = str(error)
    assert "\n" not in text and "shapes.yaml:8" in text and "traces[0].spans[0].links[0].to" in text and says in text


def test_a_message_cannot_carry_a_context_that_does_not_exist_yet(tmp_path: Path) -> None:
    error = _error(tmp_path, """\
        name: early
        problem: p
        traces:
          - id: consumer
            spans:
              - name: consume
                links:
                  - to: producer.publish
                    via: message
          - id: producer
            spans:
              - name: publish
                inject: message
        """)
    assert "listed after it" in str(error) and "links[0].via" in str(error)
