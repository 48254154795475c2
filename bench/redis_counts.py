"""Redis round trips per mention: counted by the consumers themselves, and split by command
from ``INFO commandstats``.

Each consumer counts the requests its clients write to Redis (one command, one pipeline or
one EVALSHA each: ``roastbot.redis_conn``) and reports the total in its heartbeat; the
bench takes the change over the run, per worker id (a restarted worker counts from zero).
``INFO commandstats`` counts commands server-wide (a pipeline of three is three, a script is
its EVALSHA plus the commands it runs, listed apart under ``scripted``); on the shared Redis
it includes everyone else's, so ``--private-redis`` runs the stack on a redis-server of its
own for that split.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

from roastbot.keys import RedisKeys
from roastbot.redis_conn import RedisClient, primaries_info

HEARTBEAT_EVERY_S = 2.0  # roastbot.consumer.HEARTBEAT_EVERY_S: the last count is at most this old


def consumer_round_trips(client: RedisClient, keys: RedisKeys) -> dict[str, int]:
    """Round trips so far per live consumer (worker id -> count), from their heartbeats."""
    counts: dict[str, int] = {}
    for worker in client.zrange(keys.workers, 0, -1):
        beat = client.hgetall(keys.heartbeat(worker))
        if beat.get("role") == "consumer" and beat.get("redis_round_trips"):
            counts[worker] = int(beat["redis_round_trips"])
    return counts


def round_trip_delta(before: dict[str, int], after: dict[str, int]) -> int:
    return sum(count - before.get(worker, 0) for worker, count in after.items())


def command_stats(client: RedisClient) -> dict[str, int]:
    """Calls per command since the server started (``scripted`` ones under their own key),
    summed over the primaries of a cluster."""
    calls: dict[str, int] = {}
    for stats in primaries_info(client, "commandstats").values():
        for name, value in stats.items():
            command = name.removeprefix("cmdstat_")
            calls[command] = calls.get(command, 0) + int(value["calls"])
    return calls


def command_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    changed = {name: calls - before.get(name, 0) for name, calls in after.items()}
    return dict(sorted(((n, c) for n, c in changed.items() if c), key=lambda item: -item[1]))


def per_mention(counts: dict[str, int], mentions: int) -> dict[str, float]:
    return {name: round(calls / max(mentions, 1), 2) for name, calls in counts.items()}


@contextmanager
def private_redis(port: int) -> Iterator[str]:
    """A throwaway redis-server on 127.0.0.1:``port`` (no persistence), stopped afterwards."""
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("--private-redis needs redis-server on PATH")
    directory = tempfile.mkdtemp(prefix="roastbot-bench-redis-")
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            directory,
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def redis_report(
    trips: int, commands: dict[str, int], mentions: int, posted: int, private: bool
) -> dict[str, Any]:
    """The figures the bench JSON carries (per injected mention, and per posted one)."""
    return {
        "redis_round_trips_per_mention": round(trips / max(mentions, 1), 2),
        "redis_round_trips_per_posted_mention": round(trips / max(posted, 1), 2),
        "redis_round_trips_counted_by": "the consumers' clients (one per command, pipeline or script call)",
        "redis_commands_per_mention": per_mention(commands, mentions),
        "redis_commands_scope": (
            "private Redis (a cluster's primaries summed): every client of the stack (consumers, "
            "producer, bench polling)"
            if private
            else "shared Redis: server-wide, includes other users' commands"
        ),
    }
