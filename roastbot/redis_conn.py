"""Redis connections from settings (redis://, rediss:// and unix:// URLs)."""

from __future__ import annotations

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from roastbot.settings import Settings


def connect_redis(settings: Settings) -> redis.Redis:
    """A client that retries a dropped connection a few times before raising."""
    return redis.Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_timeout=5.0,
        socket_connect_timeout=3.0,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), 3),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )
