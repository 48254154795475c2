"""Redis connections from settings (redis://, rediss:// and unix:// URLs), and the count of
round trips this process made to Redis (the bench divides it by mentions)."""

from __future__ import annotations

import threading
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from roastbot.settings import Settings


class _RoundTrips:
    """Every request written to a socket: one command, one pipeline or one script call each
    (a pipeline is packed into one write and its answers read back in one go)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.count += 1


ROUND_TRIPS = _RoundTrips()
_COUNTING: dict[type, type] = {}


def _counting(connection_class: type) -> type:
    """``connection_class`` whose every send counts as one round trip."""
    if connection_class not in _COUNTING:

        def send_packed_command(self: Any, command: Any, check_health: bool = True) -> None:
            ROUND_TRIPS.add()
            connection_class.send_packed_command(self, command, check_health)

        _COUNTING[connection_class] = type(
            f"Counting{connection_class.__name__}",
            (connection_class,),
            {"send_packed_command": send_packed_command},
        )
    return _COUNTING[connection_class]


def redis_round_trips() -> int:
    """Round trips to Redis made by this process's clients so far."""
    return ROUND_TRIPS.count


def connect_redis(settings: Settings) -> redis.Redis:
    """A client that retries a dropped connection a few times before raising."""
    client = redis.Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_timeout=5.0,
        socket_connect_timeout=3.0,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), 3),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )
    pool = client.connection_pool
    pool.connection_class = _counting(pool.connection_class)
    return client
