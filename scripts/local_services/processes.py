"""The processes we start: pid files, who a pid really is (psutil), detached launches, locks."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil

from scripts.local_services.config import ServiceError, say

LOCK_DEADLINE_S = 180.0
LOG_TAIL_LINES = 25


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    try:
        pid = int(text)
    except ValueError:
        return None
    return pid if pid > 0 else None


def write_pid(path: Path, pid: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{pid}\n")
    os.replace(tmp, path)


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    with contextlib.suppress(ChildProcessError):  # reap it if it happens to be our child
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # another user's process: it exists


def process_args(pid: int) -> list[str]:
    """The process's command line ([] when it is gone or not ours to read)."""
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


def process_cwd(pid: int) -> Path | None:
    try:
        return Path(psutil.Process(pid).cwd())
    except psutil.Error:
        return None


def wait_until(condition: Callable[[], bool], deadline_s: float, every_s: float = 0.2) -> bool:
    """Poll `condition` until it holds (True) or the deadline passes (False)."""
    deadline = time.monotonic() + deadline_s
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(every_s)


def tcp_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    if not text:
        return ""
    return f"\n--- last {len(text)} lines of {path} ---\n" + "\n".join(text)


_DETACH = (
    "import os, subprocess, sys\n"
    "log, cwd, *cmd = sys.argv[1:]\n"
    "out = open(log, 'ab', buffering=0)\n"
    "child = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,\n"
    "                         stderr=subprocess.STDOUT, start_new_session=True)\n"
    "print(child.pid, flush=True)\n"
    "os._exit(0)\n"
)


def launch_detached(cmd: list[str], log: Path, cwd: Path) -> int:
    """Start `cmd` in its own session, stdout/stderr appended to `log`, and return its pid.

    A short-lived intermediate Python starts it, so the service is never our child: nothing
    has to reap it, it outlives this process and no terminal signal reaches it."""
    with log.open("ab") as out:
        out.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} services.py starts: {' '.join(cmd)}\n".encode())
    result = subprocess.run(
        [sys.executable, "-I", "-c", _DETACH, str(log), str(cwd), *cmd],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip().isdigit():
        raise ServiceError(f"could not start {cmd[0]}: {result.stderr.strip()[-800:]}")
    return int(result.stdout.strip())


@contextlib.contextmanager
def file_lock(path: Path, service: str, what: str) -> Iterator[None]:
    """An exclusive flock, so two services.py runs never start or stop the same thing at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(service, f"waiting for another services.py ({what}, lock {path})")
            if not wait_until(lambda: _try_lock(handle), LOCK_DEADLINE_S, every_s=0.5):
                raise ServiceError(f"{path} stayed locked for {LOCK_DEADLINE_S:.0f} s") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _try_lock(handle: object) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # type: ignore[arg-type]
    except BlockingIOError:
        return False
    return True
