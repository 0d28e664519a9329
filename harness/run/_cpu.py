"""The CPU seconds each part of a run used — the backends, the browser, linkmatrix itself — so that a
run on a CPU-bound machine shows as one: a wall time far above its floor with the cores busy the
whole time is the machine's limit, not a schedule's.

Processes are sampled (psutil) while they still run: the browser's just before it closes, the
services' just before they stop. A process that ended between samples keeps its last sample. Only
the run's own processes are seen: under the docker runtime the services are the daemon's children,
so their CPU is not counted (the report says so by leaving `cpu_backends` out).
"""

from __future__ import annotations

import resource
import threading

import psutil

BROWSER_DRIVER = "playwright"  # Playwright's driver (node) starts the browser: its tree is the browser's


class CpuLedger:
    def __init__(self) -> None:
        self._last: dict[int, tuple[str, float]] = {}  # pid → (part, CPU seconds at its last sample)
        self._lock = threading.Lock()
        self._machine_busy = _machine_busy()  # what every process of the machine used, from now on
        self._own = _own()  # and this process

    def sample(self) -> None:
        """Read the CPU seconds of every process this one started, and theirs."""
        try:
            descendants = psutil.Process().children(recursive=True)
        except psutil.Error:
            return
        seen: dict[int, tuple[int, list[str], float]] = {}  # pid → (parent pid, command, CPU seconds)
        for process in descendants:
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    seen[process.pid] = (process.ppid(), process.cmdline(), times.user + times.system)
            except psutil.Error:  # ended meanwhile: its last sample stands
                continue
        with self._lock:
            for pid, (_parent, _command, used) in seen.items():
                self._last[pid] = (_part_of(pid, seen), used)

    def seconds(self) -> dict[str, float]:
        """CPU seconds per part: backends (when seen), browser (when one ran), harness, and the total."""
        totals = {"harness": _own() - self._own}
        with self._lock:
            for part, used in self._last.values():
                totals[part] = totals.get(part, 0.0) + used
        totals["total"] = sum(totals.values())
        # The whole machine, this run and anything else: a run far below it shared its cores.
        totals["machine"] = max(0.0, _machine_busy() - self._machine_busy)
        return {part: round(used, 2) for part, used in totals.items()}


def _own() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _machine_busy() -> float:
    """CPU seconds every core of the machine has been busy since it started."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def _part_of(pid: int, seen: dict[int, tuple[int, list[str], float]]) -> str:
    """A process belongs to the browser when it or a parent is Playwright's driver; else by its command."""
    walked = pid
    while walked in seen:
        parent, command, _used = seen[walked]
        if _part(command) == "browser":
            return "browser"
        walked = parent
    return _part(seen[pid][1])


def _part(command: list[str]) -> str:
    joined = " ".join(command)
    if BROWSER_DRIVER in joined and "driver" in joined:
        return "browser"
    if "harness" in joined and "python" in (command[0] if command else ""):
        return "harness"  # an earlier SDK release's emit worker is linkmatrix's own work
    return "backends"
