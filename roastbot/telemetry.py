"""Counters, latency histogram, heartbeats and recent roasts, written to Redis.

Totals live in one hash; per-minute buckets expire after 25 h, so the console can chart
any window up to a day and memory stays bounded. A Prometheus registry mirrors the
counters for scraping.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from roastbot.keys import MINUTE_BUCKET_TTL_S, RECENT_ROASTS_CAP, RedisKeys
from roastbot.redis_conn import RedisClient

# Mention-to-reply latency buckets (seconds), shared by Redis and Prometheus.
LATENCY_BUCKETS_S = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 900, 3600, 6 * 3600, 24 * 3600)


WORKER_MEMORY_S = 24 * 3600  # a dead worker stays listed (as stopped) this long


def epoch_minute(now: float | None = None) -> int:
    return int((now if now is not None else time.time()) // 60)


def latency_bucket(seconds: float) -> str:
    for bound in LATENCY_BUCKETS_S:
        if seconds <= bound:
            return str(bound)
    return "inf"


def make_worker_id(role: str) -> str:
    return f"{role}-{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class Bookkeeping:
    """Counters, a latency and a recent-roast record that go with one move of a mention: the
    transition script writes them in the same round trip, and only if the move is written."""

    counts: tuple[str, ...] = ()
    latency_s: float | None = None
    roast: Mapping[str, object] | None = None

    def __bool__(self) -> bool:
        return bool(self.counts or self.latency_s is not None or self.roast is not None)

    def keys(self, keys: RedisKeys, now: float | None = None) -> list[str]:
        """KEYS[5..8] of the transition script."""
        minute = epoch_minute(now)
        return [keys.counters, keys.minute_counters(minute), keys.minute_latency(minute), keys.recent_roasts]

    def encoded(self) -> str:
        if not self:
            return ""
        return json.dumps(
            {
                "count": list(self.counts),
                "latency": latency_bucket(self.latency_s) if self.latency_s is not None else "",
                "roast": json.dumps(self.roast, default=str) if self.roast is not None else "",
                "ttl": MINUTE_BUCKET_TTL_S,
                "cap": RECENT_ROASTS_CAP,
            }
        )


class Telemetry:
    """What one worker reports about itself."""

    def __init__(self, client: RedisClient, keys: RedisKeys, role: str, worker_id: str | None = None) -> None:
        self.client = client
        self.keys = keys
        self.role = role
        self.worker_id = worker_id or make_worker_id(role)
        self.started_at = time.time()
        self.registry = CollectorRegistry()
        self._events = Counter(
            "roastbot_events", "Events counted by the worker", ["event"], registry=self.registry
        )
        self._latency = Histogram(
            "roastbot_mention_to_reply_seconds",
            "Time from a mention's creation to our reply",
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )

    def count(self, event: str, amount: int = 1) -> None:
        """Add to a total and to this minute's bucket."""
        self._events.labels(event=event).inc(amount)
        minute_key = self.keys.minute_counters(epoch_minute())
        pipe = self.client.pipeline(transaction=False)
        pipe.hincrby(self.keys.counters, event, amount)
        pipe.hincrby(minute_key, event, amount)
        pipe.expire(minute_key, MINUTE_BUCKET_TTL_S)
        pipe.execute()

    def mirror(self, book: Bookkeeping) -> None:
        """The Prometheus side of bookkeeping the transition script wrote to Redis."""
        for event in book.counts:
            self._events.labels(event=event).inc()
        if book.latency_s is not None:
            self._latency.observe(book.latency_s)

    def observe_latency(self, seconds: float) -> None:
        self._latency.observe(seconds)
        key = self.keys.minute_latency(epoch_minute())
        pipe = self.client.pipeline(transaction=False)
        pipe.hincrby(key, latency_bucket(seconds), 1)
        pipe.expire(key, MINUTE_BUCKET_TTL_S)
        pipe.execute()

    def record_roast(self, record: Mapping[str, object]) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.lpush(self.keys.recent_roasts, json.dumps(record, default=str))
        pipe.ltrim(self.keys.recent_roasts, 0, RECENT_ROASTS_CAP - 1)
        pipe.execute()

    def heartbeat(self, ttl_s: float, **status: object) -> None:
        """Liveness: the hash expires unless renewed, so a dead worker shows as stale."""
        now = time.time()
        fields = {
            "role": self.role,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": self.started_at,
            "last_beat": now,
            **{
                name: json.dumps(value) if isinstance(value, dict | list) else value
                for name, value in status.items()
            },
        }
        key = self.keys.heartbeat(self.worker_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(key, mapping={k: str(v) for k, v in fields.items()})
        pipe.expire(key, max(1, int(ttl_s)))
        pipe.zadd(self.keys.workers, {self.worker_id: now})
        pipe.zremrangebyscore(self.keys.workers, 0, now - WORKER_MEMORY_S)  # long-gone workers
        pipe.execute()

    def clear_heartbeat(self) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.delete(self.keys.heartbeat(self.worker_id))
        pipe.zrem(self.keys.workers, self.worker_id)
        pipe.execute()


def held_partitions(client: RedisClient, keys: RedisKeys) -> set[int]:
    """The partitions the live consumers say they hold (their heartbeats' ``partitions``)."""
    held: set[int] = set()
    for worker in client.zrange(keys.workers, 0, -1):
        beat = client.hgetall(keys.heartbeat(worker))
        if beat.get("role") == "consumer" and beat.get("partitions"):
            held |= {int(p) for p in beat["partitions"].split(",")}
    return held
