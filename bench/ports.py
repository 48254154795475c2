"""Free TCP ports for the servers a test or a benchmark starts, picked before they bind.

A stack's ports are chosen before its programs start: supervisord's config and every
worker's settings name them. A number read from ``bind(port 0)`` and closed again can be
taken before the program binds it, because the kernel hands out that same range
(``ip_local_port_range``, 32768-60999 on Linux) to every ``bind(0)`` and every outgoing
connection on the machine: the workers' metrics servers, Kafka and Redis clients. With four
pytest-xdist workers starting stacks at once, an LLM fake lost its port that way.

So numbers come from below that range, where nobody but this module picks them, and each
pytest-xdist worker has a block of its own: two workers never hand out the same number,
and one worker hands out each number of its block once before it wraps.
"""

from __future__ import annotations

import itertools
import os
import random
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

# The dev stack's defaults (scripts/stack.py, scripts/services.py): never handed out.
SHARED_PORTS = frozenset({6379, 8501, 8700, 8701, 9001, 9092, 9093, 9100})
FIRST_PORT = 20_000  # above the dev defaults and the usual well-known servers
BLOCK_SIZE = 1_000  # a whole suite's worker takes a few hundred
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LINUX_EPHEMERAL_FLOOR = 32_768


def ephemeral_floor(range_file: Path = EPHEMERAL_RANGE_FILE) -> int:
    """The lowest port the kernel hands out by itself."""
    try:
        return int(range_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return LINUX_EPHEMERAL_FLOOR


def worker_slot(worker: str | None = None) -> int:
    """0 outside pytest-xdist; N + 1 for its worker ``gwN`` (PYTEST_XDIST_WORKER)."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "") if worker is None else worker
    number = name.removeprefix("gw")
    return int(number) + 1 if number.isdigit() else 0


def port_block(slot: int, floor: int) -> range | None:
    """The ports of ``slot``, all below ``floor``; None when no block fits under it."""
    blocks = (floor - FIRST_PORT) // BLOCK_SIZE
    if blocks < 1:
        return None
    start = FIRST_PORT + (slot % blocks) * BLOCK_SIZE
    return range(start, start + BLOCK_SIZE)


def bindable(port: int) -> bool:
    """Nobody listens on it and no closed socket lingers on it (no SO_REUSEADDR here)."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _kernel_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PortAllocator:
    """Hands out the ports of one block in turn, from a random point, skipping taken ones."""

    def __init__(self, block: range | None) -> None:
        self.block = block
        self._lock = threading.Lock()
        self._candidates = self._cycle()

    def _cycle(self) -> Iterator[int]:
        if self.block is None:
            return iter(())
        # A random start: a subprocess of the same worker (a bench run a test starts) is
        # unlikely to walk the same numbers as its parent at the same time.
        offset = random.randrange(len(self.block))
        return itertools.cycle([*self.block[offset:], *self.block[:offset]])

    def restart(self) -> None:
        """A forked child starts from a point of its own, not where its parent was."""
        self._lock = threading.Lock()
        self._candidates = self._cycle()

    def take(self) -> int:
        if self.block is None:
            return _kernel_port()  # no room below the kernel's range on this machine
        with self._lock:
            for _ in range(len(self.block)):
                port = next(self._candidates)
                if port not in SHARED_PORTS and bindable(port):
                    return port
        raise RuntimeError(
            f"every port of {self.block.start}-{self.block.stop - 1} (this worker's block) is in use"
        )


_allocator = PortAllocator(port_block(worker_slot(), ephemeral_floor()))
os.register_at_fork(after_in_child=_allocator.restart)


def free_port() -> int:
    """A port nobody holds now, that no other test worker and no kernel pick will hand out."""
    return _allocator.take()
