"""One local service's life cycle: inspect, up (idempotent), down (only what is ours)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from scripts.local_services.config import Config, ServiceError, relative, say, shout
from scripts.local_services.processes import file_lock, pid_alive, read_pid, tail, wait_until

KILL_DEADLINE_S = 10.0


@dataclass
class State:
    service: str
    state: str  # running | external | starting | crashed | stopped
    pid: int | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.state in ("running", "external")

    def line(self) -> str:
        pid = f" (pid {self.pid})" if self.pid and self.state in ("running", "starting") else ""
        return f"{self.state}{pid}{': ' + self.detail if self.detail else ''}"


class Service:
    name = ""
    start_deadline_s = 30.0
    stop_deadline_s = 30.0

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg

    # to implement
    @property
    def pid_file(self) -> Path:
        raise NotImplementedError

    @property
    def log_file(self) -> Path:
        raise NotImplementedError

    @property
    def address(self) -> str:
        raise NotImplementedError

    def is_ours(self, pid: int) -> bool:
        raise NotImplementedError

    def answers(self) -> bool:
        raise NotImplementedError

    def launch(self) -> int:
        """Start the process detached, write the pid file, return the pid (not yet answering)."""
        raise NotImplementedError

    def logs_for_failure(self) -> str:
        return tail(self.log_file)

    # shared logic
    def inspect(self) -> State:
        pid = read_pid(self.pid_file)
        if pid is not None:
            if not pid_alive(pid):
                return State(
                    self.name,
                    "crashed",
                    pid,
                    f"pid file {relative(self.pid_file)} names pid {pid}, which is gone",
                )
            if not self.is_ours(pid):
                return State(
                    self.name,
                    "crashed",
                    pid,
                    f"pid file {relative(self.pid_file)} names pid {pid}, which is not our {self.name} (pid reused)",
                )
            if self.answers():
                return State(self.name, "running", pid, f"{self.address}; log {relative(self.log_file)}")
            return State(self.name, "starting", pid, f"process alive but {self.address} does not answer yet")
        if self.answers():
            return State(self.name, "external", None, f"{self.address} answers, not started by us")
        return State(self.name, "stopped")

    def up(self) -> State:
        self.cfg.prepare()
        with file_lock(self.cfg.run_dir / f"{self.name}.lock", self.name, "up"):
            state = self.inspect()
            if state.state == "running":
                say(self.name, f"already running (pid {state.pid})")
                return state
            if state.state == "external":
                say(
                    self.name,
                    f"{self.address} already answers (not started by us): using it, starting nothing",
                )
                return state
            if state.state == "starting":
                assert state.pid is not None
                say(self.name, f"pid {state.pid} is ours but not answering yet; waiting")
                return self._await(state.pid, time.monotonic())
            if state.state == "crashed":
                say(self.name, f"previous run crashed ({state.detail}); removing the stale pid file")
                self.pid_file.unlink(missing_ok=True)
                if self.answers():
                    say(self.name, f"{self.address} answers (not started by us): using it, starting nothing")
                    return State(self.name, "external", None, f"{self.address} answers, not started by us")
            started = time.monotonic()
            pid = self.launch()
            say(self.name, f"started pid {pid}; waiting for {self.address} to answer")
            return self._await(pid, started)

    def _await(self, pid: int, started: float) -> State:
        def ready() -> bool:
            if not pid_alive(pid):
                raise ServiceError(
                    f"{self.name} (pid {pid}) exited while starting; see {self.log_file}"
                    + self.logs_for_failure()
                )
            return self.answers()

        if not wait_until(ready, self.start_deadline_s, every_s=0.3):
            raise ServiceError(
                f"{self.name} (pid {pid}) did not answer at {self.address} within {self.start_deadline_s:.0f} s; "
                f"it is left running (stop it with: services.py down {self.name}); see {self.log_file}"
                + self.logs_for_failure()
            )
        say(
            self.name,
            f"up (pid {pid}) at {self.address} in {time.monotonic() - started:.1f} s; log {relative(self.log_file)}",
        )
        return State(self.name, "running", pid, self.address)

    def down(self) -> bool:
        self.cfg.prepare()
        with file_lock(self.cfg.run_dir / f"{self.name}.lock", self.name, "down"):
            pid = read_pid(self.pid_file)
            if pid is None:
                if self.pid_file.exists():
                    self.pid_file.unlink()
                    say(self.name, f"removed unreadable pid file {relative(self.pid_file)}")
                if self.answers():
                    say(
                        self.name,
                        f"not started by us ({self.address} answers, no pid file): leaving it alone",
                    )
                else:
                    say(self.name, "not running")
                return True
            if not pid_alive(pid):
                self.pid_file.unlink(missing_ok=True)
                say(self.name, f"not running (stale pid file named pid {pid}, which is gone; removed it)")
                return True
            if not self.is_ours(pid):
                self.pid_file.unlink(missing_ok=True)
                say(
                    self.name,
                    f"pid file named pid {pid}, which is not our {self.name}: not touching it; removed the stale pid file",
                )
                return True
            return self._stop(pid)

    def _stop(self, pid: int) -> bool:
        started = time.monotonic()
        say(self.name, f"stopping pid {pid} (SIGTERM, up to {self.stop_deadline_s:.0f} s)")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not wait_until(lambda: not pid_alive(pid), self.stop_deadline_s):
            if self.is_ours(pid):
                say(self.name, f"pid {pid} still alive after {self.stop_deadline_s:.0f} s: SIGKILL")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if not wait_until(lambda: not pid_alive(pid), KILL_DEADLINE_S):
                shout(self.name, f"pid {pid} survived SIGKILL; see {self.log_file}")
                return False
        self.pid_file.unlink(missing_ok=True)
        say(self.name, f"stopped in {time.monotonic() - started:.1f} s")
        return True
