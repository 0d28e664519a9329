"""An earlier OpenTelemetry Python SDK release, in its own virtual environment, emits the same
scenarios through the same collector: the report sets the cells that changed side by side."""

from __future__ import annotations

from pathlib import Path

from harness.model import PLAIN
from harness.stack import _variants as variants
from harness.stack.toolchain import _builds as toolchain

from .conftest import run_shipped

RELEASE = toolchain.PYTHON_SDK_PREVIOUS
PIPELINE = f"python-sdk-{RELEASE.version}"


def test_sdk_1_22_cannot_add_links_after_start_and_keeps_invalid_context_links(binaries: dict[str, Path],
                                                                              tmp_path: Path) -> None:
    chosen = [PLAIN, variants.sdk_release(toolchain.version_key(RELEASE), RELEASE.version)]
    _, document = run_shipped(["add-link-after-start", "invalid-context-links"], tmp_path, chosen)
    assert document["run"]["versions"][f"opentelemetry-sdk ({PIPELINE})"] == RELEASE.version
    present = {(c["scenario"], c["pipeline"], c["backend"]): c for c in document["cells"]
               if c["feature"] == "link.present" and c["read_path"] in ("api_v3", "api_v2")}
    # Span.add_link came in 1.23.0: the link added after start never reaches the SDK's span.
    assert present[("add-link-after-start", "collector", "jaeger")]["verdict"] == "preserved"
    before = present[("add-link-after-start", PIPELINE, "jaeger")]
    assert (before["verdict"], before["hop"]) == ("lost", "sdk")
    # 1.45.2 drops the bare all-zero link; 1.22.0 exports all three, and Zipkin keeps them.
    assert present[("invalid-context-links", "collector", "zipkin")]["verdict"] == "degraded"
    assert present[("invalid-context-links", PIPELINE, "zipkin")]["verdict"] == "preserved"
    compared = {(c["scenario"], c["feature"], c["read_path"]) for c in document["between_versions"]}
    assert ("add-link-after-start", "link.present", "jaeger/api_v3") in compared
    assert document["run"]["releases_compared"]["opentelemetry-sdk"] == ["collector", PIPELINE]
