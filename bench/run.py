"""Roastbot under load: the whole stack in sandbox mode, driven through the sandbox's control API.

    .venv/bin/python bench/run.py [--scenario NAME ...] [--quick] [--use-running [VAR_DIR]]

Each scenario starts an isolated stack (scripts/stack.py on free ports, a private Redis
key prefix and private topics on the dev Kafka and Redis), injects mentions, waits until
every one has a final state, and measures:

- outcomes per mention from the sandbox (its replies) next to the Redis state hashes:
  replied, skipped, dead-lettered, lost (no final state, no reply), duplicated (two or more
  bot replies);
- throughput in steady state: completions between the 10th and 90th percentile finish times;
- mention-to-reply latency per mention, from the sandbox's created_at of the mention and of
  the bot's reply (X's millisecond timestamps);
- CPU seconds per 1,000 mentions and peak RSS of each supervisord program (psutil);
- Redis memory: MEMORY USAGE summed over the stack's key prefix (exact), and the change of
  INFO used_memory (the dev Redis is shared, so that one is noisy).

It prints a table and one JSON object per scenario, and writes bench/results/<scenario>.json.
Scenarios:

  burst        10,000 mentions (quick: 2,000) injected at 500/s: at POLL_INTERVAL_S=0.5 each
               poll finds ~250, well inside X's 800-most-recent reach; 2 consumers, offline roaster.
  llm-bound    2,000 mentions (quick: 500) at once through the together SDK against the LLM fake
               at 1,000 ms latency; one consumer process, then three; 6 partitions,
               CONSUMER_CONCURRENCY=32.
  quota-bound  450 mentions (quick: 250) at once on the Basic tier (100 posts per 24 h per user)
               with time scaled x2880 (a 24 h window lasts 30 s; quick: x4320, 20 s).
  trickle      5 mentions/s for 300 s (quick: 60 s) after 20 s (quick: 10 s) of idling.

--use-running drives the stack `make up` started (ports from var/run/supervisor.env) instead:
the stack's own settings stay (consumers, roaster, tier), so only the load differs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HOME = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HOME))

from bench import ledger as ledgers  # noqa: E402
from bench.load import Injection, Injector  # noqa: E402
from bench.sampling import ProcessSampler, Timeline  # noqa: E402
from bench.stacks import StackHandle, isolated_stack, running_stack  # noqa: E402

RESULTS = HOME / "bench" / "results"
STALL_S = 90.0  # no mention reached a final state for this long: stop waiting, report the rest as lost


# --------------------------------------------------------------------------- measuring


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
    prefix = handle.settings.redis_key_prefix
    keys = list(client.scan_iter(match=f"{prefix}:*", count=2000))
    by_kind: dict[str, int] = {}
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        pipe = client.pipeline(transaction=False)
        for key in chunk:
            pipe.memory_usage(key, samples=0)
        for key, size in zip(chunk, pipe.execute(), strict=True):
            kind = key[len(prefix) + 1 :].split(":", 1)[0]
            by_kind[kind] = by_kind.get(kind, 0) + (size or 0)
    return sum(by_kind.values()), len(keys), dict(sorted(by_kind.items()))


def used_memory(handle: StackHandle) -> int:
    return int(handle.redis().info("memory")["used_memory"])


def program_pids(handle: StackHandle) -> Callable[[], dict[str, int]]:
    def read() -> dict[str, int]:
        return {str(p["name"]).split(":")[-1]: int(p["pid"]) for p in handle.programs()}  # type: ignore[arg-type]

    return read


def wait_until_final(
    handle: StackHandle, ids: list[str], deadline_s: float, say: Callable[[str], None]
) -> bool:
    """Until every mention has a final state, the deadline passes, or nothing moves for STALL_S."""
    client, keys = handle.redis(), handle.keys
    started = last_change = time.monotonic()
    last_done, last_report = -1, 0.0
    while True:
        done = ledgers.count_final(client, keys, ids)
        now = time.monotonic()
        if done != last_done:
            last_done, last_change = done, now
        if now - last_report >= 10:
            say(f"  {done}/{len(ids)} final after {now - started:.0f}s")
            last_report = now
        if done >= len(ids):
            return True
        if now - started > deadline_s or now - last_change > STALL_S:
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
    injection: Injection | None = None
    finished: float = 0.0
    all_final: bool = False


@contextmanager
def measured(handle: StackHandle) -> Iterator[Run]:
    sampler = ProcessSampler(program_pids(handle)).start()
    run = Run(handle, sampler, used_memory(handle), prefix_memory(handle)[0])
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
    prefix_bytes, prefix_keys, by_kind = prefix_memory(handle)
    with handle.x() as x:
        stats = x.get("/sandbox/stats").json()
    per_thousand = 1000 / len(ids) if ids else 0.0
    elapsed = max(run.finished - run.started, 1e-9)
    result: dict[str, Any] = {
        "scenario": name,
        "parameters": parameters,
        "machine": {"nproc": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)},
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


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# --------------------------------------------------------------------------- scenarios


@dataclass
class Bench:
    quick: bool
    use_running: Path | None
    seed: int
    say: Callable[[str], None] = print

    @contextmanager
    def stack(self, consumers: int, **env: str) -> Iterator[StackHandle]:
        if self.use_running is not None:
            yield running_stack(self.use_running)
            return
        self.say(f"  starting an isolated stack: {consumers} consumer(s) {env or ''}")
        with isolated_stack(consumers, quiet=True, **env) as handle:
            yield handle

    def injector(self, handle: StackHandle, tag: str) -> Injector:
        return Injector(handle.config.x_sandbox_url, seed=self.seed, run_tag=tag)

    def load_and_measure(
        self,
        handle: StackHandle,
        name: str,
        parameters: dict[str, Any],
        count: int,
        rate: float | None,
        deadline_s: float,
    ) -> tuple[dict[str, Any], ledgers.Ledger]:
        injector = self.injector(handle, f"{name[:4]}{self.seed % 100}")
        with measured(handle) as run:
            run.injection = injector.inject(count, rate)
            self.say(
                f"  injected {len(run.injection.ids)} in {run.injection.duration_s:.1f}s "
                f"({run.injection.rate_per_s:.0f}/s)"
            )
            run.all_final = wait_until_final(handle, run.injection.ids, deadline_s, self.say)
            run.finished = time.time()
        injector.close()
        return summarize(run, name, parameters, self.say)

    # -- 1 ------------------------------------------------------------------------------
    def burst(self) -> list[dict[str, Any]]:
        count, rate = (2_000, 500.0) if self.quick else (10_000, 500.0)
        parameters = {
            "mentions": count,
            "injection_rate_per_s": rate,
            "poll_interval_s": 0.5,
            "consumers": 2,
            "consumer_concurrency": 32,
            "partitions": 6,
            "roaster": "offline",
        }
        with self.stack(2) as handle:
            result, _ = self.load_and_measure(handle, "burst", parameters, count, rate, deadline_s=900)
        return [result]

    # -- 2 ------------------------------------------------------------------------------
    def llm_bound(self) -> list[dict[str, Any]]:
        count = 500 if self.quick else 2_000
        results = []
        for consumers in (1, 3):
            parameters = {
                "mentions": count,
                "injection_rate_per_s": 500.0,
                "llm_latency_ms": 1000,
                "consumers": consumers,
                "consumer_concurrency": 32,
                "partitions": 6,
                "roaster": "together (LLM fake)",
            }
            with self.stack(consumers, ROASTER="together") as handle, handle.llm() as llm:
                faults = llm.post("/sandbox/faults", json={"latency_ms": 1000}).json()
                assert faults["latency_ms"] == 1000, faults
                try:
                    result, _ = self.load_and_measure(
                        handle, f"llm-bound-{consumers}", parameters, count, 500.0, deadline_s=900
                    )
                finally:
                    llm.post("/sandbox/reset")
                roasts = result["throughput_mentions_per_s"] or 0.0
                result["roasts_per_s_per_consumer"] = round(roasts / consumers, 1)
                result["target"] = "> 20 roasts/s for one consumer process" if consumers == 1 else None
                results.append(result)
        return results

    # -- 3 ------------------------------------------------------------------------------
    def quota_bound(self) -> list[dict[str, Any]]:
        count, scale = (250, 4320.0) if self.quick else (450, 2880.0)
        window_s = 24 * 3600 / scale
        parameters = {
            "mentions": count,
            "tier": "basic",
            "time_scale": scale,
            "post_window_s": window_s,
            "posts_per_window": 100,
            "consumers": 2,
            "roaster": "offline",
        }
        with self.stack(2) as handle, handle.x() as x:
            before = x.get("/sandbox/limits").json()
            x.post("/sandbox/limits", json={"tier": "basic", "time_scale": scale}).raise_for_status()
            client, keys = handle.redis(), handle.keys
            refusals = Timeline(
                lambda: (
                    x.get("/sandbox/stats").json()["rate_limited_responses"],
                    int(client.hget(keys.counters, "failed:x_rate_limited") or 0),
                ),
                every_s=1.0,
            ).start()
            try:
                result, ledger = self.load_and_measure(
                    handle, "quota-bound", parameters, count, None, deadline_s=window_s * (count / 100 + 4)
                )
            finally:
                refusals.stop()
                if not handle.isolated:
                    x.post(
                        "/sandbox/limits", json={"tier": before["tier"], "time_scale": before["time_scale"]}
                    )
            result["quota"] = quota_report(ledger.reply_times(), refusals, window_s)
        return [result]

    # -- 4 ------------------------------------------------------------------------------
    def trickle(self) -> list[dict[str, Any]]:
        rate, duration_s, idle_s = (5.0, 60.0, 10.0) if self.quick else (5.0, 300.0, 20.0)
        count = int(rate * duration_s)
        parameters = {
            "rate_per_s": rate,
            "duration_s": duration_s,
            "mentions": count,
            "idle_baseline_s": idle_s,
            "poll_interval_s": 0.5,
            "consumers": 2,
            "roaster": "offline",
        }
        with self.stack(2) as handle:
            idle = ProcessSampler(program_pids(handle)).start()
            time.sleep(idle_s)  # the measurement itself: an idle stack for idle_s
            idle.stop()
            result, _ = self.load_and_measure(
                handle, "trickle", parameters, count, rate, deadline_s=duration_s + 300
            )
            result["idle_cpu_percent_of_a_core"] = {
                p: round(100 * u.cpu_s / idle_s, 2) for p, u in sorted(idle.usage().items())
            }
        return [result]


def quota_report(times: list[float], refusals: Timeline, window_s: float) -> dict[str, Any]:
    """Posting windows as the sandbox opened them (on the first post after the last one
    expired), the share of each full window used, and 429s after the first window."""
    windows: list[list[float]] = []
    for moment in times:
        if not windows or moment >= windows[-1][0] + window_s:
            windows.append([moment])
        else:
            windows[-1].append(moment)
    full = windows[:-1]  # the last window drains what is left, so it is not full by design
    used = sum(len(w) for w in full)
    first_end = windows[0][0] + window_s if windows else None
    at_first_end = refusals.value_at(first_end) if first_end else None
    final = refusals.points[-1][1] if refusals.points else (0, 0)
    gaps = [later[0] - (earlier[0] + window_s) for earlier, later in itertools.pairwise(windows)]
    return {
        "windows": len(windows),
        "posts_per_window": [len(w) for w in windows],
        "share_used_in_full_windows": round(used / (100 * len(full)), 3) if full else None,
        "mean_gap_between_windows_s": round(sum(gaps) / len(gaps), 2) if gaps else None,
        "x_429s_total": final[0],  # type: ignore[index]
        "x_429s_after_first_window": (final[0] - at_first_end[0]) if at_first_end else None,  # type: ignore[index]
        "post_429s_seen_by_consumers": final[1],  # type: ignore[index]
    }


SCENARIOS = {
    "burst": Bench.burst,
    "llm-bound": Bench.llm_bound,
    "quota-bound": Bench.quota_bound,
    "trickle": Bench.trickle,
}


# --------------------------------------------------------------------------- report


def table(results: list[dict[str, Any]]) -> str:
    head = (
        f"{'scenario':<14}{'injected':>9}{'replied':>8}{'skipped':>8}{'DLQ':>5}{'lost':>5}{'dup':>4}"
        f"{'thr/s':>7}{'p50 s':>8}{'p95 s':>8}{'p99 s':>8}{'cons CPU s/1k':>14}{'prod CPU s/1k':>14}"
        f"{'peak RSS MB':>12}{'Redis B/m':>10}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        finals = r["final_states"]
        skipped = sum(v for k, v in finals.items() if k.startswith("skipped"))
        dead = sum(v for k, v in finals.items() if k.startswith("dead_lettered"))
        cpu = r["cpu_s_per_1000_mentions"]
        consumers_cpu = sum(v for k, v in cpu.items() if k.startswith("consumer"))
        rss = max(
            (v for k, v in r["peak_rss_mb"].items() if k.startswith(("consumer", "producer"))), default=0
        )
        latency = r["latency_s"]
        lines.append(
            f"{r['scenario']:<14}{r['injected']:>9}{r['replies_posted']:>8}{skipped:>8}{dead:>5}{r['lost']:>5}"
            f"{r['duplicated']:>4}{_cell(r['throughput_mentions_per_s']):>7}{_cell(latency['p50']):>8}"
            f"{_cell(latency['p95']):>8}{_cell(latency['p99']):>8}{consumers_cpu:>14.1f}"
            f"{cpu.get('producer', 0):>14.1f}{rss:>12.0f}{r['redis']['bytes_per_mention']:>10}"
        )
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}" if value < 10 else f"{value:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="run only this one")
    parser.add_argument(
        "--quick", action="store_true", help="shorter variants (fewer mentions, shorter runs)"
    )
    parser.add_argument(
        "--use-running",
        nargs="?",
        const=HOME / "var",
        type=Path,
        metavar="VAR_DIR",
        help="drive the already running stack (default var dir: var/)",
    )
    parser.add_argument("--seed", type=int, default=20261102, help="mention texts and authors")
    args = parser.parse_args(argv)
    bench = Bench(quick=args.quick, use_running=args.use_running, seed=args.seed)
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    for name in args.scenario or list(SCENARIOS):
        print(f"== {name}{' (quick)' if args.quick else ''}", flush=True)
        scenario_results = SCENARIOS[name](bench)
        (RESULTS / f"{name}.json").write_text(json.dumps(scenario_results, indent=2) + "\n")
        results.extend(scenario_results)
        for result in scenario_results:
            print(json.dumps(result), flush=True)
    print()
    print(table(results))
    print(f"(nproc {os.cpu_count()}; JSON in {RESULTS.relative_to(HOME)}/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
