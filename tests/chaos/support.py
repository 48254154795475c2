"""What every chaos test does around its fault: load in the background, kills, and the final audit.

The audit is the point: after the fault, every injected mention must reach exactly one
final state that the sandbox confirms (bench/ledger.py), no tweet may carry two bot
replies, and every program must be RUNNING again with Supervisor's restarts accounted for.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bench import ledger as ledgers
from bench.load import Injection, Injector
from bench.stacks import StackHandle
from tests.helpers import wait_for

CHAOS_MENTIONS = int(os.environ.get("CHAOS_MENTIONS", "2000"))
_SPAWNED = re.compile(r"spawned: '([\w-]+)' with pid (\d+)")


@dataclass
class BackgroundLoad:
    """Mentions injected at a steady pace from a thread while the test does harm."""

    handle: StackHandle
    count: int
    rate_per_s: float
    seed: int
    injection: Injection | None = None
    error: BaseException | None = None
    _thread: threading.Thread | None = None

    def start(self) -> BackgroundLoad:
        injector = Injector(self.handle.config.x_sandbox_url, seed=self.seed, run_tag="chaos")

        def run() -> None:
            try:
                self.injection = injector.inject(self.count, self.rate_per_s)
            except BaseException as error:  # reported by wait()
                self.error = error
            finally:
                injector.close()

        self._thread = threading.Thread(target=run, name="load", daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout_s: float = 300) -> list[str]:
        assert self._thread is not None
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), f"injection still running after {timeout_s}s"
        assert self.error is None, f"injection failed: {self.error!r}"
        assert self.injection is not None
        assert self.injection.failures == 0, f"{self.injection.failures} mentions could not be injected"
        assert len(self.injection.ids) == self.count
        return self.injection.ids


def programs(handle: StackHandle) -> dict[str, dict[str, object]]:
    """Program name (consumer_00, producer, ...) -> Supervisor's process info."""
    return {str(info["name"]).split(":")[-1]: info for info in handle.programs()}


@dataclass
class Killer:
    """SIGKILLs programs by pid, as a crash would, and remembers how often each was killed."""

    handle: StackHandle
    kills: Counter[str] = field(default_factory=Counter)

    def running(self, prefix: str) -> dict[str, int]:
        return {
            name: int(info["pid"])  # type: ignore[arg-type]
            for name, info in programs(self.handle).items()
            if name.startswith(prefix) and info["statename"] == "RUNNING"
        }

    def kill_one(self, prefix: str, choose: Callable[[list[str]], str], timeout_s: float = 60) -> str:
        """SIGKILL one RUNNING program whose name starts with ``prefix`` (waits for one)."""
        candidates = wait_for(lambda: self.running(prefix), timeout_s, f"a RUNNING {prefix} to kill")
        name = choose(sorted(candidates))
        os.kill(candidates[name], signal.SIGKILL)
        self.kills[name] += 1
        return name


def spawn_counts(handle: StackHandle) -> Counter[str]:
    """How often supervisord started each program (its log has one line per spawn)."""
    text = handle.supervisord_log.read_text(errors="replace")
    return Counter(match[1] for match in _SPAWNED.finditer(text))


def wait_until_recovered(handle: StackHandle, killer: Killer | None = None, timeout_s: float = 60) -> None:
    """Every program RUNNING again, and (when a killer was used) Supervisor restarted each
    killed program exactly once per kill, with no other restart of any program."""

    def states() -> dict[str, str]:  # the console is not started in these stacks
        return {name: state for name, state in handle.program_states().items() if "console" not in name}

    wait_for(lambda: set(states().values()) == {"RUNNING"}, timeout_s, "every program RUNNING again")
    restarts = {name: count - 1 for name, count in spawn_counts(handle).items() if count > 1}
    if killer is not None:
        assert restarts == dict(killer.kills), (
            f"Supervisor restarts {restarts} differ from the kills {dict(killer.kills)}"
        )


def wait_all_final(handle: StackHandle, ids: list[str], timeout_s: float) -> None:
    """Every mention reaches a final state in Redis before the deadline (else: which did not, and why)."""
    client, keys = handle.redis(), handle.keys
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ledgers.count_final(client, keys, ids) == len(ids):
            return
        time.sleep(0.5)
    ledger = ledgers.collect(client, keys, handle.config.x_sandbox_url, ids)
    # A producer kept from X too long reports possible_gap: X had pushed them out of reach.
    errors = {k: v for k, v in client.hgetall(keys.counters).items() if k.startswith("producer_error")}
    raise AssertionError(
        f"after {timeout_s}s, mentions without a final state:\n{ledger.describe_problems()}\n"
        f"final states: {dict(ledger.by_final_label())}; producer errors: {errors}"
    )


def audit(handle: StackHandle, ids: list[str]) -> ledgers.Ledger:
    """Exactly one final state per mention, confirmed by the sandbox; no tweet replied twice."""
    ledger = ledgers.collect(handle.redis(), handle.keys, handle.config.x_sandbox_url, ids)
    assert not ledger.problems(), (
        f"mentions not in exactly one final state:\n{ledger.describe_problems()}\n"
        f"final states: {dict(ledger.by_final_label())}"
    )
    with handle.x() as x:
        stats = x.get("/sandbox/stats").json()
    assert stats["tweets_with_multiple_bot_replies"] == 0, stats["tweets_with_multiple_bot_replies_ids"][:10]
    counters = handle.redis().hgetall(handle.keys.counters)
    interesting = (
        "reconciled",
        "lost_claim",
        "duplicate_delivery",
        "dead_lettered",
        "failed:",
        "producer_error",
    )
    print(
        f"audit of {len(ids)} mentions: {dict(ledger.by_final_label())}; "
        f"restarts {dict((n, c - 1) for n, c in spawn_counts(handle).items() if c > 1)}; "
        f"counters {dict((k, v) for k, v in sorted(counters.items()) if k.startswith(interesting))}"
    )
    bot_replies = sum(len(outcome.bot_replies) for outcome in ledger.outcomes)
    assert stats["replies_posted"] == bot_replies, (
        f"the sandbox counts {stats['replies_posted']} bot replies, the injected mentions have {bot_replies}"
    )
    return ledger
