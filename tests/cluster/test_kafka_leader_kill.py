"""The broker leading most `mentions` partitions SIGKILLed under 2,000 mentions on a 3-node
Kafka (replication 3, min.insync.replicas 2) and restarted: leaders move, every mention is
replied exactly once, the lag comes back to 0, and no partition stays under-replicated."""

from __future__ import annotations

import os
import random
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import PartitionMetadata

from bench.stacks import isolated_stack
from roastbot.kafka_wiring import consumer_lag, make_admin, under_replicated
from roastbot.settings import Settings
from scripts import services
from scripts.local_services.kafka_cluster import KafkaCluster
from scripts.local_services.processes import read_pid
from tests.chaos.conftest import chaos_seed  # noqa: F401  (a fixture)
from tests.chaos.support import CHAOS_MENTIONS, BackgroundLoad, audit, wait_all_final, wait_until_recovered
from tests.helpers import wait_for

pytestmark = [pytest.mark.chaos, pytest.mark.cluster_ci]

TEST_KAFKA_CLUSTER_PORT = int(os.environ.get("ROASTBOT_TEST_KAFKA_CLUSTER_PORT") or 19120)


@pytest.fixture
def kafka_cluster(tmp_path: Path) -> Iterator[KafkaCluster]:
    cfg = services.Config.from_env(
        {
            **os.environ,
            "ROASTBOT_VAR_DIR": str(tmp_path / "kafka"),
            "KAFKA_CLUSTER_PORT": str(TEST_KAFKA_CLUSTER_PORT),
        }
    )
    cluster = KafkaCluster(cfg)
    try:
        cluster.up()
        yield cluster
    finally:
        cluster.down()


def test_the_leader_broker_killed_under_load_loses_and_repeats_nothing(
    tmp_path: Path,
    chaos_seed: int,  # noqa: F811
    kafka_cluster: KafkaCluster,
) -> None:
    rng = random.Random(chaos_seed)
    with isolated_stack(
        2,
        var_root=tmp_path,
        quiet=True,
        kafka_bootstrap=kafka_cluster.bootstrap_servers,
        KAFKA_REPLICATION_FACTOR="3",
        KAFKA_MIN_INSYNC_REPLICAS="2",
    ) as stack:
        settings = stack.settings
        client = stack.redis()
        load = BackgroundLoad(stack, CHAOS_MENTIONS, rate_per_s=40, seed=chaos_seed).start()
        threshold = rng.randrange(50, CHAOS_MENTIONS // 4)
        wait_for(
            lambda: int(client.hget(stack.keys.counters, "posted") or 0) >= threshold,
            180,
            f"{threshold} replies posted",
        )
        partitions = _partitions(settings)
        assert {len(p.replicas) for p in partitions} == {3}
        leaders = Counter(p.leader for p in partitions)
        victim = next(node for node in kafka_cluster.nodes if node.node_id == leaders.most_common(1)[0][0])
        pid = read_pid(victim.pid_file)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_for(
            lambda: victim.node_id not in {p.leader for p in _partitions(settings)},
            60,
            "the leaders moved to the surviving brokers",
        )
        victim.up()  # back, it catches up from the new leaders
        ids = load.wait()
        wait_all_final(stack, ids, timeout_s=300)
        wait_until_recovered(stack)
        audit(stack, ids)
        wait_for(lambda: sum(p.lag for p in consumer_lag(settings)) == 0, 60, "the consumer lag back to 0")
        wait_for(
            lambda: not under_replicated(settings, make_admin(settings).list_topics(timeout=10).topics),
            120,
            "every partition fully replicated again",
        )


def _partitions(settings: Settings) -> list[PartitionMetadata]:
    topic = settings.kafka_topic_mentions
    return list(make_admin(settings).list_topics(topic, timeout=10).topics[topic].partitions.values())
