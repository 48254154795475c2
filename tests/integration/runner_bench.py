"""The runner alone over real Redis and HTTP (X sandbox, LLM fake), without a Kafka consumer:
each test hands it a mention as the consumer would, in the test's thread, and reads the
outcome at once. For behaviour of a mention's life; tests of the consumer loop (offsets,
read-ahead, rebalances, restarts) use tests/integration/pipeline.py."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from roastbot.approvals import Decision
from roastbot.control import Control
from roastbot.kafka_wiring import make_producer
from roastbot.keys import RedisKeys
from roastbot.models import Mention
from roastbot.quota import QuotaBook
from roastbot.redis_conn import connect_redis
from roastbot.roasting import Roaster, roaster_from_settings
from roastbot.runner import MentionRunner, build_runner
from roastbot.settings import Settings
from roastbot.spend import SpendLedger
from roastbot.telemetry import Telemetry
from roastbot.x_gateway import XGateway
from tests.integration.pipeline import Pipeline


@dataclass(frozen=True)
class Delivered:
    """A message of the mentions topic as the consumer hands it over (what the runner reads)."""

    where: tuple[str, int, int]
    raw_key: bytes | None
    raw_value: bytes

    def topic(self) -> str:
        return self.where[0]

    def partition(self) -> int:
        return self.where[1]

    def offset(self) -> int:
        return self.where[2]

    def key(self) -> bytes | None:
        return self.raw_key

    def value(self) -> bytes:
        return self.raw_value


class RunnerBench(Pipeline):
    def __init__(self, settings: Settings, x: httpx.Client, runner: MentionRunner) -> None:
        keys = RedisKeys.of(settings)
        super().__init__(settings, x, keys, Control(runner.store.client, keys))
        self.runner = runner
        self._offsets = itertools.count()

    def fetched(self, mention_id: str) -> Mention:
        """The mention as the producer fetches it from X."""
        page = self.runner.gateway.mentions_page(None)
        return next(f.mention for f in page.mentions if f.mention.id == mention_id)

    def deliver(self, mention_id: str, **changes: object) -> dict[str, str]:
        """Run one delivery of the mention (with ``changes`` to its fields); its state after."""
        self.runner.run_message(self.delivered(self.fetched(mention_id).model_copy(update=changes)))  # type: ignore[arg-type]
        return self.state(mention_id)

    def delivered(self, mention: Mention) -> Delivered:
        """The mention as the next message of the topic."""
        where = (self.settings.kafka_topic_mentions, 0, next(self._offsets))
        return Delivered(where, mention.conversation_id.encode(), mention.to_bytes())

    def park(self, text: str) -> str:
        """A new mention, roasted and parked for an operator (approval mode on)."""
        self.control.set_switch("approval_mode", True)
        mention_id = self.mention(text)
        assert self.deliver(mention_id)["state"] == "pending_approval"
        return mention_id

    def decide(self, mention_id: str, decision: Decision, text: str = "") -> dict[str, str]:
        """An operator's decision through the stream, applied as a consumer applies it."""
        approvals = self.runner.store.approvals
        assert approvals.decide(mention_id, decision, text, actor="op")
        [taken] = approvals.next_decisions(block_s=0.1, idle_s=60)
        self.runner.run_decision(taken)
        approvals.done(taken)
        return self.state(mention_id)


@contextmanager
def runner_bench(
    settings: Settings, x: httpx.Client, roaster: Roaster | None = None, spend: SpendLedger | None = None
) -> Iterator[RunnerBench]:
    client = connect_redis(settings)
    keys = RedisKeys.of(settings)
    telemetry = Telemetry(client, keys, "consumer", worker_id=f"consumer-test-{uuid.uuid4().hex[:6]}")
    stop = threading.Event()
    runner = build_runner(
        settings,
        telemetry=telemetry,
        gateway=XGateway(settings, QuotaBook(client, keys), spend=spend),
        roaster=roaster or roaster_from_settings(settings),
        kafka_producer=make_producer(settings),
        stop_event=stop,
    )
    runner.store.approvals.join()
    try:
        yield RunnerBench(settings, x, runner)
    finally:
        stop.set()
