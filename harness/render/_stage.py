"""The render stage: after the reads, what a person sees in each backend's UI.

One browser for the run, a page per trace (several at a time), every wait bounded, the browser
closed however the stage ends. For each scenario the traces that hold its linking spans are
opened with those spans' links shown, and the traces that hold their targets are looked at for a
sign that something links to them (targets in the same trace: a page about another trace is
never where a person looks for its incoming links); one screenshot per trace and UI.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import ConsoleMessage, Page

from ..model import (
    Emission,
    HttpClient,
    LinkmatrixError,
    ObservationKey,
    Observations,
    Recorder,
    Rendered,
    RenderReadPath,
    ShownSpan,
    Span,
    SpanToShow,
    TraceNotDrawnError,
    TracePage,
    script_error_words,
)
from ..stack import Backend, Stack
from ._browser import BrowserDidNotStartError, NoBrowserError, Pages, browser

PAGES_AT_ONCE = 2  # a page is mostly browser CPU: more at once only queue for it
CLOSE_TIMEOUT = 30.0  # seconds to close the browser, then its thread is left to the process's exit
MAX_TRACES = 5  # traces with linking spans opened per scenario: what a person would open
MAX_SPANS_PER_TRACE = 10  # linking spans whose links are opened in each of them
GONE_CHECK_EVERY = 0.25  # seconds between two looks, while a page loads, at whether its backend or the browser is gone
# A trace page, its links opened and followed, is given this long in all (the slowest measured, a
# thousand links with five followed, takes ~60 s at worst); a page that has not settled by then is
# a finding about the page, and the next trace gets a fresh one.
PAGE_BOUND = 120.0
ANSWER_WITHIN = 3.0  # seconds a tab has to answer a trivial script after its job: else it hangs
# After a backend's first page that could not be read: how long to ask whether the backend is dying
# (the health watch looks every second), so the page's cells say "died", not the browser's words.
GONE_AFTER_FAILURE = 1.5


@dataclass(frozen=True)
class _Job:
    key: ObservationKey
    path: RenderReadPath
    base_url: str
    trace_id: str
    spans: tuple[SpanToShow, ...]
    screenshot: Path


def _traces_to_open(emission: Emission, visible: set[str]) -> tuple[dict[str, list[SpanToShow]], set[str]]:
    """(trace id → spans to look at in it, the linking spans left out). In each trace the linking
    spans (their links opened) and the targets in the same trace (whether the page marks them).
    Only traces the UI's own API showed: a page cannot show a trace its backend does not have (that
    loss is the API's, and judged there). At most MAX_TRACES traces and MAX_SPANS_PER_TRACE linking
    spans in each, as a person would look: the rest are left out of the render cells, and said so."""
    by_key = {span.key: span for span in emission.sdk}
    by_trace: dict[str, list[Span]] = {}
    # In the order the scenario writes (and starts) them: its labels were made in that order; the
    # SDK's order is the order the spans ended in
    written = {key: position for position, key in enumerate(emission.labels)}
    for span in sorted(emission.linking_spans_as_finished, key=lambda span: written.get(span.key, 0)):
        if span.trace_id in visible:
            by_trace.setdefault(span.trace_id, []).append(span)
    opened: dict[str, dict[str, SpanToShow]] = {}  # trace id → span id → what to look at
    left_out: set[str] = set()
    looked_at = _first_traces(by_trace)
    for trace_id, linking in by_trace.items():
        chosen = _sample(linking) if trace_id in looked_at else []
        left_out |= {span.span_id for span in linking} - {span.span_id for span in chosen}
        for span in chosen:
            spans = opened.setdefault(trace_id, {})
            spans[span.span_id] = SpanToShow(span.span_id, emission.service_of(span.key), span.name, True)
            for link in span.links:
                target = by_key.get(link.target)
                if target is not None and link.trace_id == span.trace_id:
                    spans.setdefault(target.span_id, SpanToShow(target.span_id, emission.service_of(target.key),
                                                                target.name, False))
    return {trace_id: list(spans.values()) for trace_id, spans in opened.items()}, left_out


def _first_traces(by_trace: dict[str, list[Span]]) -> set[str]:
    """The first MAX_TRACES traces, and among them always the one with the span with the most links
    (what "most links per span" is read from)."""
    chosen = list(by_trace)[:MAX_TRACES]
    if not chosen:
        return set()
    most = max(by_trace, key=lambda trace_id: max(len(span.links) for span in by_trace[trace_id]))
    return set(chosen if most in chosen else [*chosen[:-1], most])


def _sample(linking: list[Span]) -> list[Span]:
    """The first linking spans of a trace, and among them always the one with the most links."""
    if len(linking) <= MAX_SPANS_PER_TRACE:
        return linking
    chosen = linking[:MAX_SPANS_PER_TRACE]
    most = max(linking, key=lambda span: len(span.links))
    return chosen if most in chosen else [*chosen[:-1], most]


def _jobs(stack: Stack, emissions: Sequence[Emission], paths: Sequence[tuple[Backend, RenderReadPath]],
          observations: Observations, run_dir: Path, rendered: Rendered) -> list[_Job]:
    jobs = []
    for backend, path in paths:
        base_url = backend.base_url(stack.services[backend.name])
        for emission in emissions:
            if not stack.reaches(emission.pipeline, backend.name):
                continue
            key = ObservationKey(emission.scenario, emission.pipeline, backend.name, path.name)
            api = observations.reads.get(ObservationKey(emission.scenario, emission.pipeline, backend.name, path.api))
            visible = {span.trace_id for span in api} if isinstance(api, list) else set()
            to_open, rendered.left_out[key] = _traces_to_open(emission, visible)
            for trace_id, spans in to_open.items():
                screenshot = run_dir / "render" / backend.name / path.name / f"{trace_id}.jpg"
                jobs.append(_Job(key, path, base_url, trace_id, tuple(spans), screenshot))
    return jobs


class RenderStage:
    """The render stage, started as soon as the backends are up: its browser launches and its pages
    load each UI while the spans are sent and read (measured: ~2.7 s of launch and first loads that
    no longer come after the reads), and `render` then works through one page per trace. The
    browser runs on an event loop in a thread of its own, and is closed however the run ends."""

    def __init__(self, stack: Stack, http: HttpClient, recorder: Recorder) -> None:
        self.stack, self.http, self.recorder = stack, http, recorder
        self.paths: list[tuple[Backend, RenderReadPath]] = []
        self.skipped: dict[str, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._opened: concurrent.futures.Future[list[Page]] | None = None
        self._browser: contextlib.AbstractAsyncContextManager[Pages] | None = None
        self._pages: Pages | None = None

    def __enter__(self) -> RenderStage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        """Choose the UIs that can be rendered here (one line for each that cannot) and open the
        browser in the background."""
        for backend in self.stack.backends:
            for path in backend.read_paths:
                if not isinstance(path, RenderReadPath) or path.render is None or backend.name in self.stack.failed \
                        or backend.name not in self.stack.services:
                    continue
                problem = backend.ui_problem(self.http, self.stack.services[backend.name])
                if problem:
                    self.skipped[path.id] = problem
                    self.recorder.notify(f"  {path.label}: not rendered — {problem}")
                else:
                    self.paths.append((backend, path))
        if not self.paths:
            return
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="linkmatrix-render", daemon=True)
        self._thread.start()
        homes = [backend.base_url(self.stack.services[backend.name]) + path.home for backend, path in self.paths]
        self._opened = asyncio.run_coroutine_threadsafe(self._open(homes), self._loop)

    async def _open(self, homes: list[str]) -> list[Page]:
        self._browser = browser(self.recorder.notify)
        pages = self._pages = await self._browser.__aenter__()
        opened = [await pages.new_page() for _ in range(PAGES_AT_ONCE)]
        await asyncio.gather(*(self._warm(page, homes) for page in opened))
        return opened

    @staticmethod
    async def _warm(page: Page, homes: list[str]) -> None:
        """Each UI's bundle into this page's cache (the last one stays open); a UI that does not
        load now is loaded, and judged, by its first job."""
        for home in homes:
            with contextlib.suppress(Exception):
                await page.goto(home, wait_until="load")

    def _no_browser(self) -> str:
        """Why no page can be opened in this run ('' when the browser is up, or still opening):
        no browser at all is said once and its columns are listed as not measured; a browser
        that was found but did not start is also a problem of the run."""
        if self._opened is None or not self._opened.done() or self._opened.exception() is None:
            return ""
        error = self._opened.exception()
        if isinstance(error, NoBrowserError):
            why = f"no browser: {error}"
        else:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            why = f"the browser did not start: {first}" if isinstance(error, BrowserDidNotStartError) else \
                f"the browser did not start: {type(error).__name__}: {first}"
            self.recorder.problem(why)
        self.recorder.notify(f"render columns not measured — {why}")
        return why

    def render(self, emissions: Sequence[Emission], observations: Observations, run_dir: Path) -> Rendered:
        if self._opened is not None:
            with contextlib.suppress(Exception):  # its outcome is read just below
                self._opened.exception()  # waits for the browser to be open (or to have failed)
        why = self._no_browser()
        if why:
            return Rendered(skipped={**self.skipped, **{path.id: why for _, path in self.paths}})
        rendered = Rendered(skipped=dict(self.skipped))
        for backend, path in self.paths:  # a scenario with nothing to open was shown nothing
            for emission in emissions:
                if self.stack.reaches(emission.pipeline, backend.name):
                    key = ObservationKey(emission.scenario, emission.pipeline, backend.name, path.name)
                    rendered.shown[key] = {}
        jobs = _jobs(self.stack, emissions, self.paths, observations, run_dir, rendered)
        if not jobs or self._loop is None or self._opened is None:
            return rendered
        self.recorder.notify(f"rendering {len(jobs)} page(s) in {', '.join(path.label for _, path in self.paths)}")
        started = time.monotonic()
        try:
            pages = self._opened.result()
            asyncio.run_coroutine_threadsafe(_run(pages, jobs, rendered, run_dir, self._gone, self._fresh_page),
                                             self._loop).result()
            self._browser_died(jobs, rendered)
            for path_id, seconds in rendered.slowest_page.items():
                self.recorder.note("page", path_id, seconds)
        except LinkmatrixError as error:  # the browser failed while rendering: every render cell says why
            for job in jobs:
                rendered.shown[job.key] = error
            self.recorder.problem(str(error))
        self.recorder.set_stage("render", time.monotonic() - started)
        return rendered

    async def _fresh_page(self) -> Page:
        assert self._pages is not None
        return await self._pages.new_page()

    def _gone(self, job: _Job) -> str | None:
        """Why `job`'s page cannot be read any more: its backend died or stopped answering (the
        stack's health watch says so), or the browser is gone; None while both are up."""
        failed = self.stack.failed.get(job.key.backend)
        if failed:
            return failed
        return self._pages.death_notice() if self._pages is not None else None

    def _browser_died(self, jobs: list[_Job], rendered: Rendered) -> None:
        """A browser that died while rendering is a problem of the run, said once; every page it
        could not read says why (not the driver's "Target closed")."""
        death = self._pages.death_notice() if self._pages is not None else None
        if death is None:
            return
        self.recorder.problem(death)
        self.recorder.notify(f"  ! {death}")
        for job in jobs:
            if isinstance(rendered.shown.get(job.key), Exception):
                rendered.shown[job.key] = LinkmatrixError(death)

    def close(self) -> None:
        if self._loop is None or self._thread is None:
            return
        loop, self._loop = self._loop, None
        # What the closing browser leaves unanswered (its driver's last messages) is not news.
        loop.set_exception_handler(lambda _loop, _context: None)
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._close_browser(), loop).result(timeout=CLOSE_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=CLOSE_TIMEOUT)
        if not self._thread.is_alive():
            loop.close()

    async def _close_browser(self) -> None:
        if self._opened is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wrap_future(self._opened)  # still opening: let it finish, then close it
        if self._browser is not None:
            await self._browser.__aexit__(None, None, None)


async def _run(pages: list[Page], jobs: list[_Job], rendered: Rendered, run_dir: Path,
               gone: Callable[[_Job], str | None] = lambda job: None,
               fresh_page: Callable[[], Awaitable[Page]] | None = None) -> None:
    """The open pages, each working through the queue in its own window. A tab that stops
    answering is closed and the next trace gets a fresh page (`fresh_page`), so one page's hang
    costs only its own trace."""
    queue: asyncio.Queue[_Job] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    asked: set[str] = set()  # backends whose failed page has been followed by a look at their health

    async def worker(page: Page) -> None:
        while not queue.empty():
            job = queue.get_nowait()
            await _render_unless_gone(page, job, rendered, run_dir, gone, asked)
            if fresh_page is not None and gone(job) is None and not await answers(page):
                _trace_page(rendered, job).after = \
                    f"the tab stopped answering (no answer within {ANSWER_WITHIN:.0f} s): closed, a fresh page opened"
                await _close_bounded(page)
                try:
                    page = await fresh_page()
                except Exception as error:  # no new page (the browser is going): the rest are not read
                    why = f"no fresh page after a tab stopped answering: {type(error).__name__}: {error}"
                    while not queue.empty():
                        rendered.shown[queue.get_nowait().key] = LinkmatrixError(why.splitlines()[0])
                    return

    await asyncio.gather(*(worker(page) for page in pages[:len(jobs)]))


async def answers(page: Page) -> bool:
    """Whether the tab's main thread still runs scripts (a page stuck in a loop never answers)."""
    if page.is_closed():
        return False
    try:
        return bool(await asyncio.wait_for(page.evaluate("1 + 1"), ANSWER_WITHIN) == 2)
    except Exception:
        return False


async def _close_bounded(page: Page) -> None:
    """Close a tab (its window with it) without waiting on a main thread that no longer answers."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(page.context.close(), ANSWER_WITHIN)


def _trace_page(rendered: Rendered, job: _Job) -> TracePage:
    return rendered.pages.setdefault(job.key, {}).setdefault(job.trace_id, TracePage(job.trace_id))


class _PageErrors:
    """What the page's script throws or logs as an error while a job runs: a page that shows
    nothing says why in these words."""

    def __init__(self, page: Page) -> None:
        self.page, self.seen = page, list[str]()

    def __enter__(self) -> _PageErrors:
        self.page.on("pageerror", self._thrown)
        self.page.on("console", self._logged)
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(Exception):
            self.page.remove_listener("pageerror", self._thrown)
            self.page.remove_listener("console", self._logged)

    def _thrown(self, error: Exception) -> None:
        self._add(script_error_words(error))

    def _logged(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self._add(message.text)

    def _add(self, words: str) -> None:
        first = (words.strip().splitlines() or [""])[0][:300]
        if first and first not in self.seen and len(self.seen) < 10:
            self.seen.append(first)


async def _render_unless_gone(page: Page, job: _Job, rendered: Rendered, run_dir: Path,
                             gone: Callable[[_Job], str | None], asked: set[str] | None = None) -> None:
    """`_render`, not begun for a backend (or browser) known to be gone, and given up as soon as it
    is: a dead or stopped backend's page is never waited for until its own timeout. A page that
    could not be read may be the first sign of a backend dying: the first such page of a backend
    asks a little longer (`asked`: those already asked for)."""
    why = gone(job)
    if why is None:
        rendering = asyncio.ensure_future(_render(page, job, rendered, run_dir))
        while not rendering.done() and why is None:
            await asyncio.wait({rendering}, timeout=GONE_CHECK_EVERY)
            why = None if rendering.done() else gone(job)
        if why is None and asked is not None and isinstance(rendered.shown.get(job.key), Exception) \
                and job.key.backend not in asked:
            asked.add(job.key.backend)
            why = await _gone_soon(job, gone)
        if why is None:
            return
        rendering.cancel()
        await asyncio.wait({rendering})  # its cancellation done (what it raised is not news)
    rendered.shown[job.key] = LinkmatrixError(why.splitlines()[0])
    with contextlib.suppress(Exception):  # the next trace starts from a fresh page
        await asyncio.wait_for(page.goto("about:blank"), GONE_CHECK_EVERY * 4)


async def _gone_soon(job: _Job, gone: Callable[[_Job], str | None]) -> str | None:
    """Why `job`'s backend (or the browser) is gone, if it turns out so within GONE_AFTER_FAILURE."""
    deadline = time.monotonic() + GONE_AFTER_FAILURE
    while time.monotonic() < deadline:
        why = gone(job)
        if why is not None:
            return why
        await asyncio.sleep(GONE_CHECK_EVERY / 2)
    return None


async def _render(page: Page, job: _Job, rendered: Rendered, run_dir: Path) -> None:
    errors = _PageErrors(page)
    try:
        job.screenshot.parent.mkdir(parents=True, exist_ok=True)
        assert job.path.render is not None
        started = time.monotonic()
        with errors:
            shown = await asyncio.wait_for(
                job.path.render(page, job.base_url, job.trace_id, job.spans, job.screenshot), PAGE_BOUND)
        took = time.monotonic() - started  # what a person waits for this trace (its screenshot included)
        rendered.slowest_page[job.path.id] = max(rendered.slowest_page.get(job.path.id, 0.0), took)
        found = rendered.shown.setdefault(job.key, {})
        if isinstance(found, dict):
            found.update(shown)
        drawn = _trace_page(rendered, job)
        drawn.missing = [span.span_id for span in job.spans if not shown.get(span.span_id, _NOT_FOUND).found]
        rendered.screenshots.setdefault(job.key, []).append(str(job.screenshot.relative_to(run_dir)))
    except TraceNotDrawnError as blank:  # a finding about the page, in its own words: its trace was not drawn
        _not_drawn(rendered, job, blank.words, blank.console_errors or errors.seen)
        await _picture_anyway(page, job, rendered, run_dir)
    except asyncio.TimeoutError:
        _not_drawn(rendered, job, f"the page did not settle within {PAGE_BOUND:.0f} s", errors.seen)
    except Exception as error:  # that page could not be read: its cells are errors
        first_line = str(error).splitlines()[0] if str(error) else ""
        rendered.shown[job.key] = LinkmatrixError(
            f"{job.path.label} could not be read for trace {job.trace_id}: {type(error).__name__}: {first_line}")
        with contextlib.suppress(Exception):  # the next trace starts from a fresh page, not from this one's state
            await page.goto("about:blank")


_NOT_FOUND = ShownSpan("", found=False)


def _not_drawn(rendered: Rendered, job: _Job, words: str, console_errors: list[str]) -> None:
    page = _trace_page(rendered, job)
    page.drawn, page.words, page.console_errors = False, words, list(console_errors)
    rendered.shown.setdefault(job.key, {})  # its spans are simply not on the page


async def _picture_anyway(page: Page, job: _Job, rendered: Rendered, run_dir: Path) -> None:
    """The screenshot of a page that did not draw its trace: the blank page is the evidence."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(page.screenshot(path=str(job.screenshot), full_page=True, quality=80), ANSWER_WITHIN)
        rendered.screenshots.setdefault(job.key, []).append(str(job.screenshot.relative_to(run_dir)))
