"""An isolated roastbot stack under a real supervisord, for end-to-end tests.

It shares Kafka and Redis with everything else but has its own var dir, ports, key
prefix, topics and consumer group, and removes them afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.stacks import READY_TIMEOUT_S
from roastbot.kafka_wiring import delete_topics
from roastbot.keys import RedisKeys
from roastbot.redis_conn import connect_redis
from roastbot.settings import Settings
from roastbot.telemetry import held_partitions
from scripts import stack
from tests.conftest import drop_prefix, make_test_settings
from tests.helpers import free_port, wait_for

HOME = Path(__file__).resolve().parent.parent


@dataclass
class RunningStack:
    config: stack.StackConfig
    settings: Settings
    env: dict[str, str]

    @property
    def x(self) -> httpx.Client:
        return httpx.Client(base_url=self.config.x_sandbox_url, timeout=10)

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.config.console_port}"

    def program_states(self) -> dict[str, str]:
        return stack.program_states(self.config)


@contextmanager
def running_stack(
    tmp_dir: Path, consumers: int = 2, console: bool = False, var_dir: Path | None = None, **env: str
) -> Iterator[RunningStack]:
    tag = uuid.uuid4().hex[:10]
    settings = make_test_settings(
        redis_key_prefix=f"e2e-{tag}",
        kafka_topic_mentions=f"e2e-{tag}-mentions",
        kafka_topic_dlq=f"e2e-{tag}-dlq",
        kafka_consumer_group=f"e2e-{tag}-group",
    )
    extra = {
        "REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "KAFKA_TOPIC_MENTIONS": settings.kafka_topic_mentions,
        "KAFKA_TOPIC_DLQ": settings.kafka_topic_dlq,
        "KAFKA_CONSUMER_GROUP": settings.kafka_consumer_group,
        "KAFKA_PARTITIONS": "3",
        "POLL_INTERVAL_S": "0.5",
        "PRODUCER_METRICS_PORT": "0",
        "CONSUMER_METRICS_PORT": "0",
        "ROASTER": "offline",
        **env,
    }
    config = stack.StackConfig(
        var_dir=var_dir or tmp_dir / f"var-{tag}",
        supervisor_port=free_port(),
        x_sandbox_port=free_port(),
        llm_fake_port=free_port(),
        console_port=free_port(),
        consumer_processes=consumers,
        console=console,
        extra_env=extra,
    )
    settings = settings.model_copy(update={"x_api_base_url": config.x_sandbox_url})
    try:
        stack.up(config)
        # The producer's first poll starts from "now" (no backfill): mentions made before it
        # are history. Tests create mentions after it.
        keys, client = RedisKeys.of(settings), connect_redis(settings)
        wait_for(lambda: client.exists(keys.since_id), READY_TIMEOUT_S, "the producer's first poll")
        if consumers:
            # A test's own deadlines then time the pipeline, not the consumers' start-up.
            every = set(range(int(extra["KAFKA_PARTITIONS"])))
            wait_for(
                lambda: held_partitions(client, keys) >= every, READY_TIMEOUT_S, "the consumers' partitions"
            )
        yield RunningStack(config, settings, config.environment())
    finally:
        stack.down(config)
        drop_prefix(connect_redis(settings), RedisKeys.of(settings))
        delete_topics(settings, [settings.kafka_topic_mentions, settings.kafka_topic_dlq])
