"""Chaos fixtures: a seed to replay random moments, and a private Kafka or Redis to restart.

The dev Kafka (9092) and Redis (6379) are shared by everyone: a test that restarts a
broker or Redis gets its own, on free ports under the test's temporary directory, through
scripts/services.py (as tests/infra/test_services.py does).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.ports import free_port
from scripts import services


@pytest.fixture
def chaos_seed() -> int:
    """CHAOS_SEED replays a run's random choices; by default each run draws a new one."""
    seed = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1_000_000))
    print(f"CHAOS_SEED={seed}")
    return seed


def _private_config(tmp_path: Path) -> services.Config:
    kafka_port, controller_port, redis_port = free_port(), free_port(), free_port()
    return services.Config.from_env(
        {
            **os.environ,
            "ROASTBOT_VAR_DIR": str(tmp_path / "services"),
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka_port}",
            "KAFKA_CONTROLLER_PORT": str(controller_port),
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        }
    )


@pytest.fixture
def private_kafka(tmp_path: Path, infrastructure: None) -> Iterator[services.Config]:
    """A single-node Kafka of this test's own, stopped (and its data removed) afterwards."""
    cfg = _private_config(tmp_path)
    try:
        services.up("kafka", cfg)
        yield cfg
    finally:
        services.down("kafka", cfg)


@pytest.fixture
def private_redis(tmp_path: Path, infrastructure: None) -> Iterator[services.Config]:
    """A redis-server of this test's own (AOF on, as in production), stopped afterwards."""
    cfg = _private_config(tmp_path)
    try:
        services.up("redis", cfg)
        yield cfg
    finally:
        services.down("redis", cfg)
