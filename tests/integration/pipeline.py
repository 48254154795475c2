"""An in-process pipeline for consumer tests: real Kafka, Redis and HTTP (X sandbox, LLM fake);
producer and consumer loops run in threads of the test process."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from roastbot.consumer import MentionConsumer
from roastbot.control import Control
from roastbot.handling import MentionHandler
from roastbot.kafka_wiring import make_producer
from roastbot.keys import RedisKeys
from roastbot.producer import MentionProducer
from roastbot.quota import QuotaBook
from roastbot.redis_conn import connect_redis
from roastbot.roasting import roaster_from_settings
from roastbot.settings import Settings
from roastbot.telemetry import Telemetry
from roastbot.x_gateway import XGateway
from tests.helpers import wait_for


@dataclass
class Pipeline:
    settings: Settings
    x: httpx.Client
    keys: RedisKeys
    control: Control

    def state(self, mention_id: str) -> dict[str, str]:
        return self.control.client.hgetall(self.keys.mention_state(mention_id))

    def final_state(self, mention_id: str, timeout_s: float = 30) -> dict[str, str]:
        return wait_for(
            lambda: (
                (s := self.state(mention_id)).get("state") in {"posted", "skipped", "dead_lettered"} and s
            ),
            timeout_s,
            f"a final state for {mention_id}",
        )

    def replies(self, mention_id: str) -> list[dict[str, object]]:
        return [
            r for r in self.x.get(f"/sandbox/tweets/{mention_id}/replies").json()["replies"] if r["by_bot"]
        ]

    def mention(self, text: str, **body: object) -> str:
        return self.x.post("/sandbox/mentions", json={"text": text, **body}).json()["ids"][0]

    def counter(self, name: str) -> int:
        return int(self.control.client.hget(self.keys.counters, name) or 0)

    def consumer_beat(self) -> dict[str, str]:
        """The heartbeat of the pipeline's consumer ({} before its first beat)."""
        client = self.control.client
        for worker in client.zrange(self.keys.workers, 0, -1):
            if worker.startswith("consumer"):
                return client.hgetall(self.keys.heartbeat(worker))
        return {}

    def pause_consumer(self) -> None:
        """The operator's pause, once the consumer has reported in and said it is paused."""
        wait_for(self.consumer_beat, 10, "the consumer's heartbeat")
        self.control.set_switch("paused", True)
        wait_for(lambda: self.consumer_beat().get("status") == "paused", 10, "the consumer to report paused")


def _worker(role: str) -> str:
    return f"{role}-test-{uuid.uuid4().hex[:6]}"


@contextmanager
def consumer_thread(settings: Settings) -> Iterator[MentionConsumer]:
    client = connect_redis(settings)
    keys = RedisKeys(settings.redis_key_prefix)
    telemetry = Telemetry(client, keys, "consumer", worker_id=_worker("consumer"))
    stop = threading.Event()
    kafka_producer = make_producer(settings)
    roaster = roaster_from_settings(settings)
    handler = MentionHandler(
        settings,
        gateway=XGateway(settings, QuotaBook(client, keys)),
        roaster=roaster,
        telemetry=telemetry,
        kafka_producer=kafka_producer,
        stop_event=stop,
    )
    consumer = MentionConsumer(settings, handler, telemetry, kafka_producer, stop)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        yield consumer
    finally:
        stop.set()
        thread.join(timeout=60)
        assert not thread.is_alive(), "consumer did not stop on request"


@contextmanager
def producer_thread(settings: Settings) -> Iterator[MentionProducer]:
    client = connect_redis(settings)
    keys = RedisKeys(settings.redis_key_prefix)
    telemetry = Telemetry(client, keys, "producer", worker_id=_worker("producer"))
    producer = MentionProducer(settings, client, XGateway(settings, QuotaBook(client, keys)), telemetry)
    thread = threading.Thread(target=producer.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: client.get(keys.since_id), 60, "the producer's first poll")
        yield producer
    finally:
        producer.stop_event.set()
        thread.join(timeout=30)
        assert not thread.is_alive(), "producer did not stop on request"


@contextmanager
def pipeline(settings: Settings, x: httpx.Client) -> Iterator[Pipeline]:
    client = connect_redis(settings)
    keys = RedisKeys(settings.redis_key_prefix)
    with producer_thread(settings), consumer_thread(settings):
        yield Pipeline(settings, x, keys, Control(client, keys))
