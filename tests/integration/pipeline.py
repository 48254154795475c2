"""An in-process pipeline for consumer tests: real Kafka, Redis and HTTP (X sandbox, LLM fake);
producer and consumer loops run in threads of the test process, the consumer restarted
in-process after an outage as the worker does."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from roastbot.consumer import MentionConsumer, build_consumer
from roastbot.control import Control
from roastbot.kafka_wiring import make_producer
from roastbot.keys import RedisKeys
from roastbot.lifecycle import FINAL_STATES
from roastbot.producer import MentionProducer
from roastbot.quota import QuotaBook
from roastbot.redis_conn import connect_redis
from roastbot.roasting import Roaster, roaster_from_settings
from roastbot.settings import Settings
from roastbot.spend import SpendLedger
from roastbot.telemetry import Telemetry
from roastbot.worker import run_forever
from roastbot.x_gateway import XGateway
from tests.helpers import wait_for

FINAL = {state.value for state in FINAL_STATES}


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
            lambda: (s := self.state(mention_id)).get("state") in FINAL and s,
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


@dataclass
class ConsumerRun:
    """The consumer worker's loops in a thread: one per (re)start, and its exit code."""

    stop: threading.Event
    loops: list[MentionConsumer] = field(default_factory=list)
    exit_code: int | None = None

    @property
    def current(self) -> MentionConsumer:
        return wait_for(lambda: self.loops and self.loops[-1], 30, "the consumer loop")

    @property
    def last_error(self) -> str:
        return self.loops[-1].last_error if self.loops else ""


@contextmanager
def consumer_thread(
    settings: Settings, roaster: Roaster | None = None, spend: SpendLedger | None = None
) -> Iterator[ConsumerRun]:
    client = connect_redis(settings)
    keys = RedisKeys.of(settings)
    telemetry = Telemetry(client, keys, "consumer", worker_id=_worker("consumer"))
    kafka_producer = make_producer(settings)
    gateway = XGateway(settings, QuotaBook(client, keys), spend=spend)
    run = ConsumerRun(threading.Event())

    def consume() -> None:
        consumer = build_consumer(
            settings,
            telemetry=telemetry,
            gateway=gateway,
            roaster=roaster or roaster_from_settings(settings),
            kafka_producer=kafka_producer,
            process_stop=run.stop,
        )
        run.loops.append(consumer)
        consumer.run()

    def work() -> None:
        run.exit_code = run_forever("consumer", consume, run.stop, settings.worker_max_restarts)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        yield run
    finally:
        run.stop.set()
        thread.join(timeout=60)
        assert not thread.is_alive(), "consumer did not stop on request"


@contextmanager
def producer_thread(settings: Settings, spend: SpendLedger | None = None) -> Iterator[MentionProducer]:
    client = connect_redis(settings)
    keys = RedisKeys.of(settings)
    telemetry = Telemetry(client, keys, "producer", worker_id=_worker("producer"))
    gateway = XGateway(settings, QuotaBook(client, keys), spend=spend)
    producer = MentionProducer(settings, client, gateway, telemetry)
    if spend is not None:
        producer.spend = spend  # one clock for the budget it reads and the one the consumer writes
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
def pipeline(
    settings: Settings, x: httpx.Client, roaster: Roaster | None = None, spend: SpendLedger | None = None
) -> Iterator[Pipeline]:
    """Producer and consumer in threads; ``spend`` prices their calls (as the workers wire it)."""
    client = connect_redis(settings)
    keys = RedisKeys.of(settings)
    with producer_thread(settings, spend), consumer_thread(settings, roaster, spend):
        yield Pipeline(settings, x, keys, Control(client, keys))
