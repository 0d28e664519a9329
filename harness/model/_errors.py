"""Every error linkmatrix reports to a user, each with a message that says what to do next."""

from __future__ import annotations


class LinkmatrixError(Exception):
    """Base class: the CLI prints str(error) on one line, without a traceback."""

    exit_code = 1


class InputError(LinkmatrixError):
    """A file the CLI reads is not what it should be. Names the file, the line when known, and
    where in it (a field path; `$.cells[3].verdict` in JSON)."""

    exit_code = 2

    def __init__(self, path: str, field: str, message: str, line: int | None = None) -> None:
        self.path, self.field, self.line, self.message = path, field, line, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {field or '(file)'}: {message}")


class ScenarioError(InputError):
    """A scenario file (or the pipelines file) is malformed."""


class UsageError(LinkmatrixError):
    exit_code = 2


class ToolchainError(LinkmatrixError):
    """A backend binary could not be fetched or built."""


class ServiceError(LinkmatrixError):
    """A service did not start, did not become ready, or died."""

    def __init__(self, service: str, message: str, log_tail: str = "") -> None:
        self.service, self.log_tail = service, log_tail
        text = f"{service}: {message}"
        if log_tail:
            text += "\n--- last lines of its log ---\n" + log_tail
        super().__init__(text)


class PortInUseError(ServiceError):
    pass


class ServiceDiedError(LinkmatrixError):
    """A service this run started exited while it was being read: no read of it can succeed."""


class NotVisibleError(LinkmatrixError):
    """Expected spans did not show up in a read path before its deadline."""
