"""The adapter of the fake backend (tests/fakes/fake_backend.py): one module, one table entry,
like every real backend — which is also what it proves."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from playwright.async_api import Error, Page

from harness.emit._otlp import spans_from_json
from harness.emit._taps import OtlpGrpcTap
from harness.model import HttpClient
from harness.model._columns import (
    Answer,
    ReadPath,
    RenderReadPath,
    SearchAnswer,
    SearchQuery,
    SearchReadPath,
    TraceReadPath,
)
from harness.model._shown import ShownLink, ShownSpan, SpanToShow, TraceNotDrawnError
from harness.stack._backend import Backend, Tap
from harness.stack.runtime._base import LOOPBACK, Readiness, Service, ServiceSpec

PROGRAM = Path(__file__).with_name("fake_backend.py")


def read_trace(http: HttpClient, base_url: str, trace_id: str) -> Answer:
    status, body = http.get_json(f"{base_url}/api/traces/{trace_id}")
    spans = spans_from_json(body, ids="base64") if status == 200 and isinstance(body, dict) else []
    return Answer(spans, status, body)


def search(http: HttpClient, base_url: str, query: SearchQuery) -> SearchAnswer:
    status, body = http.get_json(f"{base_url}/api/search", {"key": query.key, "value": str(query.value)})
    found = ({(hit["traceID"], hit["spanID"]) for hit in body.get("spans", [])}
             if status == 200 and isinstance(body, dict) else set())
    return SearchAnswer(found, status, body, f"{query.key}={query.value}")


PAGE_JS = """() => [...document.querySelectorAll('.span')].map(row => ({
    id: row.dataset.spanId, parent: row.dataset.parent, marked: row.classList.contains('linked-to'),
    links: [...row.querySelectorAll('.link')].map(link => link.dataset.target)}))"""


async def render_trace(page: Page, base_url: str, trace_id: str, spans: Sequence[SpanToShow],
                       screenshot: Path) -> dict[str, ShownSpan]:
    """The fake UI's trace page, read as the real UIs' readers read theirs: a page that drew no trace
    is told in the words of its script's error, and the linking spans' links are followed."""
    thrown: list[str] = []

    def on_error(error: Error) -> None:
        thrown.append(f"{error.name}: {error.message}")

    page.on("pageerror", on_error)
    try:
        await page.goto(f"{base_url}/ui/trace/{trace_id}", wait_until="load")
        drawn = await page.locator("#trace").count()
    finally:
        page.remove_listener("pageerror", on_error)
    if not drawn:
        raise TraceNotDrawnError("the page is blank" + (f": its script threw {thrown[0]}" if thrown else ""), thrown)
    rows = {row["id"]: row for row in await page.evaluate(PAGE_JS)}
    await page.screenshot(path=str(screenshot), type="jpeg")
    shown = {}
    for span in spans:
        row = rows.get(span.span_id)
        shown[span.span_id] = ShownSpan(span.span_id) if row is None else ShownSpan(
            span.span_id, True, row["parent"] if row["parent"].strip("0") else "",
            [ShownLink(target, span_id=target, clickable=True) for target in row["links"]], row["marked"])
    await _follow([(span.span_id, link) for span in spans if span.open_links for link in shown[span.span_id].links],
                  page)
    return shown


FOLLOWED = 2  # links clicked per page
CLICK_MS = 2_000
ANSWER_S = 3.0  # a tab that runs no script by then has stopped answering


async def _follow(links: list[tuple[str, ShownLink]], page: Page) -> None:
    """Click a few links (each an anchor to its target); a click that hangs the tab ends the following."""
    for span_id, link in links[:FOLLOWED]:
        try:
            await page.locator(f'[data-span-id="{span_id}"] .link[data-target="{link.span_id}"] a').first.click(
                timeout=CLICK_MS)
            link.arrived = bool(await asyncio.wait_for(
                page.evaluate("(target) => location.hash === '#' + target", link.span_id), ANSWER_S))
            link.after_following = "the page went to the target" if link.arrived else "the page stayed where it was"
        except Exception as error:
            link.arrived = False
            if await _answers(page):
                link.after_following = f"following it failed: {type(error).__name__}"
                continue
            link.after_following = "the tab stopped answering after following it"
            return


async def _answers(page: Page) -> bool:
    try:
        return bool(await asyncio.wait_for(page.evaluate("1 + 1"), ANSWER_S) == 2)
    except Exception:
        return False


UI = RenderReadPath("fake", "ui", "Fake UI", render_trace, api="api", home="/ui/")


class FakeBackend(Backend):
    name = "fake"
    title = "Fake"
    build = None
    ports = ("otlp_grpc", "http")
    container_ports = {"otlp_grpc": 4317, "http": 8080}
    published_ports = {"otlp_grpc": 34317, "http": 38080}
    probe = Readiness(port="http", path="/ready")
    data_age = "one read: a fake keeps what it got"
    read_paths: tuple[ReadPath, ...] = (
        TraceReadPath("fake", "api", "Fake /api/traces", read_trace),
        SearchReadPath("fake", "search", "Fake search", search, kinds=frozenset({"link_attribute"}), timeout=3.0),
    )

    def __init__(self, **faults: Any) -> None:
        """`faults` go to the fake's config (tests/fakes/fake_backend.py); `ui` gives it a UI to render."""
        self.faults = faults
        if "ui" in faults:
            self.read_paths = (*type(self).read_paths, UI)

    def service(self, binary: Path | None, ports: dict[str, int], listen: str = LOOPBACK,
                data_dir: str | None = None) -> ServiceSpec:
        config = {"ports": ports, **self.faults}
        return ServiceSpec(name=self.name, command=(sys.executable, str(PROGRAM), "fake.json"),
                           readiness=Readiness(port="http", path="/ready", timeout=30.0), ports=ports,
                           config_files={"fake.json": json.dumps(config)}, stop_grace=2.0)

    def collector_exporter(self, address: str) -> tuple[str, dict[str, Any]]:
        return "otlp_grpc", {"endpoint": address, "tls": {"insecure": True}}

    def egress_tap(self, upstream: str, run_id: str) -> Tap:
        return cast(Tap, OtlpGrpcTap([upstream], run_id))

    def version(self, http: HttpClient, service: Service) -> str:
        return "0 (fake)"
