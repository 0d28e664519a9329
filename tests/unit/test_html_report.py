"""matrix.html in the real headless Chromium: it loads with no console error and no request,
the filters change what is shown, a cell opens its evidence, and a hostile value stays text."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from harness.render._browser import browser
from harness.report.html import render_html

from ..browser import requires_browser

HOSTILE = "<script>window.pwned = 1</script><img src=x onerror='window.pwned=2'>"

pytestmark = requires_browser


def cell(scenario: str, feature: str, backend: str, verdict: str, **extra: Any) -> dict[str, Any]:
    return {"scenario": scenario, "pipeline": "collector", "feature": feature, "backend": backend,
            "read_path": "api", "verdict": verdict, "evidence": {}, **extra}


DOCUMENT = {
    "run": {"id": "r1", "started": "s", "ended": "e", "runtime": "local", "versions": {"jaeger": "2.13.0"},
            "problems": []},
    "columns": [{"backend": "jaeger", "read_path": "api", "label": "Jaeger api"},
                {"backend": "zipkin", "read_path": "api", "label": "Zipkin api"}],
    "features": [{"id": "link.present"}, {"id": "link.attribute.string"}],
    "cells": [
        cell("s", "link.present", "jaeger", "preserved", evidence={"sent": {"s.x": 2}}),
        cell("s", "link.present", "zipkin", "lost", hop="sdk", changed_at=["sdk", "backend"],
             summary="0 of 1 links kept"),
        cell("s", "link.attribute.string", "jaeger", "degraded", hop="backend", meaning=HOSTILE,
             evidence={"difference": [{"path": "spans[x].links[0].attributes[k]", "expected": HOSTILE,
                                       "actual": "b", "note": "value changed"}]}),
        cell("s", "link.attribute.string", "zipkin", "n/a", reason="cannot carry"),
    ]}


async def _look(page_file: Path) -> dict[str, Any]:
    async with browser() as context:
        page = await context.new_page()
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        await page.goto(page_file.as_uri())
        seen: dict[str, Any] = {"all": await page.locator("td.cell:visible").count()}
        await page.select_option("#f-verdict", "lost")
        seen["lost"] = await page.locator("#shown").text_content()
        await page.select_option("#f-verdict", "")
        await page.select_option("#f-backend", "jaeger")
        seen["jaeger"] = await page.locator("#shown").text_content()
        await page.select_option("#f-backend", "")
        await page.locator("td.cell[data-verdict=degraded]").click()
        seen["evidence"] = await page.locator("tr.evidence.open").inner_text()
        seen["pwned"] = await page.evaluate("window.pwned === undefined ? null : window.pwned")
        seen["scripts"] = await page.locator("script").count()
        await page.locator("td.cell[data-verdict=degraded]").click()  # closed again
        seen["decide"] = await page.locator("#decide").inner_text()
        await page.locator("#decide a.to-cell").first.click()  # a mark opens the cell behind it
        seen["behind"] = await page.locator("tr.evidence.open").inner_text()
        seen["errors"], seen["requests"] = errors, requests
        return seen


def test_the_page_filters_opens_evidence_and_keeps_hostile_values_as_text(tmp_path: Path) -> None:
    page_file = tmp_path / "matrix.html"
    page_file.write_text(render_html(DOCUMENT))
    seen = asyncio.run(_look(page_file))
    assert seen["errors"] == [] and seen["requests"] == [page_file.as_uri()]
    assert 'data-verdict="lost" data-id=' in render_html(DOCUMENT) and "lost · sdk + backend</td>" in render_html(DOCUMENT)
    assert seen["all"] == 4
    assert seen["lost"] == "1 cells shown" and seen["jaeger"] == "2 cells shown"
    assert HOSTILE in seen["evidence"]  # shown as the text it is
    assert seen["pwned"] is None and seen["scripts"] == 1
    # the scorecard: Jaeger returned both links of a span; its mark opens the cell behind it
    assert "Most links per span, measured" in seen["decide"] and "2 (s)" in seen["decide"]
    assert "s · link.present · jaeger/api" in seen["behind"]
