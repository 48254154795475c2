"""Roastbot under load: the whole stack in sandbox mode, driven through the sandbox's control API.

    .venv/bin/python bench/run.py [--scenario NAME ...] [--quick] [--use-running [VAR_DIR]]
                                  [--private-redis [PORT]] [--clusters]

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
  INFO used_memory (the dev Redis is shared, so that one is noisy);
- ``cpu_ms_per_mention`` per program, for the consumers together and in total, the load
  average at the start and the end, and ``redis_round_trips_per_mention``: the round trips
  the consumers' Redis clients made (one per command, pipeline or script call; counted in the
  consumers, bench/redis_counts.py), with ``redis_commands_per_mention`` from INFO
  commandstats (commands, not round trips; server-wide, so pass ``--private-redis`` to run
  the stack on a redis-server of its own, port 18201 by default; the bench's own polling
  of the state hashes is in it, as HGET).

It prints a table and one JSON object per scenario, and writes bench/results/<scenario>.json.
Scenarios:

  burst        10,000 mentions (quick: 2,000) injected at 300/s: at POLL_INTERVAL_S=0.5 each
               poll finds ~150, well inside X's 800-most-recent reach; 2 consumers, offline
               roaster, CONSUMER_CONCURRENCY unset (8 offline).
  llm-bound    2,000 mentions (quick: 500) at once through the together SDK against the LLM fake
               at 1,000 ms latency; one consumer process, then three; 6 partitions,
               CONSUMER_CONCURRENCY unset (32 with an LLM).
  quota-bound  450 mentions (quick: 250) at once on the Basic tier (100 posts per 24 h per user)
               with time scaled x2880 (a 24 h window lasts 30 s; quick: x4320, 20 s).
  trickle      5 mentions/s for 300 s (quick: 60 s) after 20 s (quick: 10 s) of idling.
  quota-triage one simulated day on the Basic tier, time scaled x720 (a day lasts 120 s, an hour
               5 s; quick: x1440): 1,200 mentions spread over the day and a spike of 800 in one
               hour at noon (quick: 600 and 400); MAX_MENTION_AGE_S a day, MAX_REPLY_DELAY_S an
               hour, the together roaster against the LLM fake. Reports posts, the share of posts
               to mentions under an hour old at post time, LLM calls per post, skipped by reason.

--clusters runs each chosen scenario twice in one go, first on the single nodes (the dev Kafka
and Redis, or --private-redis), then on the local clusters of `scripts/services.py up --cluster`
(bench/clusters.py): Redis Cluster, 3 primaries + 3 replicas on 7100-7105 (REDIS_CLUSTER=true),
and 3 Kafka brokers on 19100-19102, the stack's topics with replication factor 3 and
min.insync.replicas 2. Clusters not running are started after the single-node runs and
stopped at the end (about 1 GB of memory and a minute of start-up). The cluster rows are named
<scenario>-cluster (JSON in bench/results/<scenario>-cluster.json, with the comparison), and a
line per pair gives the cluster/single ratio of the injection rate (a loaded machine's injector
may fall short of its rate, and the throughput then follows it), throughput, p50, p99, the
consumers' CPU ms per mention and their Redis round trips per mention. The exit status is 1 unless every run of both
ended with every mention final, none lost and none replied twice. E.g.

    .venv/bin/python bench/run.py --scenario burst --clusters [--quick]

--use-running drives the stack `make up` started (ports from var/run/supervisor.env) instead:
the stack's own settings stay (consumers, roaster, tier), so only the load differs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

HOME = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HOME))

from bench.clusters import comparison, exactly_once, local_clusters, ratio_line  # noqa: E402
from bench.scenarios import SCENARIOS, Bench  # noqa: E402

RESULTS = HOME / "bench" / "results"


# --------------------------------------------------------------------------- report


def table(results: list[dict[str, Any]]) -> str:
    head = (
        f"{'scenario':<18}{'injected':>9}{'replied':>8}{'skipped':>8}{'DLQ':>5}{'lost':>5}{'dup':>4}"
        f"{'thr/s':>7}{'p50 s':>8}{'p95 s':>8}{'p99 s':>8}{'cons CPU s/1k':>14}{'prod CPU s/1k':>14}"
        f"{'peak RSS MB':>12}{'Redis B/m':>10}{'cons CPU ms/m':>14}{'RT/m':>6}{'load':>6}{'steal%':>7}{'cal ms':>7}"
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
            f"{r['scenario']:<18}{r['injected']:>9}{r['replies_posted']:>8}{skipped:>8}{dead:>5}{r['lost']:>5}"
            f"{r['duplicated']:>4}{_cell(r['throughput_mentions_per_s']):>7}{_cell(latency['p50']):>8}"
            f"{_cell(latency['p95']):>8}{_cell(latency['p99']):>8}{consumers_cpu:>14.1f}"
            f"{cpu.get('producer', 0):>14.1f}{rss:>12.0f}{r['redis']['bytes_per_mention']:>10}"
            f"{r['cpu_ms_per_mention']['consumers']:>14.2f}{r['redis_round_trips_per_mention']:>6.1f}"
            f"{r['machine']['load_avg_1m']:>6.1f}{_cell(r['machine']['cpu_steal_percent']):>7}"
            f"{_cell(r['machine']['calibration_ms']['end']):>7}"
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
    parser.add_argument(
        "--private-redis",
        nargs="?",
        const=18201,
        type=int,
        metavar="PORT",
        help="run each isolated stack on a redis-server of its own (default port 18201), so "
        "INFO commandstats counts only the stack's commands",
    )
    parser.add_argument(
        "--clusters",
        action="store_true",
        help="run each scenario on the single nodes, then on the local clusters (services.py "
        "--cluster ports), and print the cluster/single ratios",
    )
    parser.add_argument("--seed", type=int, default=20261102, help="mention texts and authors")
    args = parser.parse_args(argv)
    if args.clusters and args.use_running is not None:
        parser.error("--clusters starts stacks of its own: it cannot drive a running one")
    bench = Bench(
        quick=args.quick, use_running=args.use_running, seed=args.seed, private_redis_port=args.private_redis
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    names = args.scenario or list(SCENARIOS)
    single = run_scenarios(bench, names, args.quick)
    results = [result for name in names for result in single[name]]
    ratios: list[str] = []
    if args.clusters:
        # After the single-node runs: idle brokers and nodes would take their share of the cores.
        print("== the local clusters", flush=True)
        with local_clusters() as target:
            clustered = run_scenarios(replace(bench, clusters=target), names, args.quick, "-cluster")
        for name in names:
            for one, many in zip(single[name], clustered[name], strict=True):
                many["versus_single"] = comparison(one, many)
                ratios.append(ratio_line(one["scenario"], many["versus_single"]))
            _write(f"{name}-cluster", clustered[name])  # again, with the comparison
            results += clustered[name]
    print()
    print(table(results))
    print(
        f"(nproc {os.cpu_count()}; cons CPU ms/m: all consumers' CPU per mention; RT/m: their Redis "
        f"round trips per mention; load: 1-min load average at the end; steal%: the share of the machine's "
        f"CPU time the hypervisor gave to other guests during the run; cal ms: a fixed pure-Python "
        f"workload's CPU time at the end (bench/measure.py calibration_ms); JSON in {RESULTS.relative_to(HOME)}/)"
    )
    for line in ratios:
        print(line)
    if args.clusters:
        failures = [problem for r in results if (problem := exactly_once(r))]
        print("FAILED: " + "; ".join(failures) if failures else "every run: 0 lost, 0 duplicated")
        return 1 if failures else 0
    return 0


def run_scenarios(
    bench: Bench, names: list[str], quick: bool, suffix: str = ""
) -> dict[str, list[dict[str, Any]]]:
    """Each scenario in turn (its results named with ``suffix``), printed and written as JSON."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        print(f"== {name}{suffix}{' (quick)' if quick else ''}", flush=True)
        runs[name] = SCENARIOS[name](bench)
        for result in runs[name]:
            result["scenario"] += suffix
            result["infrastructure"] = "local clusters" if bench.clusters else "single nodes"
            print(json.dumps(result), flush=True)
        _write(f"{name}{suffix}", runs[name])
    return runs


def _write(name: str, results: list[dict[str, Any]]) -> None:
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
