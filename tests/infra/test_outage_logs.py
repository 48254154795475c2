"""An outage is one line when it starts and one when it ends, with a count, not a line (or a
traceback) per retry: the producer while its Redis is down, a consumer while its Kafka is down.
Private Kafka and Redis on free ports (scripts/services.py), never the shared ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from roastbot.kafka_wiring import ensure_topics, make_producer
from roastbot.keys import RedisKeys
from roastbot.settings import Settings
from sandbox.x_api.app import create_app
from sandbox.x_api.config import SandboxConfig
from scripts import services
from tests.conftest import drop_prefix, make_test_settings
from tests.helpers import ServerThread, free_port, settings_env, wait_for

HOME = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.integration
OUTAGE_S = 12.0  # how long the service stays away (the scenario, not a wait for anything)


@pytest.fixture
def private(tmp_path: Path) -> Iterator[services.Config]:
    ports = {free_port() for _ in range(3)}
    while len(ports) < 3:
        ports.add(free_port())
    kafka_port, controller_port, redis_port = sorted(ports)
    cfg = services.Config.from_env(
        {
            **os.environ,
            "ROASTBOT_VAR_DIR": str(tmp_path / "services"),
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka_port}",
            "KAFKA_CONTROLLER_PORT": str(controller_port),
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        }
    )
    try:
        yield cfg
    finally:
        services.down("all", cfg)


@pytest.fixture
def x_sandbox() -> Iterator[ServerThread]:
    with ServerThread(create_app(SandboxConfig(seed=3))) as server:
        yield server


def spawn(role: str, settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", f"workers.{role}"],
        cwd=HOME,
        env=settings_env(settings),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def log_lines(log: Path) -> list[str]:
    return log.read_text(errors="replace").splitlines()


def messages(log: Path, logger: str) -> list[str]:
    found = []
    for line in log_lines(log):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("logger") == logger:
            found.append(entry["msg"])
    return found


def test_the_producer_reports_a_redis_outage_in_two_lines(
    private: services.Config, x_sandbox: ServerThread, tmp_path: Path
) -> None:
    services.up("redis", private)
    settings = make_test_settings(redis_url=private.redis_url, x_api_base_url=x_sandbox.url)
    ensure_topics(settings)
    client = redis.Redis.from_url(private.redis_url, decode_responses=True)
    keys = RedisKeys.of(settings)
    log = tmp_path / "producer.log"
    producer = spawn("producer", settings, log)
    x = httpx.Client(base_url=x_sandbox.url, timeout=10)
    try:
        wait_for(lambda: client.get(keys.since_id), 60, "the producer's first poll")
        services.down("redis", private)
        outage_ends = time.monotonic() + OUTAGE_S
        wait_for(lambda: time.monotonic() > outage_ends, OUTAGE_S + 5, "the outage to last")
        services.up("redis", private)
        mention = x.post("/sandbox/mentions", json={"text": "after the outage"}).json()["ids"][0]
        wait_for(lambda: client.zscore(keys.seen_mentions, mention) is not None, 60, "a poll after it")
    finally:
        stop(producer)
        delete_topics(settings)
    about_redis = [m for m in messages(log, "roastbot.producer") if "Redis" in m or "redis" in m]
    assert len(about_redis) == 2, about_redis
    assert about_redis[0].startswith(
        f"Redis (REDIS_URL=redis://default:***@127.0.0.1:{private.redis_port}/0) failing"
    )
    assert " works again after " in about_redis[1] and " failures; last: " in about_redis[1]
    assert not any("Traceback" in line for line in log_lines(log))


def test_a_consumer_reports_a_kafka_outage_in_few_lines(
    private: services.Config, x_sandbox: ServerThread, tmp_path: Path
) -> None:
    services.up("kafka", private)
    settings = make_test_settings(
        kafka_bootstrap_servers=private.bootstrap_servers, x_api_base_url=x_sandbox.url
    )
    ensure_topics(settings)
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    keys = RedisKeys.of(settings)
    log = tmp_path / "consumer.log"
    consumer = spawn("consumer", settings, log)

    def consumed() -> int:
        return int(client.hget(keys.counters, "dead_lettered") or 0)

    try:
        wait_for(
            lambda: any(
                client.hget(keys.heartbeat(w), "partitions") for w in client.zrange(keys.workers, 0, -1)
            ),
            60,
            "partitions",
        )
        services.down("kafka", private)
        outage_ends = time.monotonic() + OUTAGE_S
        wait_for(lambda: time.monotonic() > outage_ends, OUTAGE_S + 5, "the outage to last")
        services.up("kafka", private)
        kafka = make_producer(settings)
        kafka.produce(settings.kafka_topic_mentions, key=b"k", value=b"null")  # dead-lettered when read
        assert kafka.flush(60) == 0
        wait_for(lambda: consumed() >= 1, 90, "the consumer to read again")
    finally:
        stop(consumer)
        drop_prefix(client, RedisKeys.of(settings))
    lines = log_lines(log)
    raw = [line for line in lines if line.startswith("%")]  # librdkafka writing to stderr itself
    collapsed = messages(log, "roastbot.librdkafka")
    assert raw == []
    # The outage, its end (with the count), and at most one short after-shock while the restarted
    # broker loads its coordinators ("Coordinator load in progress"), said once.
    assert 2 <= len(collapsed) <= 4, collapsed
    assert " answers again after " in collapsed[1] and " failures; last: " in collapsed[1]
    assert collapsed[0].startswith(
        f"Kafka client (KAFKA_BOOTSTRAP_SERVERS={private.bootstrap_servers}) failing"
    )
    assert len(lines) < 30, f"{len(lines)} lines for one outage"


def delete_topics(settings: Settings) -> None:
    from roastbot.kafka_wiring import delete_topics as delete

    delete(settings, [settings.kafka_topic_mentions, settings.kafka_topic_dlq])
