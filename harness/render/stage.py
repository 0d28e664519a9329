"""The render stage: after the reads, what a person sees in each backend's UI.

One browser for the run, a page per trace (several at a time), every wait bounded, the browser
closed however the stage ends. For each scenario the traces that hold its linking spans are
opened with those spans' links shown, and the traces that hold their targets are looked at for a
sign that something links to them (targets in the same trace: a page about another trace is
never where a person looks for its incoming links); one screenshot per trace and UI.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Page

from ..backends.base import Backend, Http, RenderReadPath
from ..emit import Emission
from ..errors import LinkmatrixError
from ..observe import ObservationKey, Observations
from ..recorder import Recorder
from ..stack import Stack
from .browser import browser
from .shown import ShownSpan, SpanToShow

PAGES_AT_ONCE = 2  # a page is mostly browser CPU: more at once only queue for it
MAX_TRACES = 5  # traces with linking spans opened per scenario: what a person would open


@dataclass
class Rendered:
    shown: dict[ObservationKey, dict[str, ShownSpan] | Exception] = field(default_factory=dict)
    screenshots: dict[ObservationKey, list[str]] = field(default_factory=dict)  # relative to the run folder
    skipped: dict[str, str] = field(default_factory=dict)  # render path id → why it was not rendered


@dataclass(frozen=True)
class _Job:
    key: ObservationKey
    path: RenderReadPath
    base_url: str
    trace_id: str
    spans: tuple[SpanToShow, ...]
    screenshot: Path


def _traces_to_open(emission: Emission, visible: set[str]) -> dict[str, list[SpanToShow]]:
    """Trace id → spans to look at in it: the linking spans (their links opened) and the targets
    in the same trace (whether the page marks them). Only traces the UI's own API showed: a page
    cannot show a trace its backend does not have (that loss is the API's, and judged there)."""
    service = f"linkmatrix-{emission.scenario}"
    by_key = {span.key: span for span in emission.sdk}
    opened: dict[str, dict[str, SpanToShow]] = {}  # trace id → span id → what to look at
    for span in emission.linking_spans_as_finished:
        if span.trace_id not in visible or (span.trace_id not in opened and len(opened) >= MAX_TRACES):
            continue
        spans = opened.setdefault(span.trace_id, {})
        spans[span.span_id] = SpanToShow(span.span_id, service, span.name, True)
        for link in span.links:
            target = by_key.get(link.target)
            if target is not None and link.trace_id == span.trace_id:
                spans.setdefault(target.span_id, SpanToShow(target.span_id, service, target.name, False))
    return {trace_id: list(spans.values()) for trace_id, spans in opened.items()}


def _jobs(stack: Stack, emissions: Sequence[Emission], paths: Sequence[tuple[Backend, RenderReadPath]],
          observations: Observations, run_dir: Path) -> list[_Job]:
    jobs = []
    for backend, path in paths:
        base_url = backend.base_url(stack.services[backend.name])
        for emission in emissions:
            if not stack.reaches(emission.pipeline, backend.name):
                continue
            key = ObservationKey(emission.scenario, emission.pipeline, backend.name, path.name)
            api = observations.reads.get(ObservationKey(emission.scenario, emission.pipeline, backend.name, path.api))
            visible = {span.trace_id for span in api} if isinstance(api, list) else set()
            for trace_id, spans in _traces_to_open(emission, visible).items():
                screenshot = run_dir / "render" / backend.name / path.name / f"{trace_id}.png"
                jobs.append(_Job(key, path, base_url, trace_id, tuple(spans), screenshot))
    return jobs


async def _run(jobs: list[_Job], rendered: Rendered, run_dir: Path) -> None:
    """A few pages, each in its own window working through the queue (a UI's bundle comes from that window's cache
    after the first page)."""
    queue: asyncio.Queue[_Job] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    async with browser() as opened:
        async def worker() -> None:
            page = await opened.new_page()
            try:
                while not queue.empty():
                    await _render(page, queue.get_nowait(), rendered, run_dir)
            finally:
                await page.close()

        await asyncio.gather(*(worker() for _ in range(min(PAGES_AT_ONCE, len(jobs)))))


async def _render(page: Page, job: _Job, rendered: Rendered, run_dir: Path) -> None:
    try:
        job.screenshot.parent.mkdir(parents=True, exist_ok=True)
        assert job.path.render is not None
        shown = await job.path.render(page, job.base_url, job.trace_id, job.spans, job.screenshot)
        found = rendered.shown.setdefault(job.key, {})
        if isinstance(found, dict):
            found.update(shown)
        rendered.screenshots.setdefault(job.key, []).append(str(job.screenshot.relative_to(run_dir)))
    except Exception as error:  # that page could not be read: its cells are errors
        first_line = str(error).splitlines()[0] if str(error) else ""
        rendered.shown[job.key] = LinkmatrixError(
            f"{job.path.label} could not be read for trace {job.trace_id}: {type(error).__name__}: {first_line}")
        with contextlib.suppress(Exception):  # the next trace starts from a fresh page, not from this one's state
            await page.goto("about:blank")


def render_all(stack: Stack, emissions: Sequence[Emission], observations: Observations, http: Http, run_dir: Path,
               recorder: Recorder) -> Rendered:
    rendered = Rendered()
    paths = []
    for backend in stack.backends:
        for path in backend.read_paths:
            if not isinstance(path, RenderReadPath) or path.render is None or backend.name in stack.failed \
                    or backend.name not in stack.services:
                continue
            problem = backend.ui_problem(http, stack.services[backend.name])
            if problem:
                rendered.skipped[path.id] = problem
                recorder.notify(f"  {path.label}: not rendered — {problem}")
            else:
                paths.append((backend, path))
    for backend, path in paths:  # a scenario with nothing to open was shown nothing
        for emission in emissions:
            if stack.reaches(emission.pipeline, backend.name):
                rendered.shown[ObservationKey(emission.scenario, emission.pipeline, backend.name, path.name)] = {}
    jobs = _jobs(stack, emissions, paths, observations, run_dir)
    if not jobs:
        return rendered
    recorder.notify(f"rendering {len(jobs)} page(s) in {', '.join(path.label for _, path in paths)}")
    started = time.monotonic()
    try:
        asyncio.run(_run(jobs, rendered, run_dir))
    except LinkmatrixError as error:  # no browser at all: every render cell says why
        for job in jobs:
            rendered.shown[job.key] = error
        recorder.problem(str(error))
    recorder.set_stage("render", time.monotonic() - started)
    return rendered
