"""The one wait helper: retries transient failures, stops at once on others, says what it last saw."""

from __future__ import annotations

import pytest
import requests

from harness.model._errors import NotVisibleError
from harness.stack._wait import wait_until


def test_returns_once_done_and_counts_attempts() -> None:
    values = iter([[], [1], [1, 2]])
    waited = wait_until(lambda: next(values), lambda v: len(v) == 2, timeout=5, what="spans", first_delay=0.001)
    assert waited.value == [1, 2] and waited.attempts == 3


def test_transient_errors_are_retried() -> None:
    calls = []

    def probe() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise requests.ConnectionError("refused")
        return 200

    assert wait_until(probe, lambda s: s == 200, timeout=5, what="ready", first_delay=0.001).value == 200


def test_timeout_names_what_and_the_last_value() -> None:
    with pytest.raises(NotVisibleError) as caught:
        wait_until(lambda: 503, lambda s: s == 200, timeout=0.2, what="jaeger readiness",
                   describe=lambda s: f"HTTP {s}", first_delay=0.01)
    message = str(caught.value)
    assert message.startswith("jaeger readiness: still not there after 0s")
    assert "last seen: HTTP 503" in message


def test_timeout_after_transient_errors_reports_the_error() -> None:
    def probe() -> int:
        raise requests.ConnectionError("connection refused")

    with pytest.raises(NotVisibleError, match="last seen: ConnectionError: connection refused"):
        wait_until(probe, lambda s: True, timeout=0.2, what="x", first_delay=0.01)


def test_other_errors_stop_the_wait_at_once() -> None:
    calls = []

    def probe() -> int:
        calls.append(1)
        raise RuntimeError("the service died")

    with pytest.raises(RuntimeError):
        wait_until(probe, lambda s: True, timeout=30, what="x")
    assert len(calls) == 1
