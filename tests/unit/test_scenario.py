"""Scenario files: every shipped file is valid, and each kind of mistake names file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.model._errors import InputError, ScenarioError
from harness.model._scenarios import ALL_INSTANCES
from harness.scenario._scenario import load_all, load_scenario

ROOT = Path(__file__).resolve().parents[2]

VALID = """\
name: demo
problem: A demo.
traces:
  - id: producer
    repeat: 2
    spans:
      - name: publish
        inject: message
  - id: consumer
    spans:
      - name: consume
        links:
          - to: producer[*].publish
            via: message
            attributes: {n: 1, ok: true, tags: [a, b]}
"""


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path: Path, text: str) -> InputError:
    with pytest.raises(InputError) as caught:
        load_scenario(write(tmp_path, text))
    return caught.value


def test_shipped_scenarios_are_valid() -> None:
    scenarios = load_all([ROOT / "scenarios"])
    assert len(scenarios) >= 3
    assert len({s.name for s in scenarios}) == len(scenarios)


def test_valid_scenario_is_built(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, VALID))
    producer, consumer = scenario.traces
    assert producer.repeat == 2 and producer.spans[0].inject_message
    link = consumer.spans[0].links[0]
    assert link.to.trace == "producer" and link.to.index == ALL_INSTANCES and link.to.span == "publish"
    assert link.via == "message"
    assert link.attributes == {"n": 1, "ok": True, "tags": ("a", "b")}


@pytest.mark.parametrize("text, field, line, words", [
    (VALID.replace("name: demo\n", ""), "name", 1, "is required"),
    (VALID.replace("problem: A demo.", "problem: A demo.\ncolour: red"), "colour", 3, "unknown field"),
    (VALID.replace("repeat: 2", "repeat: two"), "traces[0].repeat", 5, "'two' is not of type 'integer'"),
    (VALID.replace("to: producer[*].publish", "to: Producer.publish"), "traces[1].spans[0].links[0].to", 13,
     "'Producer.publish' is not a span reference"),
    (VALID.replace("to: producer[*].publish", "to: nowhere"), "traces[1].spans[0].links[0].via", 14,
     "via: message needs a span"),
    (VALID.replace("to: producer[*].publish", "to: ghost[*].publish"), "traces[1].spans[0].links[0].to", 13,
     "no trace 'ghost'"),
    (VALID.replace("to: producer[*].publish", "to: producer[5].publish"), "traces[1].spans[0].links[0].to", 13,
     "out of range"),
    (VALID.replace("to: producer[*].publish", "to: producer.publish"), "traces[1].spans[0].links[0].to", 13,
     "repeats 2 times"),
    (VALID.replace("        inject: message\n", ""), "traces[1].spans[0].links[0].via", 13, "inject: message"),
    (VALID.replace("{n: 1, ok: true, tags: [a, b]}", "{n: {nested: 1}}"),
     "traces[1].spans[0].links[0].attributes.n", 15, "must be a string, bool, int, double"),
    (VALID.replace("via: message", "via: carrier-pigeon"), "traces[1].spans[0].links[0].via", 14,
     "is not one of memory, message"),
    (VALID.replace("problem: A demo.", "problem: A demo.\nexpect: {link.colour: preserved}"), "expect.link.colour",
     3, "matches no feature"),
    (VALID.replace("problem: A demo.", "problem: A demo.\nexpect: {link.present: perfect}"), "expect.link.present",
     3, "is not one of preserved, degraded"),
    (VALID.replace("problem: A demo.", "problem: A demo.\nchecks: [link.present]\nexpect: {search.*: preserved}"),
     "expect.search.*", 4, "matches no feature this scenario checks (checks: link.present)"),
])
def test_mistakes_name_file_line_and_field(tmp_path: Path, text: str, field: str, line: int, words: str) -> None:
    error = error_of(tmp_path, text)
    assert error.field == field
    assert error.line == line
    assert words in error.message
    assert str(error).startswith(f"{tmp_path / 'scenario.yaml'}:{line}: {field}: ")
    assert "\n" not in str(error)


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    error = error_of(tmp_path, "name: x\ntraces: [\n  - id: a\n")
    assert "not valid YAML" in error.message and error.line is not None
    unfinished = error_of(tmp_path, "name: x\nproblem: p\ntraces:\n  - id: a\n    spans: [{name: s\n")
    assert unfinished.line == 5  # the line the unfinished value is on, not the empty one after the file


def test_link_to_a_later_span_is_accepted_and_to_a_missing_one_refused(tmp_path: Path) -> None:
    forward = """\
        name: forward
        problem: p
        traces:
          - id: t
            spans:
              - name: first
                links: [{to: t.second}]
              - name: second
        """
    assert load_scenario(write(tmp_path, forward)).traces[0].spans[0].links[0].to.span == "second"
    error = error_of(tmp_path, forward.replace("to: t.second", "to: t.third"))
    assert error.field == "traces[0].spans[0].links[0].to"
    assert "no span 'third' in trace 't'" in error.message


def test_duplicate_names_across_files(tmp_path: Path) -> None:
    write(tmp_path, VALID, "a.yaml")
    write(tmp_path, VALID, "b.yaml")
    with pytest.raises(ScenarioError, match="also the name of"):
        load_all([tmp_path])


def test_unknown_check_is_refused(tmp_path: Path) -> None:
    error = error_of(tmp_path, VALID + "checks: [link.present, link.teleport]\n")
    assert error.field == "checks[1]" and "unknown feature 'link.teleport'" in error.message


def test_yaml_booleans_as_keys_are_refused(tmp_path: Path) -> None:
    error = error_of(tmp_path, VALID.replace("{n: 1, ok: true, tags: [a, b]}", "{on: root}"))
    assert error.field == "traces[1].spans[0].links[0].attributes.True"
    assert "put it in quotes" in error.message
    assert error.line == 15


def test_a_file_named_twice_is_read_once_and_two_files_with_one_name_still_clash(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(VALID)
    assert [s.name for s in load_all([tmp_path / "one.yaml", tmp_path, tmp_path / "." / "one.yaml"])] == ["demo"]
    (tmp_path / "two.yaml").write_text(VALID)
    with pytest.raises(ScenarioError, match="is also the name of"):
        load_all([tmp_path])
