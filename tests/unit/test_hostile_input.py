"""Files nobody should write, and one clear line for each: a mistake or a hostile file never
becomes a traceback, a hang, a memory blow-up, or a finding."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from harness.model._errors import InputError, ScenarioError
from harness.model._inputs import MAX_YAML_VALUES
from harness.scenario._scenario import load_all, load_scenario

HEAD = "name: edge\nproblem: p\ntraces:\n  - id: t\n    spans:\n      - name: s\n"


def error_of(path: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert "\n" not in str(caught.value)
    return caught.value


def test_an_int_beyond_int64_is_refused_where_it_is_written(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(HEAD + "        links: [{to: nowhere, attributes: {ok: 9223372036854775807, big: 9223372036854775808}}]\n")
    error = error_of(path)
    assert (error.line, error.field) == (7, "traces[0].spans[0].links[0].attributes.big")
    assert "64-bit" in error.message
    path.write_text(HEAD + "        links: [{to: nowhere, attributes: {neg: [1, -9223372036854775809]}}]\n")
    assert error_of(path).field.endswith("attributes.neg")


def test_non_utf8_names_the_byte_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: edge\nproblem: caf\xe9\n")
    error = error_of(path)
    assert error.line == 2 and "not UTF-8" in error.message and "0xe9" in error.message


def test_fifo_and_devices_are_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    assert "not a regular file" in error_of(fifo).message  # a read would block forever
    assert "not a regular file" in error_of(Path("/dev/zero")).message  # a read would never end


def test_huge_files_are_refused_by_size(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as out:
        out.truncate(9 * 1024 * 1024)
    assert "scenario files are at most" in error_of(path).message


def test_deep_nesting_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(HEAD + "        links: [{to: nowhere, attributes: {x: " + "[" * 5000 + "]" * 5000 + "}}]\n")
    error_of(path)


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    path.write_text("\n".join(lines) + "\n" + HEAD + "        links: [{to: nowhere, attributes: {x: *a8}}]\n")
    started = time.monotonic()
    error = error_of(path)
    assert f"more than {MAX_YAML_VALUES:,} values" in error.message
    assert time.monotonic() - started < 5


def test_repeat_times_count_products_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "volume.yaml"
    path.write_text("name: edge\nproblem: p\ntraces:\n  - id: t\n    repeat: 1000\n    spans:\n      - name: s\n"
                    "        links: [{to: nowhere, count: 10000}]\n")
    assert "10,000,000 links" in error_of(path).message
    path.write_text(HEAD + "        links: [{to: nowhere, attributes: {x: {repeat: " + "y" * 1000
                    + ", times: 1000000}}}]\n")
    assert "characters" in error_of(path).message


def test_validation_is_linear_in_spans(tmp_path: Path) -> None:
    def seconds(spans: int) -> float:
        path = tmp_path / f"spans-{spans}.yaml"
        path.write_text("name: edge\nproblem: p\ntraces:\n  - id: t\n    spans:\n"
                        + "".join(f"      - name: s{i}\n        parent: s0\n" if i else "      - name: s0\n"
                                  for i in range(spans)))
        started = time.monotonic()
        assert len(load_scenario(path).traces[0].spans) == spans
        return time.monotonic() - started
    small, large = seconds(2_000), seconds(16_000)
    assert large < 8 * small * 3  # 8× the spans: linear with room for noise, far from 64×


def test_duplicate_names_give_both_places(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text("# a comment first\n" + HEAD)
    with pytest.raises(ScenarioError) as caught:
        load_all([tmp_path])
    assert f"{tmp_path / 'b.yaml'}:2: name:" in str(caught.value)
    assert f"{tmp_path / 'a.yaml'}:2" in str(caught.value)


@pytest.mark.parametrize("line, words", [
    ("    repeat: 2.0\n", "is not of type 'integer'"),
    ("    spans: &s [{name: s, links: [{to: nowhere, attributes: {x: *s}}]}]\n", "recursive alias"),
])
def test_mistakes_yaml_would_let_through(tmp_path: Path, line: str, words: str) -> None:
    path = tmp_path / "mistake.yaml"
    body = "name: edge\nproblem: p\ntraces:\n  - id: t\n" + line
    path.write_text(body if "spans" in line else body + "    spans:\n      - name: s\n")
    assert words in error_of(path).message


@pytest.mark.parametrize("link, words", [
    ("{to: nowhere, attributes: {x: 1.0e+400}}", "beyond the largest double"),
    ("{to: nowhere, trace_state: 'UPPER=bad'}", "is not a W3C tracestate member"),
    ("{to: nowhere, trace_state: 'a=1,a=2'}", "uses the key 'a' twice"),
    ("{to: nowhere, trace_state: '" + ",".join(f"k{i}=v" for i in range(33)) + "'}", "at most 32"),
    ("{to: nowhere, generated_attributes: 2, attributes: {gen.1: s}}", "also the name of a generated attribute"),
    ("{to: nowhere, attributes: {x: {repeat: ab, times: 3.0}}}", "is not of type 'integer'"),
])
def test_link_values_the_sdk_would_change_silently_are_refused(tmp_path: Path, link: str, words: str) -> None:
    path = tmp_path / "link.yaml"
    path.write_text(HEAD + f"        links: [{link}]\n")
    error = error_of(path)
    assert words in error.message and error.line == 7


def test_a_key_written_twice_is_refused_where_it_is(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text(HEAD + "        links:\n          - to: nowhere\n            attributes:\n"
                    "              v: a\n              v: b\n")
    error = error_of(path)
    assert error.line == 11 and "written twice" in error.message
    assert error.field == "traces[0].spans[0].links[0].attributes.v"  # where it is, not only its name


def test_whitespace_around_trace_state_members_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "ows.yaml"
    path.write_text(HEAD + "        links: [{to: nowhere, trace_state: 'a=1, b=2'}]\n")
    from harness.scenario._scenario import trace_state_pairs
    assert trace_state_pairs(load_scenario(path).traces[0].spans[0].links[0].trace_state or "") == [("a", "1"),
                                                                                                     ("b", "2")]
