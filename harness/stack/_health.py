"""The stack's health watch: while the backends are read and their UIs rendered, each one is asked
a cheap question every second — has its process ended, does its health endpoint answer — so a
backend that dies or stops answering (SIGSTOP, a hung server) is named within seconds, and no read
or page waits out its own timeout for it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

import requests

from .runtime._base import Service

PROBE_EVERY = 1.0  # seconds between two rounds of questions
PROBE_TIMEOUT = 3.0  # a health endpoint that takes longer has not answered
MISSES = 3  # unanswered probes in a row before a running process counts as hung (a busy JVM may miss one)


def health_url(service: Service) -> str:
    ready = service.spec.readiness
    return service.url(ready.port) + ready.path


def answers(service: Service) -> bool:
    """Whether its health endpoint answers at all (any status: a server that says 503 is alive)."""
    try:
        requests.get(health_url(service), timeout=PROBE_TIMEOUT)
    except requests.RequestException:
        return False
    return True


def unresponsive_notice(service: Service, misses: int) -> str:
    """Why a service that still runs counts as gone: stopped, or not answering."""
    how = "its process is stopped (SIGSTOP)" if service.stopped() else "its process runs"
    return (f"{service.name} stopped answering during the run: {how}, and its health check "
            f"({health_url(service)}) got no answer within {PROBE_TIMEOUT:g}s, {misses} time(s) in a row")


class HealthWatch:
    """A thread that watches `names` among `services` until it is closed; `fail(name, why)` is told
    once per service that died or stopped answering (the stack's failure ledger)."""

    def __init__(self, services: Mapping[str, Service], names: Sequence[str],
                 fail: Callable[[str, str], None], failed: Mapping[str, str]) -> None:
        self.services, self.names, self.fail, self.failed = services, list(names), fail, failed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="linkmatrix-health", daemon=True)
        self._misses = dict.fromkeys(self.names, 0)

    def __enter__(self) -> HealthWatch:
        if self.names:
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=PROBE_TIMEOUT * 2)

    def _watch(self) -> None:
        while not self._stop.wait(PROBE_EVERY):
            for name in self.names:
                if name not in self.failed and not self._stop.is_set():
                    self.check(name)

    def check(self, name: str) -> None:
        """One question to one service; tells `fail` when it is gone."""
        service = self.services[name]
        death = service.death_notice()
        if death:
            self.fail(name, death)
            return
        if answers(service):
            self._misses[name] = 0
            return
        self._misses[name] += 1
        # A stopped process answers nothing until it is continued: one miss proves it.
        if service.stopped() or self._misses[name] >= MISSES:
            service.unresponsive = unresponsive_notice(service, self._misses[name])
            self.fail(name, service.unresponsive)
