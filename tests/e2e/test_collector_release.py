"""An earlier OpenTelemetry Collector release, built with the same components, runs the chosen
collector pipelines again in a collector process of its own: its cells stand beside the pinned
release's."""

from __future__ import annotations

from pathlib import Path

from harness.model import PLAIN
from harness.stack import _collector as pipeline
from harness.stack import _variants as variants
from harness.stack._collector import read_forwarded
from harness.stack.toolchain import _builds as toolchain

from .conftest import ROOT, run_shipped

RELEASE = toolchain.COLLECTOR_PREVIOUS
PIPELINE = f"otelcol-{RELEASE.version}"


def test_an_earlier_collector_release_runs_the_chosen_pipelines_beside_the_pinned_ones(binaries: dict[str, Path],
                                                                                 tmp_path: Path) -> None:
    filtering = next(v for v in variants.load(ROOT / "pipelines.yaml") if v.name == "filter-drop-named")
    key = toolchain.version_key(RELEASE)
    chosen = [PLAIN, filtering, variants.collector_release(key, RELEASE.version),
              variants.collector_release(key, RELEASE.version, filtering)]
    result, document = run_shipped(["fan-out", "cross-trace-attributes", "filtered-link-target"], tmp_path, chosen)
    # The version is what the running binary says of itself, not the pin.
    assert document["run"]["versions"]["collector"] == toolchain.COLLECTOR.version
    assert document["run"]["versions"][f"collector ({PIPELINE})"] == RELEASE.version
    assert document["run"]["releases_compared"]["opentelemetry-collector"] == [
        "collector", PIPELINE, f"{PIPELINE}-filter-drop-named"]
    # Its routes are its own process's, and what it forwarded is its hop's record.
    service = pipeline.release_service(RELEASE.version)
    assert PIPELINE not in (result.run_dir / "config" / "collector.yaml").read_text()
    assert f"otlp/fan-out.{PIPELINE}" in (result.run_dir / "config" / f"{service}.yaml").read_text()
    forwarded = read_forwarded(result.run_dir / pipeline.forwarded_file(service), result.run_id)
    assert {span.name for span in forwarded} >= {"fill-cache", "read-cache"}
    cells = {(c["scenario"], c["pipeline"], c["feature"], c["backend"], c["read_path"]): c for c in document["cells"]}
    earlier = [c for c in document["cells"] if c["pipeline"] == PIPELINE]
    assert earlier and not [c for c in earlier if c["verdict"] == "error"]
    assert cells[("fan-out", PIPELINE, "link.present", "jaeger", "api_v3")]["verdict"] == "preserved"
    # A variant's processors run on the earlier release too, and its own counts pin what they did.
    dropped = cells[("filtered-link-target", f"{PIPELINE}-filter-drop-named", "link.target_arrived", "jaeger",
                     "api_v3")]
    assert (dropped["verdict"], dropped["hop"]) == ("lost", "collector")
    assert "filter/filtered-link-target.otelcol-" in dropped["evidence"]["hop_messages"]["collector"][0]
    # Every cell that differs between the releases is in "Between versions", both releases named.
    differing = {key[0:1] + key[2:] for key, cell in cells.items() if variants.released_from(key[1])
                 and cells[(key[0], variants.released_from(key[1]), *key[2:])]["verdict"] != cell["verdict"]}
    listed = {(c["scenario"], c["feature"], c["releases"][0]["backend"], c["read_path"]) for c in
              document["between_versions"] if c["family"] == "opentelemetry-collector"}
    assert len(listed) == len(differing)
    for change in document["between_versions"]:
        assert [r["version"] for r in change["releases"]] == [
            f"opentelemetry-collector {toolchain.COLLECTOR.version}", f"opentelemetry-collector {RELEASE.version}"]
