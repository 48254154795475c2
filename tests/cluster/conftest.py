"""Cluster tests: the store, its Lua scripts and pipelines on a Redis Cluster of their own.

A session's private cluster (3 primaries + 3 replicas, scripts/local_services/redis_cluster.py)
under the session's temporary directory, on ROASTBOT_TEST_CLUSTER_PORT .. +5 (default
7120-7125, bus +50; the dev cluster of ``services.py up --cluster`` is on 7100), made at the
first test that asks for it and stopped after the last. ``settings`` here point at it with
REDIS_CLUSTER=true, so integration tests imported into this package run again on the cluster
(tests/conftest.py keeps tests/cluster on one xdist worker: one cluster at a time).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from roastbot.kafka_wiring import delete_topics, ensure_topics
from roastbot.keys import RedisKeys
from roastbot.redis_conn import connect_redis
from roastbot.settings import Settings
from scripts import services
from scripts.local_services.redis_cluster import RedisCluster
from tests.conftest import drop_prefix, make_test_settings

# The console's and integration package's fixtures, for the tests imported from them.
from tests.console.conftest import console, redis_down_url, server_address, supervisor  # noqa: F401
from tests.integration.conftest import (  # noqa: F401
    gateway,
    llm,
    llm_fake,
    sandbox_settings,
    spawn_worker,
    together_settings,
    x,
    x_sandbox,
)

TEST_CLUSTER_PORT = int(os.environ.get("ROASTBOT_TEST_CLUSTER_PORT") or 7120)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.path)).is_relative_to(here):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    cfg = services.Config.from_env(
        {
            **os.environ,
            "ROASTBOT_VAR_DIR": str(tmp_path_factory.mktemp("redis-cluster")),
            "REDIS_CLUSTER_PORT": str(TEST_CLUSTER_PORT),
        }
    )
    cluster = RedisCluster(cfg)
    try:
        cluster.up()
        yield cluster
    finally:
        cluster.down()


@pytest.fixture
def settings(infrastructure: None, redis_cluster: RedisCluster) -> Iterator[Settings]:
    """Test settings (private prefix and topics) on the cluster."""
    current = make_test_settings(redis_url=redis_cluster.url, redis_cluster=True)
    ensure_topics(current)
    yield current
    drop_prefix(connect_redis(current), RedisKeys.of(current))
    delete_topics(current, [current.kafka_topic_mentions, current.kafka_topic_dlq])


@pytest.fixture(autouse=True)
def no_slot_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Code that logs a Redis error and goes on (author memory, the claim keeper...) would hide
    a CROSSSLOT: any such line fails the test."""
    caplog.set_level(logging.WARNING)
    yield
    slot_errors = [
        r.getMessage()
        for r in caplog.records
        if "CROSSSLOT" in r.getMessage() or "same slot" in r.getMessage()
    ]
    assert not slot_errors, slot_errors
