"""The benchmark scenarios: each starts a stack (or drives a running one), loads it, measures."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import ledger as ledgers
from bench.load import Injector
from bench.measure import measured, program_pids, summarize, wait_until_final
from bench.sampling import ProcessSampler, Timeline
from bench.stacks import StackHandle, isolated_stack, running_stack


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
