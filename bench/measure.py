"""Measuring one load run: the outcome of every mention, throughput, latency, CPU, memory."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psutil

from bench import ledger as ledgers
from bench import redis_counts
from bench.load import Injection
from bench.sampling import ProcessSampler
from bench.stacks import StackHandle
from roastbot.redis_conn import primaries_info

STALL_S = 90.0  # no mention reached a final state for this long: stop waiting, report the rest as lost


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return None
    rank = max(1, math.ceil(share * len(values)))
    return values[rank - 1]


def steady_rate(times: list[float]) -> float | None:
    """Events per second between the 10th and 90th percentile of their (sorted) times."""
    if len(times) < 20:
        return None
    low, high = times[len(times) // 10], times[(len(times) * 9) // 10]
    if high <= low:
        return None
    return ((len(times) * 9) // 10 - len(times) // 10) / (high - low)


def prefix_memory(handle: StackHandle) -> tuple[int, int, dict[str, int]]:
    """(bytes, keys, bytes per kind) of every key under the stack's prefix, by MEMORY USAGE;
    the kind is the key's first part after the prefix (mention, author, conversation, ...)."""
    client = handle.redis()
    head = handle.keys.head
    keys = list(client.scan_iter(match=handle.keys.every_key, count=2000))
    by_kind: dict[str, int] = {}
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        pipe = client.pipeline(transaction=False)
        for key in chunk:
            pipe.memory_usage(key, samples=0)
        for key, size in zip(chunk, pipe.execute(), strict=True):
            kind = key[len(head) + 1 :].split(":", 1)[0]
            by_kind[kind] = by_kind.get(kind, 0) + (size or 0)
    return sum(by_kind.values()), len(keys), dict(sorted(by_kind.items()))


def stolen_share(before: Any, after: Any) -> float | None:
    """Percent of the machine's CPU time between two ``psutil.cpu_times()`` that the
    hypervisor gave to other guests (steal): a virtual machine's cores are shared with them.
    None where the kernel does not count steal."""
    if not hasattr(before, "steal"):
        return None
    total = _all_cpu_time(after) - _all_cpu_time(before)
    return round(100 * (after.steal - before.steal) / total, 1) if total > 0 else None


def _all_cpu_time(times: Any) -> float:
    """Linux counts the time this machine's own guests ran (guest, guest_nice) in user and
    nice as well: summed as they are, it would count twice."""
    return sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)


_CALIBRATION_PAYLOAD = {
    "id": "1867",
    "text": "roast me " * 20,
    "author_id": "42",
    "entities": list(range(20)),
}


def calibration_ms(rounds: int = 5) -> float:
    """CPU milliseconds of one fixed pure-Python workload (JSON, dicts, strings: the kind of
    work a consumer does), the best of ``rounds``. The same code costs more CPU time when the
    host's other guests load the shared cores, which steal does not show: a run's CPU figures
    compare with another's only when their calibrations agree."""
    best = math.inf
    for _ in range(rounds):
        started = time.process_time()
        for index in range(2000):
            text = json.dumps({**_CALIBRATION_PAYLOAD, "n": index})
            json.loads(text)["text"].split()
        best = min(best, time.process_time() - started)
    return round(best * 1000, 2)


def used_memory(handle: StackHandle) -> int:
    """INFO used_memory, summed over the primaries of a cluster."""
    return sum(int(info["used_memory"]) for info in primaries_info(handle.redis(), "memory").values())


def program_pids(handle: StackHandle) -> Callable[[], dict[str, int]]:
    def read() -> dict[str, int]:
        return {str(p["name"]).split(":")[-1]: int(p["pid"]) for p in handle.programs()}  # type: ignore[arg-type]

    return read


def wait_until_final(
    handle: StackHandle,
    ids: list[str],
    deadline_s: float,
    say: Callable[[str], None],
    stall_s: float = STALL_S,
) -> bool:
    """Until every mention has a final state, the deadline passes, or nothing moves for
    ``stall_s`` (a quota window scaled longer needs more)."""
    count_final = ledgers.FinalCount(handle.redis(), handle.keys, ids)
    started = last_change = time.monotonic()
    last_done, last_report = -1, 0.0
    while True:
        done = count_final()
        now = time.monotonic()
        if done != last_done:
            last_done, last_change = done, now
        if now - last_report >= 10:
            say(f"  {done}/{len(ids)} final after {now - started:.0f}s")
            last_report = now
        if done >= len(ids):
            return True
        if now - started > deadline_s or now - last_change > stall_s:
            say(f"  gave up waiting: {done}/{len(ids)} final")
            return False
        time.sleep(1.0 if len(ids) > 2000 else 0.5)


@dataclass
class Run:
    """One measured stretch: the load, the samplers and what they saw."""

    handle: StackHandle
    sampler: ProcessSampler
    memory_before: int
    prefix_before: int
    started: float = field(default_factory=time.time)
    load_at_start: float = field(default_factory=lambda: round(os.getloadavg()[0], 2))
    cpu_times_at_start: Any = field(default_factory=psutil.cpu_times)
    calibration_at_start_ms: float = field(default_factory=calibration_ms)
    injection: Injection | None = None
    finished: float = 0.0
    all_final: bool = False
    round_trips_before: dict[str, int] = field(default_factory=dict)
    commands_before: dict[str, int] = field(default_factory=dict)


@contextmanager
def measured(handle: StackHandle) -> Iterator[Run]:
    sampler = ProcessSampler(program_pids(handle)).start()
    run = Run(handle, sampler, used_memory(handle), prefix_memory(handle)[0])
    client = handle.redis()
    run.round_trips_before = redis_counts.consumer_round_trips(client, handle.keys)
    run.commands_before = redis_counts.command_stats(client)
    try:
        yield run
    finally:
        sampler.stop()
        run.finished = run.finished or time.time()


def summarize(
    run: Run, name: str, parameters: dict[str, Any], say: Callable[[str], None]
) -> tuple[dict[str, Any], ledgers.Ledger]:
    handle, injection = run.handle, run.injection
    assert injection is not None
    ids = injection.ids
    say(f"  reading {len(ids)} mentions back from the sandbox and Redis")
    ledger = ledgers.collect(handle.redis(), handle.keys, handle.config.x_sandbox_url, ids)
    latencies = ledger.latencies_s()
    usage = run.sampler.usage()
    client = handle.redis()
    commands = redis_counts.command_delta(run.commands_before, redis_counts.command_stats(client))
    time.sleep(redis_counts.HEARTBEAT_EVERY_S + 0.5)  # every consumer has reported its count since
    trips = redis_counts.round_trip_delta(
        run.round_trips_before, redis_counts.consumer_round_trips(client, handle.keys)
    )
    prefix_bytes, prefix_keys, by_kind = prefix_memory(handle)
    with handle.x() as x:
        stats = x.get("/sandbox/stats").json()
    per_thousand = 1000 / len(ids) if ids else 0.0
    elapsed = max(run.finished - run.started, 1e-9)
    result: dict[str, Any] = {
        "scenario": name,
        "parameters": parameters,
        "machine": {
            "nproc": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "load_avg_5m": round(os.getloadavg()[1], 2),
            "load_avg_at_start_1m": run.load_at_start,
            "cpu_steal_percent": stolen_share(run.cpu_times_at_start, psutil.cpu_times()),
            "calibration_ms": {"start": run.calibration_at_start_ms, "end": calibration_ms()},
        },
        "stack": "isolated" if handle.isolated else "running (its own settings)",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "injected": len(ids),
        "injection_failures": injection.failures,
        "injection_rate_per_s": round(injection.rate_per_s, 1),
        "replies_posted": len(ledger.replied),
        "final_states": dict(sorted(ledger.by_final_label().items())),
        "lost": len(ledger.lost),
        "duplicated": len(ledger.duplicated),
        "problems": {problem: len(found) for problem, found in ledger.problems().items()},
        "all_final": run.all_final,
        "duration_s": round(elapsed, 1),
        "throughput_mentions_per_s": _round(steady_rate(ledger.finish_times())),
        "throughput_replies_per_s": _round(steady_rate(ledger.reply_times())),
        "latency_s": {
            "p50": _round(percentile(latencies, 0.50), 3),
            "p95": _round(percentile(latencies, 0.95), 3),
            "p99": _round(percentile(latencies, 0.99), 3),
            "max": _round(latencies[-1] if latencies else None, 3),
            "samples": len(latencies),
        },
        "cpu_s_per_1000_mentions": {p: round(u.cpu_s * per_thousand, 2) for p, u in sorted(usage.items())},
        "cpu_ms_per_mention": cpu_ms_per_mention(usage, len(ids)),
        "cpu_percent_of_a_core": {p: round(100 * u.cpu_s / elapsed, 1) for p, u in sorted(usage.items())},
        "peak_rss_mb": {p: round(u.peak_rss / 2**20, 1) for p, u in sorted(usage.items())},
        "restarts": {p: len(u.pids) - 1 for p, u in sorted(usage.items()) if len(u.pids) > 1},
        "redis": {
            "prefix_bytes": prefix_bytes,
            "prefix_keys": prefix_keys,
            "prefix_bytes_growth": prefix_bytes - run.prefix_before,
            "bytes_per_mention": round((prefix_bytes - run.prefix_before) / max(len(ids), 1)),
            "bytes_by_key_kind": by_kind,
            "info_used_memory_delta": used_memory(handle) - run.memory_before,
        },
        **redis_counts.redis_report(trips, commands, len(ids), len(ledger.replied), handle.private_redis),
        "sandbox": {
            k: stats[k]
            for k in (
                "mentions_created",
                "replies_posted",
                "tweets_with_multiple_bot_replies",
                "rate_limited_responses",
                "server_errors_served",
                "posts_refused_by_reason",
            )
        },
    }
    if ledger.problems():
        say("  problems:\n    " + ledger.describe_problems().replace("\n", "\n    "))
    return result, ledger


def cpu_ms_per_mention(usage: dict[str, Any], mentions: int) -> dict[str, float]:
    """CPU milliseconds per injected mention of each program, of the consumers together and
    of the whole stack."""
    per = {p: 1000 * u.cpu_s / max(mentions, 1) for p, u in sorted(usage.items())}
    figures = {p: round(ms, 2) for p, ms in per.items()}
    figures["consumers"] = round(sum(ms for p, ms in per.items() if p.startswith("consumer")), 2)
    figures["total"] = round(sum(per.values()), 2)
    return figures


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
