"""Two runs compared: worse is a regression (exit 3), better never fails, a cell only one run has
is named, and versions that changed are listed."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from harness.model._errors import InputError
from harness.report import diff, load_report, waivers


def cell(verdict: str, feature: str = "link.present", backend: str = "jaeger", hop: str = "") -> dict:
    return {"scenario": "s", "pipeline": "collector", "feature": feature, "backend": backend,
            "read_path": "api_v3", "verdict": verdict, **({"hop": hop} if hop else {})}


def run(*cells: dict, **versions: str) -> dict:
    return {"schema_version": 1, "run": {"versions": versions}, "cells": list(cells)}


KINDS = ("regressed", "improved", "changed", "unmeasured")


@pytest.mark.parametrize(("old", "new", "kind"), [
    ("preserved", "degraded", "regressed"), ("preserved", "lost", "regressed"), ("degraded", "lost", "regressed"),
    ("n/a", "error", "unmeasured"), ("preserved", "error", "unmeasured"), ("error", "error", "unmeasured"),
    ("lost", "preserved", "improved"), ("error", "degraded", "improved"), ("degraded", "preserved", "improved"),
    ("n/a", "lost", "changed"), ("lost", "n/a", "changed"),
])
def test_each_verdict_change_is_sorted_by_what_it_means(old: str, new: str, kind: str) -> None:
    compared = diff.compare(run(cell(old)), run(cell(new)))
    assert [len(getattr(compared, k)) for k in KINDS] == [int(kind == k) for k in KINDS]
    assert compared.exit_code == {"regressed": diff.REGRESSED_EXIT, "unmeasured": diff.UNMEASURED_EXIT}.get(kind, 0)


def test_a_regression_wins_over_cells_that_could_not_be_measured() -> None:
    """A flaky night (error cells) has its own exit code; a real regression beside it still says 3."""
    compared = diff.compare(run(cell("preserved"), cell("preserved", "link.order")),
                            run(cell("lost", hop="collector"), cell("error", "link.order")))
    assert (len(compared.regressed), len(compared.unmeasured), compared.exit_code) == (1, 1, 3)
    assert "could not measure: s · pipeline collector · link.order · jaeger/api_v3: preserved → error" in compared.lines()


def test_a_new_hop_is_a_change_and_cells_of_one_run_only_are_named() -> None:
    old = run(cell("lost", hop="wire"), cell("preserved", "link.order"), jaeger="2.12.0")
    new = run(cell("lost", hop="backend"), cell("preserved", "link.flags"), jaeger="2.13.0")
    compared = diff.compare(old, new)
    assert [c.key[2] for c in compared.changed] == ["link.present"]
    assert [c.key[2] for c in compared.removed] == ["link.order"]
    assert [c.key[2] for c in compared.added] == ["link.flags"]
    assert compared.versions == {"jaeger": ("2.12.0", "2.13.0")}
    assert compared.exit_code == 0
    assert compared.lines()[-1] == ("0 regressed, 0 waived, 0 could not be measured, 0 improved, 1 changed, 1 added, "
                                    "1 removed; exit 0")


def test_what_is_not_a_matrix_is_one_line(tmp_path: Path) -> None:
    cases = {"broken.json": "{", "list.json": "[]", "old.json": json.dumps({"schema_version": 0, "cells": []}),
             "cell.json": json.dumps({"schema_version": 1, "cells": [{"scenario": "s"}]})}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(InputError) as raised:
            load_report(tmp_path / name)
        assert name in str(raised.value) and "\n" not in str(raised.value)
    with pytest.raises(InputError, match="cannot read the file"):
        load_report(tmp_path / "missing.json")


def test_each_line_names_the_pipeline_and_versions_their_image_digests() -> None:
    def docker_run(verdict: str, jaeger: str, digest: str, zipkin_digest: str) -> dict:
        document = run(cell(verdict, hop="collector" if verdict == "lost" else ""), jaeger=jaeger)
        document["run"]["services"] = {"jaeger": {"image": {"name": "j", "id": "i", "digest": f"sha256:{digest * 64}"}},
                                       "zipkin": {"image": {"name": "z", "id": "i", "digest": f"sha256:{zipkin_digest * 64}"}}}
        return document

    compared = diff.compare(docker_run("preserved", "2.12.0", "a", "c"), docker_run("lost", "2.13.0", "b", "d"))
    assert compared.lines()[:3] == [
        "versions: jaeger 2.12.0 → 2.13.0 (image sha256:aaaaaaaaaaaa… → sha256:bbbbbbbbbbbb…)",
        "images: zipkin sha256:cccccccccccc… → sha256:dddddddddddd…",  # the same tag pushed again
        "regressed: s · pipeline collector · link.present · jaeger/api_v3: preserved → lost at collector"]
    written = compared.to_json()
    assert written["versions"]["jaeger"]["image"] == {"old": "sha256:" + "a" * 64, "new": "sha256:" + "b" * 64}
    assert written["regressed"][0]["pipeline"] == "collector" and written["exit_code"] == 3


def waivers_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    return path


def test_a_waiver_turns_a_regression_into_a_warning_until_it_expires(tmp_path: Path) -> None:
    path = waivers_file(tmp_path, """
waivers:
  - cell: {feature: "link.*", backend: jaeger}
    reason: known Jaeger bug, fixed in the next release
    expires: 2030-06-30
  - cell: {scenario: "s", pipeline: "collector"}
    reason: an old one
    expires: "2020-01-31"
""")
    loaded = waivers.load_waivers(path)
    assert [w.expires for w in loaded] == [date(2030, 6, 30), date(2020, 1, 31)]
    old, new = run(cell("preserved")), run(cell("lost", hop="backend"))
    on_the_day = diff.compare(old, new, loaded, today=date(2030, 6, 30))
    assert (on_the_day.regressed, len(on_the_day.waived), on_the_day.exit_code) == ([], 1, 0)
    assert on_the_day.lines()[0] == ("waived: s · pipeline collector · link.present · jaeger/api_v3: preserved → lost "
                                     "at backend — waived until 2030-06-30: known Jaeger bug, fixed in the next release")
    assert on_the_day.lines()[1] == ("expired waiver: scenario=s · pipeline=collector — expired 2020-01-31, waives "
                                     "nothing: an old one")
    day_after = diff.compare(old, new, loaded, today=date(2030, 7, 1))
    assert (len(day_after.regressed), day_after.waived, day_after.exit_code) == (1, [], 3)
    assert len(day_after.expired) == 2
    other_backend = diff.compare(run(cell("preserved", backend="zipkin")), run(cell("lost", backend="zipkin")),
                                 loaded, today=date(2030, 1, 1))
    assert other_backend.exit_code == 3  # the waiver's pattern does not match it


@pytest.mark.parametrize(("text", "said"), [
    ("waivers:\n  - cell: {backend: jaeger}\n    reason: r\n", "$.waivers[0].expires: is required"),
    ("waivers:\n  - cell: {backend: jaeger}\n    reason: r\n    expires: next week\n",
     "$.waivers[0].expires: 'next week' is not a date; write it YYYY-MM-DD"),
    ("waivers:\n  - cell: {colour: red}\n    reason: r\n    expires: 2030-01-01\n", "$.waivers[0].cell"),
    ("waivers:\n  - cell: {}\n    reason: r\n    expires: 2030-01-01\n", "$.waivers[0].cell"),
    ("- just a list\n", "holds no mapping"),
    ("", "is empty"),
    ("waivers: [\n", "not valid YAML"),
])
def test_a_malformed_waivers_file_is_one_line(tmp_path: Path, text: str, said: str) -> None:
    with pytest.raises(InputError) as raised:
        waivers.load_waivers(waivers_file(tmp_path, text))
    assert said in str(raised.value) and "\n" not in str(raised.value)
    assert raised.value.exit_code == 2
