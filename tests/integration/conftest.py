"""Fixtures for tests that talk HTTP to an in-process X sandbox and use real Kafka and Redis."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka import TopicPartition

from roastbot.kafka_wiring import make_reader
from roastbot.keys import RedisKeys
from roastbot.models import Mention
from roastbot.quota import QuotaBook
from roastbot.redis_conn import connect_redis
from roastbot.settings import Settings
from roastbot.x_gateway import XGateway
from sandbox.x_api.app import create_app
from sandbox.x_api.config import SandboxConfig
from tests.helpers import ServerThread, settings_env

HOME = Path(__file__).resolve().parents[2]


@pytest.fixture
def x_sandbox() -> Iterator[ServerThread]:
    with ServerThread(create_app(SandboxConfig(seed=7))) as server:
        yield server


@pytest.fixture
def x(x_sandbox: ServerThread) -> Iterator[httpx.Client]:
    """A client for the sandbox's control API."""
    with httpx.Client(base_url=x_sandbox.url, timeout=30) as client:
        yield client


@pytest.fixture
def sandbox_settings(settings: Settings, x_sandbox: ServerThread) -> Settings:
    return settings.model_copy(update={"x_api_base_url": x_sandbox.url})


@pytest.fixture
def gateway(sandbox_settings: Settings) -> XGateway:
    client = connect_redis(sandbox_settings)
    return XGateway(sandbox_settings, QuotaBook(client, RedisKeys.of(sandbox_settings)))


def read_topic(
    settings: Settings, topic: str | None = None, timeout_s: float = 10
) -> list[tuple[int, bytes, Mention | None]]:
    """Every message of a topic as (partition, key, mention), in partition order."""
    topic = topic or settings.kafka_topic_mentions
    reader = make_reader(settings)
    try:
        metadata = reader.list_topics(topic, timeout=timeout_s).topics[topic]
        found = []
        for partition in sorted(metadata.partitions):
            low, high = reader.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout_s)
            if high <= low:
                continue
            reader.assign([TopicPartition(topic, partition, low)])
            remaining = high - low
            while remaining > 0:
                batch = reader.consume(num_messages=min(remaining, 500), timeout=timeout_s)
                if not batch:
                    raise AssertionError(f"could not read partition {partition} to its end")
                for message in batch:
                    if message.error() is None:
                        try:
                            mention = Mention.from_bytes(message.value())
                        except ValueError:
                            mention = None
                        found.append((partition, message.key(), mention))
                remaining -= len(batch)
        return found
    finally:
        reader.close()


@pytest.fixture
def spawn_worker(sandbox_settings: Settings) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `python -m workers.<role>` as a real process with the test's settings."""
    processes: list[subprocess.Popen[bytes]] = []

    def spawn(role: str, log_path: Path, **env: str) -> subprocess.Popen[bytes]:
        log = log_path.open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", f"workers.{role}"],
            cwd=HOME,
            env=settings_env(sandbox_settings, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        return process

    yield spawn
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


@pytest.fixture
def llm_fake() -> Iterator[ServerThread]:
    from sandbox.llm_fake.app import create_app as create_llm_app
    from sandbox.llm_fake.config import FakeConfig

    with ServerThread(create_llm_app(FakeConfig(seed=11))) as server:
        yield server


@pytest.fixture
def llm(llm_fake: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=llm_fake.url, timeout=30) as client:
        yield client


@pytest.fixture
def together_settings(sandbox_settings: Settings, llm_fake: ServerThread) -> Settings:
    from pydantic import SecretStr

    return sandbox_settings.model_copy(
        update={
            "roaster": "together",
            "together_api_key": SecretStr("sandbox-together-key"),
            "together_base_url": llm_fake.url,
            "llm_timeout_s": 2.0,
        }
    )
