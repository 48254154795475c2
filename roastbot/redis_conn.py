"""Redis connections from settings (redis://, rediss:// and unix:// URLs), single or Cluster.

With ``REDIS_CLUSTER=true`` the URL names one node of a Redis Cluster and the client is
redis-py's ``RedisCluster``: it learns the slot map from that node, follows MOVED/ASK, and
after a failover (a primary gone, its replica promoted) refreshes the map and retries. The
keys carry one hash tag per bot (``roastbot.keys``), so everything the bot does in one call
(a Lua script, a MULTI, a multi-key command) goes to one node. Pipelines opened with
``transaction=True`` stay MULTI/EXEC on a cluster (legal because their keys share the slot);
``transaction=False`` ones are plain batches in both modes.

It also counts the round trips this process made, to a single Redis or to the nodes of a
Cluster (the bench divides them by mentions).
"""

from __future__ import annotations

import threading
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.cluster import RedisCluster
from redis.connection import Connection, SSLConnection
from redis.exceptions import RedisClusterException
from redis.retry import Retry

from roastbot.settings import Settings

# Either client: the bot's code uses only the commands both answer the same way.
RedisClient = redis.Redis | RedisCluster


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


# A cluster failover takes cluster-node-timeout plus an election (a few seconds): the
# cluster client's retries (each one re-reads the slot map) must outlast it.
CLUSTER_RETRIES = 8


def connect_redis(settings: Settings, fail_fast: bool = False) -> RedisClient:
    """A client that retries a dropped connection a few times before raising; ``fail_fast``
    (the console) answers an outage in seconds instead, so a page can explain it."""
    return connect_redis_url(settings.redis_url, settings.redis_cluster, fail_fast)


def connect_redis_url(url: str, cluster: bool, fail_fast: bool = False) -> RedisClient:
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": 3.0 if fail_fast else 5.0,
        "socket_connect_timeout": 2.0 if fail_fast else 3.0,
    }
    if cluster:
        retries = 1 if fail_fast else CLUSTER_RETRIES
        # RedisCluster retries ConnectionError, TimeoutError and ClusterDownError itself,
        # re-initialising the slot map between attempts.
        # Every node's pool makes counting connections. The URL's scheme would override the
        # class (rediss:// sets SSLConnection), so the class carries TLS and the URL says redis://.
        tls = url.startswith("rediss://")
        if tls:
            url = "redis://" + url.removeprefix("rediss://")
        try:
            client = RedisCluster.from_url(
                url,
                retry=Retry(ExponentialBackoff(cap=2.0, base=0.25), retries),
                connection_class=_counting(SSLConnection if tls else Connection),
                **options,
            )
        except RedisClusterException as error:
            # It reads the slot map at once; callers handle an outage as a RedisError.
            raise redis.ConnectionError(f"Redis Cluster unreachable: {error}") from error
        return client
    if fail_fast:
        single = redis.Redis.from_url(url, **options)
    else:
        single = redis.Redis.from_url(
            url,
            health_check_interval=15,
            retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), 3),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
            **options,
        )
    pool = single.connection_pool
    pool.connection_class = _counting(pool.connection_class)
    return single


def primaries_info(client: RedisClient, section: str) -> dict[str, dict[str, Any]]:
    """INFO ``section`` of every primary (one entry, "redis", on a single Redis)."""
    if isinstance(client, RedisCluster):
        return dict(client.info(section, target_nodes=RedisCluster.PRIMARIES))
    return {"redis": client.info(section)}
