"""The producer: poll X for mentions, publish them to Kafka, never lose one.

since_id moves only after Kafka acknowledged every message of a batch, so a crash at
any point means the batch is fetched and published again; consumers deduplicate by
mention id. A Redis lease makes one producer the leader per bot account.

X serves only the newest 800 mentions, counted when each page is asked for. While the
producer pages back, new mentions push the oldest unread ones out of reach. So (1) a
poll that found a full page or more is followed by the next one at once, keeping the
unread backlog short, and (2) every poll asks from one below since_id: the mention at
since_id comes back as a sentinel, and a batch without it was cut off by X's reach.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import redis
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from roastbot.control import Control
from roastbot.kafka_wiring import ensure_topics, librdkafka_log, make_producer
from roastbot.keys import RedisKeys
from roastbot.local_redis import redacted_url
from roastbot.logs import OutageLog
from roastbot.models import Mention
from roastbot.outcomes import ExternalError, Permanent, RateLimited, Transient
from roastbot.quota import QuotaBook
from roastbot.redis_conn import RedisClient
from roastbot.retry import full_jitter
from roastbot.settings import Settings
from roastbot.since_id import SinceId
from roastbot.spend import SpendLedger
from roastbot.telemetry import Telemetry
from roastbot.x_gateway import PAGE_MAX, FetchedMention, XGateway
from roastbot.x_mentions import SkippedMention

log = logging.getLogger(__name__)

SEEN_WINDOW_S = 6 * 3600
MENTIONS_REACHABLE = 800  # X's mentions timeline reaches back this far, no further
NO_MENTION_YET = "1"  # since_id before the bot's first mention
SEEN_CAP = 200_000

_RENEW_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
_RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass
class _Batch:
    """Mentions collected across pages; survives a rate-limit pause between pages."""

    since_id: str | None
    mentions: dict[str, FetchedMention] = field(default_factory=dict)
    skipped_ids: set[str] = field(default_factory=set)  # unusable tweets: since_id moves past them
    sentinel_seen: bool = False
    next_token: str | None = None
    complete: bool = False
    pages: int = 0  # the walk's length and duration: X's reach moves on while it lasts
    started: float = field(default_factory=time.monotonic)


class MentionProducer:
    def __init__(
        self,
        settings: Settings,
        client: RedisClient,
        gateway: XGateway,
        telemetry: Telemetry,
        kafka_producer: Producer | None = None,
    ) -> None:
        self.settings = settings
        self.redis = client
        self.keys = RedisKeys.of(settings)
        self.gateway = gateway
        self.telemetry = telemetry
        self.control = Control(client, self.keys)
        self.quota = QuotaBook(client, self.keys)
        self.spend = SpendLedger(client, self.keys, settings)
        self.kafka = kafka_producer or make_producer(settings)
        self.stop_event = threading.Event()
        self.since = SinceId(settings, client, self.keys)
        self._renew = client.register_script(_RENEW_LEASE)
        self._release = client.register_script(_RELEASE_LEASE)
        self._batch: _Batch | None = None
        self._failures = 0
        self._behind = False  # the last poll filled a page: poll again without waiting
        self.is_leader = False
        self.last_error = ""
        self.redis_outage = OutageLog(log, f"Redis (REDIS_URL={redacted_url(settings.redis_url)})")

    # --- lease ---------------------------------------------------------------------
    @property
    def lease_ms(self) -> int:
        lease_s = self.settings.producer_lease_s or max(2.0, 1.5 * self.poll_interval_s())
        return int(lease_s * 1000)

    def hold_lease(self) -> bool:
        """Acquire or renew leadership; False when another producer leads."""
        worker = self.telemetry.worker_id
        if self.is_leader and self._renew(keys=[self.keys.producer_lease], args=[worker, self.lease_ms]):
            return True
        self.is_leader = bool(self.redis.set(self.keys.producer_lease, worker, nx=True, px=self.lease_ms))
        if self.is_leader:
            log.info("took the producer lease")
        return self.is_leader

    def release_lease(self) -> None:
        if self.is_leader:
            self._release(keys=[self.keys.producer_lease], args=[self.telemetry.worker_id])
            self.is_leader = False

    # --- the loop ------------------------------------------------------------------
    def poll_interval_s(self) -> float:
        override = self.control.switches().poll_interval_s
        # Slower, never stopped, while the day's budget is spent: mentions still arrive in time.
        return self.spend.poll_interval_s(override if override else self.settings.poll_interval_s)

    def run(self) -> None:
        ensure_topics(self.settings)
        log.info("producer started")
        try:
            while not self.stop_event.is_set():
                self._step()
        finally:
            self.kafka.flush(10)
            self._safely(self.release_lease)
            self._safely(self.telemetry.clear_heartbeat)
            log.info("producer stopped")

    def _step(self) -> None:
        try:
            leader = self.hold_lease()
            self.redis_outage.recovered()  # the lease answered: Redis is back
            if not leader:
                self._beat("standby")
                self.stop_event.wait(min(self.poll_interval_s() / 2, self.lease_ms / 3000))
                return
            blocked = self.quota.blocked_until("mentions")
            if blocked:
                # Known to be refused: wait for the reset instead of asking (no error).
                self._wait_until(blocked)
                return
            self._beat("polling")
            self.poll_once()
            self._failures = 0
            self.last_error = ""  # shown on the console until a poll succeeds
            if not self._behind:
                self._wait_for_next_poll(self.poll_interval_s())
        except RateLimited as error:
            self._report("rate_limited", error)
            self._wait_until(error.reset_at)
        except (Transient, Permanent) as error:
            self._report("transient" if isinstance(error, Transient) else "permanent", error)
            self._backoff()
        except redis.RedisError as error:
            # One line when Redis goes away and one when it is back, not one per attempt.
            self.last_error = f"redis: {error}"
            self.redis_outage.failed(str(error))
            self._safely(lambda: self.telemetry.count("producer_error:redis"))
            self._backoff()
        except (KafkaPublishError, KafkaException) as error:
            # Kafka read errors come from since_id recovery (e.g. a partition without a leader).
            self._report("kafka", error)
            self._backoff()

    def _report(self, kind: str, error: Exception) -> None:
        self.last_error = f"{kind}: {error}"
        log.warning("poll failed (%s): %s", kind, error)
        self._safely(lambda: self.telemetry.count(f"producer_error:{kind}"))

    def _backoff(self) -> None:
        """Exponential backoff with full jitter, capped at the poll interval or 60 s."""
        self._failures += 1
        cap = min(60.0, max(1.0, self.poll_interval_s()) * 2)
        self.stop_event.wait(full_jitter(self._failures, cap))

    def _wait_until(self, reset_at: float) -> None:
        """Sleep until a quota reset, renewing the lease and staying stoppable."""
        while not self.stop_event.is_set() and time.time() < reset_at:
            self._safely(self.hold_lease)
            self._safely(lambda: self._beat("waiting_for_quota"))
            self.stop_event.wait(min(reset_at - time.time(), self.lease_ms / 3000))

    def _wait_for_next_poll(self, interval_s: float) -> None:
        """Block on the fetch-now command with the interval as timeout (no sleeping)."""
        deadline = time.time() + interval_s
        while not self.stop_event.is_set():
            remaining = deadline - time.time()
            if remaining <= 0:
                return
            if self.control.wait_for_fetch_now(min(remaining, self.lease_ms / 3000, 1.0)):
                log.info("fetch-now command received")
                return
            if not self.hold_lease():
                return
            self._beat("idle")

    def _beat(self, status: str) -> None:
        quota = self.quota.snapshot("mentions")
        self.telemetry.heartbeat(
            self.settings.heartbeat_ttl_s,
            status=status,
            leader=int(self.is_leader),
            since_id=self.redis.get(self.keys.since_id) or "",
            quota_remaining="" if quota.remaining is None else quota.remaining,
            last_error=self.last_error,
        )

    def _safely(self, action: object) -> None:
        """Bookkeeping that must not stop the loop: its failures are reported, never raised."""
        try:
            action()  # type: ignore[operator]
        except redis.RedisError as error:
            self.redis_outage.failed(str(error))
        except ExternalError as error:
            log.warning("ignored error during bookkeeping: %s", error)

    # --- one poll ------------------------------------------------------------------
    def poll_once(self) -> int:
        """Fetch every mention newer than since_id and publish them; returns the count published."""
        blocked = self.quota.blocked_until("mentions")
        if blocked:
            raise RateLimited("mentions quota spent", blocked)
        self.telemetry.count("polls")
        since_id = self.since.get() or self._recover_since_id()
        if since_id is None:
            return self._first_start()
        batch = self._batch if self._batch and self._batch.since_id == since_id else _Batch(since_id)
        self._batch = batch
        if not batch.complete:
            self._collect(batch)
            batch.complete = True
            self._behind = len(batch.mentions) >= PAGE_MAX  # a full page: probably more to come
            expected_sentinel = since_id != NO_MENTION_YET
            if len(batch.mentions) >= MENTIONS_REACHABLE or (expected_sentinel and not batch.sentinel_seen):
                self._report_gap(since_id, batch)
        published = self._publish(list(batch.mentions.values()))
        newest = max([*batch.mentions, *batch.skipped_ids], key=int, default=None)
        if newest is not None:
            self.since.advance(newest)
        self._batch = None
        return published

    def _collect(self, batch: _Batch, limit: int | None = None) -> None:
        """Page through everything newer than since_id; resumable after a refusal."""
        # One below since_id, so that the mention at since_id itself comes back last.
        query_since = batch.since_id
        if batch.since_id and batch.since_id != NO_MENTION_YET:
            query_since = str(int(batch.since_id) - 1)
        while True:
            page = self.gateway.mentions_page(query_since, batch.next_token)
            batch.pages += 1
            for fetched in page.mentions:
                if fetched.mention.id == batch.since_id:
                    batch.sentinel_seen = True
                else:
                    batch.mentions[fetched.mention.id] = fetched
            for skipped in page.skipped:
                if skipped.mention_id == batch.since_id:
                    batch.sentinel_seen = True
                    continue
                self._report_unusable(skipped)
                if skipped.mention_id is not None:
                    batch.skipped_ids.add(skipped.mention_id)
            batch.next_token = page.next_token
            self.hold_lease()
            if not page.next_token or (limit is not None and len(batch.mentions) >= limit):
                return

    def _report_unusable(self, skipped: SkippedMention) -> None:
        """One tweet of X's answer cannot become a message: say which and why, and go on."""
        log.warning(
            "mention %s skipped: X's answer for it cannot become a message (%s)",
            skipped.mention_id or "(no usable id)",
            skipped.reason,
            extra={"mention_id": skipped.mention_id},
        )
        self.telemetry.count("producer_skipped:unusable")

    def _recover_since_id(self) -> str | None:
        recovered = self.since.recover_from_kafka()
        if recovered is not None:
            log.warning("since_id was missing in Redis; recovered %s from Kafka", recovered)
            self.telemetry.count("since_id_recovered")
        return recovered

    def _report_gap(self, since_id: str, batch: _Batch) -> None:
        """The walk back stopped before since_id: X's reach hid what lay between."""
        oldest = min(batch.mentions, key=int, default="none")
        log.error(
            "mentions between %s and %s may be lost: X serves only the newest %d and they were out of "
            "reach after a walk of %d pages in %.2f s (or mention %s was deleted); poll more often "
            "(POLL_INTERVAL_S), and if the walk was slow, X or this machine answered slowly",
            since_id,
            oldest,
            MENTIONS_REACHABLE,
            batch.pages,
            time.monotonic() - batch.started,
            since_id,
        )
        self.telemetry.count("producer_error:possible_gap")

    def _first_start(self) -> int:
        """No since_id anywhere: publish the latest N (backfill) or start from now."""
        wanted = self.settings.backfill_on_first_start
        batch = _Batch(None)
        if wanted:
            self._collect(batch, limit=wanted)
        else:
            page = self.gateway.mentions_page(None, max_results=5)
            batch.mentions = {f.mention.id: f for f in page.mentions}
            batch.skipped_ids = {s.mention_id for s in page.skipped if s.mention_id is not None}
        newest_first = sorted(batch.mentions.values(), key=lambda f: int(f.mention.id), reverse=True)
        published = self._publish(newest_first[:wanted]) if wanted else 0
        newest = max([*batch.mentions, *batch.skipped_ids], key=int, default=NO_MENTION_YET)
        self.since.advance(newest)
        log.info("first start: since_id=%s, backfilled %d", newest, published)
        return published

    def _publish(self, fetched: list[FetchedMention]) -> int:
        """Publish oldest first; returns once Kafka acknowledged all, raises otherwise."""
        bot_id = self.gateway.bot_user().id
        fetched = sorted(fetched, key=lambda f: int(f.mention.id))
        if fetched:
            self.telemetry.count("mentions_seen", len(fetched))
        wanted = []
        for item in fetched:
            if item.mention.author_id == bot_id:
                self.telemetry.count("producer_skipped:own_tweet")
            elif item.is_retweet:
                self.telemetry.count("producer_skipped:retweet")
            else:
                wanted.append(item.mention)
        if not wanted:
            return 0
        seen = self.redis.zmscore(self.keys.seen_mentions, [m.id for m in wanted])
        fresh = [m for m, score in zip(wanted, seen, strict=True) if score is None]
        if len(fresh) < len(wanted):
            self.telemetry.count("producer_skipped:seen", len(wanted) - len(fresh))
        failures: list[str] = []

        def on_delivery(error: KafkaError | None, _message: Message) -> None:
            if error is not None:
                failures.append(str(error))

        for mention in fresh:
            self._produce(mention, on_delivery)
        remaining = self.kafka.flush(30)
        if remaining or failures:
            raise KafkaPublishError(f"{remaining} unacknowledged, {len(failures)} failed: {failures[:1]}")
        librdkafka_log(self.settings.kafka_bootstrap_servers).answered()
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        if fresh:
            pipe.zadd(self.keys.seen_mentions, {m.id: now for m in fresh})
        pipe.zremrangebyscore(self.keys.seen_mentions, 0, now - SEEN_WINDOW_S)
        pipe.zremrangebyrank(self.keys.seen_mentions, 0, -SEEN_CAP - 1)
        pipe.execute()
        if fresh:
            self.telemetry.count("published", len(fresh))
        return len(fresh)

    def _produce(self, mention: Mention, on_delivery: object) -> None:
        while True:
            try:
                self.kafka.produce(
                    self.settings.kafka_topic_mentions,
                    key=mention.conversation_id.encode(),
                    value=mention.to_bytes(),
                    on_delivery=on_delivery,
                )
                self.kafka.poll(0)
                return
            except BufferError:
                self.kafka.poll(0.5)  # local queue full: let deliveries drain


class KafkaPublishError(Exception):
    """Kafka did not acknowledge every message of a batch."""
