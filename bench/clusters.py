"""The bench on the local clusters (``bench/run.py --clusters``), and its comparison with the single nodes.

The clusters are the ones ``scripts/services.py up --cluster`` runs: Redis Cluster, 3
primaries + 3 replicas on 7100-7105; Kafka, 3 KRaft nodes on 19100-19102, the stack's
topics with replication factor 3 and min.insync.replicas 2. ``local_clusters`` starts the
ones that are not running and stops only those afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from scripts.local_services.config import Config
from scripts.local_services.kafka_cluster import KafkaCluster
from scripts.local_services.redis_cluster import RedisCluster

REPLICATION_FACTOR = 3
MIN_INSYNC_REPLICAS = 2


@dataclass(frozen=True)
class ClusterTarget:
    """Where a stack on the clusters connects."""

    redis_url: str
    kafka_bootstrap: str

    @property
    def kafka_env(self) -> dict[str, str]:
        return {
            "KAFKA_REPLICATION_FACTOR": str(REPLICATION_FACTOR),
            "KAFKA_MIN_INSYNC_REPLICAS": str(MIN_INSYNC_REPLICAS),
        }


@contextmanager
def local_clusters(say: Callable[[str], None] = print) -> Iterator[ClusterTarget]:
    """The local Redis Cluster and Kafka cluster, up for the block (each one started here is
    stopped after it; one already running is left running)."""
    cfg = Config.from_env()
    redis_cluster, kafka_cluster = RedisCluster(cfg), KafkaCluster(cfg)
    started: list[RedisCluster | KafkaCluster] = []
    try:
        for cluster in (redis_cluster, kafka_cluster):
            if cluster.inspect().state == "running":
                say(f"  {cluster.name} already running at {cluster.address}: used, left running")
                continue
            began = time.monotonic()
            started.append(cluster)
            cluster.up()
            say(f"  {cluster.name} started in {time.monotonic() - began:.1f} s (stopped after the runs)")
        yield ClusterTarget(redis_cluster.url, kafka_cluster.bootstrap_servers)
    finally:
        for cluster in reversed(started):
            if not cluster.down():
                say(f"  {cluster.name} did not stop cleanly: see scripts/services.py status --cluster")


# (label, how to read it from a result, unit): cluster/single ratios of these are the report.
# The injection rate comes first: on a loaded machine the injector may not reach its 500/s, and
# the throughput then follows the injector, not the stack.
COMPARED: tuple[tuple[str, Callable[[dict[str, Any]], float | None], str], ...] = (
    ("injected", lambda r: r["injection_rate_per_s"], "/s"),
    ("throughput", lambda r: r["throughput_mentions_per_s"], "/s"),
    ("p50", lambda r: r["latency_s"]["p50"], " s"),
    ("p99", lambda r: r["latency_s"]["p99"], " s"),
    ("cons CPU ms/m", lambda r: r["cpu_ms_per_mention"]["consumers"], ""),
    ("RT/m", lambda r: r["redis_round_trips_per_mention"], ""),
)


def comparison(single: dict[str, Any], cluster: dict[str, Any]) -> dict[str, Any]:
    """Cluster/single ratio of each compared figure (None when one side has no value)."""
    figures: dict[str, Any] = {}
    for label, read, _unit in COMPARED:
        one, many = read(single), read(cluster)
        ratio = round(many / one, 2) if one and many is not None else None
        figures[label] = {"single": one, "cluster": many, "ratio": ratio}
    return figures


def ratio_line(name: str, figures: dict[str, Any]) -> str:
    units = {label: unit for label, _read, unit in COMPARED}
    cells = []
    for label, figure in figures.items():
        ratio = "-" if figure["ratio"] is None else f"{figure['ratio']:.2f}x"
        cells.append(f"{label} {ratio} ({figure['cluster']} vs {figure['single']}{units[label]})")
    return f"{name} cluster/single: " + ", ".join(cells)


def exactly_once(result: dict[str, Any]) -> str | None:
    """What is wrong with a run's outcome (None when every mention ended once, none lost or repeated)."""
    if result["lost"] or result["duplicated"] or not result["all_final"] or result["problems"]:
        return (
            f"{result['scenario']}: lost {result['lost']}, duplicated {result['duplicated']}, "
            f"all final {result['all_final']}, problems {result['problems']}"
        )
    return None
