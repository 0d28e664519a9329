"""The run folder's evidence files. A write that fails (a full disk) costs that file, named among
the problems, never the measurements already made."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import _jsonio as jsonio
from ._recorder import Recorder


class Evidence:
    def __init__(self, run_dir: Path, recorder: Recorder) -> None:
        self.run_dir = run_dir
        self.recorder = recorder

    def save(self, relative: str, content: str | Callable[[Path], None]) -> None:
        """Write `relative` (text, or a writer given the path)."""
        path = self.run_dir / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, str):
                path.write_text(content)
            else:
                content(path)
        except OSError as error:
            self.recorder.problem(f"could not write {relative}: {error.strerror or error} (the measurements are kept)")

    def json(self, relative: str, data: Any) -> None:
        self.save(relative, jsonio.dumps_readable(data, sort_keys=True))
