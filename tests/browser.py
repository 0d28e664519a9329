"""The browser the render tests drive, found as a run finds it (`harness.toolchain.browser`).

Without one these tests skip, saying why — except where LINKMATRIX_REQUIRE_BROWSER=1 (CI, after
`make test` obtained one), where a missing browser fails the run instead of hiding the tests."""

from __future__ import annotations

import os

import pytest

from harness.stack.toolchain._browser import locate

FOUND, PASSED_OVER = locate()
WHY_NONE = "no browser: " + ("; ".join(PASSED_OVER) or "none found") + " (`make test` obtains one)"
if FOUND is None and os.environ.get("LINKMATRIX_REQUIRE_BROWSER") == "1":
    raise RuntimeError(f"LINKMATRIX_REQUIRE_BROWSER=1 but {WHY_NONE}")

requires_browser = pytest.mark.skipif(FOUND is None, reason=WHY_NONE)
