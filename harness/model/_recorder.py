"""What a run notes as it goes: stage timings, per-service and per-read-path detail, problems.

Every stage writes here instead of into the result, from any thread; problems are said once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Notify = Callable[[str], None]


class Recorder:
    def __init__(self, notify: Notify) -> None:
        self.notify = notify
        self.lock = threading.Lock()
        self.stages: dict[str, float] = {stage: 0.0 for stage in ("startup", "emit", "visibility", "read")}
        self.detail: dict[str, dict[str, Any]] = {}
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        """A line for the report (and exit code 1); the same text is kept once."""
        with self.lock:
            if text not in self.problems:
                self.problems.append(text)

    def stage(self, name: str, seconds: float) -> None:
        with self.lock:
            self.stages[name] = round(self.stages.get(name, 0.0) + seconds, 3)

    def set_stage(self, name: str, seconds: float) -> None:
        with self.lock:
            self.stages[name] = round(seconds, 3)

    def note(self, group: str, key: str, value: Any) -> None:
        """A detail of a stage: seconds per service, per read path, attempts…"""
        with self.lock:
            self.detail.setdefault(group, {})[key] = round(value, 3) if isinstance(value, float) else value

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.stage(name, time.monotonic() - started)
