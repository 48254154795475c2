"""Shared fixtures. Integration tests use the real Kafka and Redis that
scripts/services.py runs, with their own key prefix and topic names, and clean up."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from roastbot.kafka_wiring import delete_topics, ensure_topics
from roastbot.keys import RedisKeys
from roastbot.redis_conn import connect_redis
from roastbot.settings import SANDBOX_X_CREDENTIALS, Settings

HOME = Path(__file__).resolve().parent.parent
# A stack a developer runs from this checkout (`make up` writes var/run/stack.env) must not
# configure the tests; tests that play an operator beside a stack point at its file themselves.
os.environ["ROASTBOT_STACK_ENV"] = os.devnull


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """How ``make test`` splits the suite over its pytest-xdist workers: tests/chaos runs
    whole on one worker, one test after another (each loads the machine on its own and judges
    recovery by deadlines); every other file goes whole to a free worker, so a module-scoped
    stack (the console in Chromium) starts once. (``--dist loadgroup`` would say this with
    markers, but xdist 3.8 cannot rename node ids under pytest 9.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ChaosApart(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            for whole in ("tests/chaos", "tests/cluster"):  # tests/cluster: one private cluster
                if module.startswith(whole + "/"):
                    return whole
            return module

    return ChaosApart(config, log)


@pytest.fixture(scope="session")
def infrastructure() -> None:
    """Kafka and Redis are up (idempotent: starts nothing when they already run)."""
    subprocess.run([sys.executable, str(HOME / "scripts" / "services.py"), "up"], check=True, cwd=HOME)


def make_test_settings(**overrides: object) -> Settings:
    tag = uuid.uuid4().hex[:10]
    values: dict[str, object] = {
        "redis_key_prefix": f"test-{tag}",
        "kafka_topic_mentions": f"test-{tag}-mentions",
        "kafka_topic_dlq": f"test-{tag}-dlq",
        "kafka_consumer_group": f"test-{tag}-group",
        "kafka_partitions": 3,
        "roaster": "offline",
        "poll_interval_s": 0.5,
        **SANDBOX_X_CREDENTIALS,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def drop_prefix(client: redis.Redis, keys: RedisKeys) -> None:
    """Delete every key of one bot (SCAN walks every primary of a cluster)."""
    for key in client.scan_iter(match=keys.every_key, count=1000):
        client.delete(key)


@pytest.fixture
def settings(infrastructure: None) -> Iterator[Settings]:
    """Settings with a private key prefix and private topics, removed afterwards."""
    current = make_test_settings()
    ensure_topics(current)
    yield current
    drop_prefix(connect_redis(current), RedisKeys.of(current))
    delete_topics(current, [current.kafka_topic_mentions, current.kafka_topic_dlq])


@pytest.fixture
def redis_client(settings: Settings) -> redis.Redis:
    return connect_redis(settings)
