"""CPU seconds and peak RSS of each supervisord program, sampled with psutil.

A program is followed across restarts: a process that appears during the run counts
from zero, one that existed at the start counts from its CPU time then. CPU a process
spends between its last sample and its death is missed (at most one interval).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil


@dataclass
class _Followed:
    baseline: float
    last: float
    process: psutil.Process


@dataclass
class ProgramUsage:
    cpu_s: float = 0.0
    peak_rss: int = 0
    pids: set[int] = field(default_factory=set)


class ProcessSampler:
    """Samples every ``every_s`` in a thread; ``list_pids`` maps program name -> pid (0: none)."""

    def __init__(self, list_pids: Callable[[], dict[str, int]], every_s: float = 0.5) -> None:
        self.list_pids = list_pids
        self.every_s = every_s
        self._followed: dict[tuple[str, int], _Followed] = {}
        self._usage: dict[str, ProgramUsage] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False

    def start(self) -> ProcessSampler:
        self._sample(first=True)
        self._started = True
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self._sample()
            except Exception:  # a supervisord hiccup must not end the sampling
                continue

    def _sample(self, first: bool = False) -> None:
        pids = self.list_pids()
        with self._lock:
            for program, pid in pids.items():
                usage = self._usage.setdefault(program, ProgramUsage())
                if not pid:
                    continue
                followed = self._followed.get((program, pid))
                try:
                    if followed is None:
                        process = psutil.Process(pid)
                        cpu = _cpu(process)
                        # Existing at the start: count from now; born during the run: from zero.
                        followed = _Followed(cpu if first else 0.0, cpu, process)
                        self._followed[(program, pid)] = followed
                        usage.pids.add(pid)
                    with followed.process.oneshot():
                        followed.last = _cpu(followed.process)
                        usage.peak_rss = max(usage.peak_rss, followed.process.memory_info().rss)
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue

    def usage(self) -> dict[str, ProgramUsage]:
        """CPU seconds since start() and peak RSS, per program."""
        with self._lock:
            result = {}
            for program, usage in self._usage.items():
                cpu = sum(
                    f.last - f.baseline for (name, _pid), f in self._followed.items() if name == program
                )
                result[program] = ProgramUsage(cpu_s=cpu, peak_rss=usage.peak_rss, pids=set(usage.pids))
            return result


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


class Timeline:
    """Polls ``read`` every ``every_s`` in a thread, keeping (monotonic time, value) pairs."""

    def __init__(self, read: Callable[[], object], every_s: float = 1.0) -> None:
        self.read = read
        self.every_s = every_s
        self.points: list[tuple[float, object]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="timeline", daemon=True)

    def start(self) -> Timeline:
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # a missed reading is just a gap
                self.points.append((time.time(), self.read()))
            if self._stop.wait(self.every_s):
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        with contextlib.suppress(Exception):
            self.points.append((time.time(), self.read()))

    def value_at(self, moment: float) -> object | None:
        """The last value read at or before ``moment`` (Unix seconds)."""
        before = [value for at, value in self.points if at <= moment]
        return before[-1] if before else None
