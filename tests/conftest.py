"""Shared fixtures. Integration tests use the real Kafka and Redis that
scripts/services.py runs, with their own key prefix and topic names, and clean up."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from roastbot.kafka_wiring import delete_topics, ensure_topics
from roastbot.redis_conn import connect_redis
from roastbot.settings import SANDBOX_X_CREDENTIALS, Settings

HOME = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Groups for pytest-xdist's ``--dist loadgroup`` (``make test`` runs two workers).

    The chaos runs go to one worker, one after another: each one loads the machine on its
    own and judges recovery by deadlines. Every other file stays whole on one worker, so a
    module-scoped stack (the console in Chromium) starts once.
    """
    for item in items:
        group = "chaos" if item.get_closest_marker("chaos") else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


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


def drop_prefix(client: redis.Redis, prefix: str) -> None:
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(key)


@pytest.fixture
def settings(infrastructure: None) -> Iterator[Settings]:
    """Settings with a private key prefix and private topics, removed afterwards."""
    current = make_test_settings()
    ensure_topics(current)
    yield current
    drop_prefix(connect_redis(current), current.redis_key_prefix)
    delete_topics(current, [current.kafka_topic_mentions, current.kafka_topic_dlq])


@pytest.fixture
def redis_client(settings: Settings) -> redis.Redis:
    return connect_redis(settings)
