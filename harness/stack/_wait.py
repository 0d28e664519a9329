"""The one wait helper: a deadline, capped exponential backoff, attempts and the last value kept.

Every wait for a condition goes through it: service readiness (processes and containers), the
collector hop, span visibility, a store settling, search probes. Nothing in linkmatrix polls in a
loop of its own or sleeps a fixed time to wait for something.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import requests
import tenacity

from ..model import NotVisibleError

T = TypeVar("T")

# Failures that mean "not there yet": the server is still starting, or a read found nothing.
TRANSIENT = (requests.RequestException, ConnectionError, TimeoutError)


@dataclass
class Waited(Generic[T]):
    value: T
    attempts: int
    seconds: float


def wait_until(probe: Callable[[], T], done: Callable[[T], bool], *, timeout: float, what: str,
               describe: Callable[[T], str] = repr, first_delay: float = 0.05,
               max_delay: float = 1.0, cancel: threading.Event | None = None) -> Waited[T]:
    """Call `probe` until `done(value)`; raise NotVisibleError naming `what` and the last value.

    Exceptions in TRANSIENT count as "not yet"; any other exception stops the wait at once (a
    service that died should not be waited for). Setting `cancel` ends the wait too (the run is
    being interrupted: worker threads must not keep polling).
    """
    started = time.monotonic()
    last: dict[str, object] = {"text": "no attempt finished"}

    def remember(state: tenacity.RetryCallState) -> None:
        outcome = state.outcome
        if outcome is None:
            return
        if outcome.failed:
            error = outcome.exception()
            last["text"] = f"{type(error).__name__}: {error}"
        else:
            last["text"] = describe(outcome.result())

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_delay(timeout) | tenacity.stop_when_event_set(cancel or threading.Event()),
        wait=tenacity.wait_exponential(multiplier=first_delay, max=max_delay),
        retry=(tenacity.retry_if_exception_type(TRANSIENT)
               | tenacity.retry_if_result(lambda value: not done(value))),
        after=remember,
        reraise=True,
    )
    try:
        value = retrying(probe)
        return Waited(value, retrying.statistics.get("attempt_number", 1), time.monotonic() - started)
    except tenacity.RetryError as error:
        attempts = error.last_attempt.attempt_number
    except TRANSIENT:
        attempts = retrying.statistics.get("attempt_number", 0)
    if cancel is not None and cancel.is_set():
        raise NotVisibleError(f"{what}: stopped, the run is being interrupted")
    raise NotVisibleError(
        f"{what}: still not there after {timeout:.0f}s and {attempts} attempts; last seen: {last['text']}")
