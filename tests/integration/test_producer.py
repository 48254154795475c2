"""The producer over real Kafka and Redis, with tweepy talking HTTP to the sandbox."""

from __future__ import annotations

import os
import signal
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
import redis

from roastbot.keys import RedisKeys
from roastbot.producer import MentionProducer
from roastbot.quota import QuotaBook
from roastbot.redis_conn import connect_redis
from roastbot.settings import Settings
from roastbot.telemetry import Telemetry
from roastbot.x_gateway import XGateway
from tests.helpers import free_port, wait_for
from tests.integration.conftest import read_topic
from tests.integration.pipeline import producer_thread

pytestmark = pytest.mark.integration


def producer_running(settings: Settings) -> AbstractContextManager[MentionProducer]:
    return producer_thread(settings)


def published_ids(settings: Settings) -> list[str]:
    return [mention.id for _, _, mention in read_topic(settings) if mention is not None]


def create_conversations(
    x: httpx.Client, conversations: int, rounds: int, per_round: int, over_s: float = 0.0
) -> list[str]:
    """Interleaved replies in several conversations, spread evenly over `over_s` seconds
    (load shaping, not synchronisation); returns every mention id."""
    parents = [
        x.post("/sandbox/tweets", json={"text": f"thread {n}"}).json()["id"] for n in range(conversations)
    ]
    ids: list[str] = []
    started = time.monotonic()
    requests = rounds * conversations
    for number in range(requests):
        parent = parents[number % conversations]
        body = {"text": "roast this thread", "in_reply_to_tweet_id": parent, "count": per_round}
        ids += x.post("/sandbox/mentions", json=body).json()["ids"]
        time.sleep(max(0.0, started + over_s * (number + 1) / requests - time.monotonic()))
    return ids


def test_burst_is_published_once_in_order_per_conversation(
    x: httpx.Client, sandbox_settings: Settings
) -> None:
    # 1,000 mentions within 2 s (500/s). X serves only the newest 800 mentions, so a burst
    # must be read while it lands; test_atomic_burst_beyond_x_reach_is_reported covers the rest.
    with producer_running(sandbox_settings):
        created = create_conversations(x, conversations=10, rounds=10, per_round=10, over_s=2.0)
        wait_for(lambda: len(published_ids(sandbox_settings)) >= len(created), 60, "1,000 mentions in Kafka")
    messages = read_topic(sandbox_settings)
    ids = [m.id for _, _, m in messages if m]
    assert len(created) == 1000
    assert sorted(ids, key=int) == sorted(created, key=int), "lost or duplicated mentions"
    by_conversation: dict[str, list[int]] = defaultdict(list)
    for _partition, key, mention in messages:
        assert mention is not None and key == mention.conversation_id.encode()
        by_conversation[mention.conversation_id].append(int(mention.id))
    assert len(by_conversation) == 10
    for order in by_conversation.values():
        assert order == sorted(order), "a conversation's mentions were published out of order"
    counters = connect_redis(sandbox_settings).hgetall(RedisKeys.of(sandbox_settings).counters)
    assert "producer_error:possible_gap" not in counters, "a gap reported where none was"


def test_atomic_burst_beyond_x_reach_is_reported(
    x: httpx.Client, sandbox_settings: Settings, redis_client: redis.Redis
) -> None:
    with producer_running(sandbox_settings) as producer:
        producer.control.set_switch("poll_interval_s", 30)
        x.post("/sandbox/mentions", json={"text": "flood", "count": 900})
        producer.control.request_fetch_now()
        wait_for(lambda: len(published_ids(sandbox_settings)) >= 800, 30, "the reachable 800")
        wait_for(
            lambda: redis_client.hget(producer.keys.counters, "producer_error:possible_gap"),
            10,
            "a gap report",
        )
    assert len(published_ids(sandbox_settings)) == 800


def test_mentions_pushed_out_of_reach_while_paging_are_reported(
    x: httpx.Client, sandbox_settings: Settings, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    # Fewer than 800 in the batch, yet a gap: 200 mentions land after the first page, and
    # the oldest 100 of the 700 fall out of X's reach before the walk gets to them.
    with producer_running(sandbox_settings.model_copy(update={"poll_interval_s": 600})) as producer:
        anchor = x.post("/sandbox/mentions", json={"text": "anchor"}).json()["ids"]
        producer.control.request_fetch_now()
        wait_for(lambda: redis_client.get(producer.keys.since_id) == anchor[0], 10, "since_id at the anchor")
        fetch_page = producer.gateway.mentions_page
        late: list[str] = []

        def page_then_flood(*args: object, **kwargs: object) -> object:
            page = fetch_page(*args, **kwargs)  # type: ignore[arg-type]
            if not late:
                late.extend(x.post("/sandbox/mentions", json={"text": "late", "count": 200}).json()["ids"])
            return page

        producer.gateway.mentions_page = page_then_flood  # type: ignore[method-assign]
        x.post("/sandbox/mentions", json={"text": "early", "count": 700})
        producer.control.request_fetch_now()
        wait_for(
            lambda: redis_client.hget(producer.keys.counters, "producer_error:possible_gap"),
            20,
            "a gap report",
        )
        wait_for(lambda: set(late) <= set(published_ids(sandbox_settings)), 20, "the late 200 published")
    assert len(published_ids(sandbox_settings)) == 1 + 600 + 200
    # The report says how long the walk was: 6 pages of 100 (the late 200 came after page 1).
    gaps = [r.getMessage() for r in caplog.records if "may be lost" in r.getMessage()]
    assert len(gaps) == 1
    assert "after a walk of 6 pages in " in gaps[0]


def test_a_poll_that_filled_a_page_is_followed_at_once(
    x: httpx.Client, sandbox_settings: Settings, redis_client: redis.Redis
) -> None:
    # Behind by a page or more: poll again without waiting the interval, so that the unread
    # backlog stays far from X's 800-mention reach.
    with producer_running(sandbox_settings.model_copy(update={"poll_interval_s": 600})) as producer:
        polls_before = int(redis_client.hget(producer.keys.counters, "polls") or 0)
        created = x.post("/sandbox/mentions", json={"text": "backlog", "count": 150}).json()["ids"]
        producer.control.request_fetch_now()
        wait_for(
            lambda: int(redis_client.hget(producer.keys.counters, "polls") or 0) >= polls_before + 2,
            10,
            "a second poll right after a full page (the interval is 600 s)",
        )
    assert sorted(published_ids(sandbox_settings), key=int) == created
    assert redis_client.hget(producer.keys.counters, "producer_error:possible_gap") is None


def test_one_page_burst_larger_than_a_page_is_not_cut_off(
    x: httpx.Client, sandbox_settings: Settings
) -> None:
    with producer_running(sandbox_settings) as producer:
        producer.control.set_switch("poll_interval_s", 30)  # one poll, on demand only
        created = x.post("/sandbox/mentions", json={"text": "pile", "count": 450}).json()["ids"]
        producer.control.request_fetch_now()
        wait_for(lambda: len(published_ids(sandbox_settings)) >= 450, 30, "450 mentions in Kafka")
    assert sorted(published_ids(sandbox_settings), key=int) == created


def test_own_tweets_and_seen_ids_are_skipped(
    x: httpx.Client, sandbox_settings: Settings, redis_client: redis.Redis
) -> None:
    with producer_running(sandbox_settings) as producer:
        keep = x.post("/sandbox/mentions", json={"text": "first"}).json()["ids"]
        own = x.post(
            "/sandbox/mentions", json={"text": "@roastbot note to self", "author": {"username": "roastbot"}}
        )
        assert own.status_code == 200
        wait_for(
            lambda: redis_client.hget(producer.keys.counters, "producer_skipped:own_tweet"), 20, "own skip"
        )
        assert sorted(published_ids(sandbox_settings)) == keep
        # Operator resets since_id: the seen set keeps the flood out.
        redis_client.set(producer.keys.since_id, "1")
        more = x.post("/sandbox/mentions", json={"text": "second"}).json()["ids"]
        wait_for(
            lambda: sorted(published_ids(sandbox_settings)) == sorted(keep + more), 20, "only the new one"
        )
        assert int(redis_client.hget(producer.keys.counters, "producer_skipped:seen") or 0) >= 1


def test_fetch_now_wakes_the_producer_at_once(x: httpx.Client, sandbox_settings: Settings) -> None:
    with producer_running(sandbox_settings.model_copy(update={"poll_interval_s": 600})) as producer:
        created = x.post("/sandbox/mentions", json={"text": "now please"}).json()["ids"]
        producer.control.request_fetch_now()
        wait_for(lambda: published_ids(sandbox_settings) == created, 10, "the fetch-now poll")


def test_since_id_is_recovered_from_kafka_after_redis_lost_it(
    x: httpx.Client, sandbox_settings: Settings, redis_client: redis.Redis
) -> None:
    keys = RedisKeys.of(sandbox_settings)
    with producer_running(sandbox_settings):
        first = x.post("/sandbox/mentions", json={"text": "before", "count": 5}).json()["ids"]
        wait_for(lambda: len(published_ids(sandbox_settings)) == 5, 20, "the first batch")
    for key in redis_client.scan_iter(match=RedisKeys.of(sandbox_settings).every_key):
        redis_client.delete(key)  # Redis lost everything: since_id, seen set, quota
    later = x.post("/sandbox/mentions", json={"text": "after", "count": 3}).json()["ids"]
    with producer_running(sandbox_settings):
        wait_for(lambda: len(published_ids(sandbox_settings)) >= 8, 20, "the later batch")
        assert redis_client.get(keys.since_id) == later[-1]
    assert sorted(published_ids(sandbox_settings), key=int) == first + later  # nothing twice


def test_kafka_unreadable_during_since_id_recovery_is_reported_not_fatal(
    sandbox_settings: Settings, redis_client: redis.Redis
) -> None:
    # Flaky test runs: since_id recovery read a partition that had no leader yet, and the
    # KafkaException killed the producer's loop. It is a Kafka outage like any other.
    dead_kafka = sandbox_settings.model_copy(update={"kafka_bootstrap_servers": f"127.0.0.1:{free_port()}"})
    keys = RedisKeys.of(dead_kafka)
    telemetry = Telemetry(redis_client, keys, "producer", worker_id="producer-no-kafka")
    producer = MentionProducer(
        dead_kafka, redis_client, XGateway(dead_kafka, QuotaBook(redis_client, keys)), telemetry
    )
    producer._step()  # one turn of the loop: Redis has no since_id, Kafka does not answer
    assert redis_client.hget(keys.counters, "producer_error:kafka") == "1"
    assert producer.last_error.startswith("kafka:")
    assert redis_client.get(keys.since_id) is None, "taken for a first start: history would be skipped"


def test_quota_is_respected_after_the_first_refusal_and_the_producer_catches_up(
    x: httpx.Client, sandbox_settings: Settings, redis_client: redis.Redis
) -> None:
    # Free tier, 1 read per window, time scaled so a 15-minute window lasts 3 s.
    x.post("/sandbox/limits", json={"tier": "free", "time_scale": 300})
    with producer_running(sandbox_settings) as producer:
        created = []
        for _ in range(3):
            created += x.post("/sandbox/mentions", json={"text": "quota", "count": 4}).json()["ids"]
            producer.control.request_fetch_now()  # an operator hammering "fetch now"
        wait_for(lambda: sorted(published_ids(sandbox_settings), key=int) == created, 30, "catch-up")
        stats = x.get("/sandbox/stats").json()
    assert stats["rate_limited_responses"] == 0, "the producer made a request it knew would be refused"
    assert stats["requests_per_endpoint"]["mentions"] >= 2


@pytest.mark.parametrize("fault", [{"rate_limit_storm_s": 3}, {"error_rate": 1.0}])
def test_storms_are_survived_reported_and_caught_up(
    x: httpx.Client, sandbox_settings: Settings, redis_client: redis.Redis, fault: dict[str, float]
) -> None:
    keys = RedisKeys.of(sandbox_settings)
    with producer_running(sandbox_settings):
        x.post("/sandbox/faults", json={**fault, "endpoints": ["mentions"]})
        created = x.post("/sandbox/mentions", json={"text": "storm", "count": 20}).json()["ids"]
        wait_for(
            lambda: (
                redis_client.hgetall(keys.counters).get("producer_error:rate_limited")
                or redis_client.hgetall(keys.counters).get("producer_error:transient")
            ),
            15,
            "an error report",
        )
        refused_during_storm = x.get("/sandbox/stats").json()["rate_limited_responses"]
        x.post("/sandbox/faults", json={})
        wait_for(lambda: sorted(published_ids(sandbox_settings), key=int) == created, 60, "catch-up")
    if "rate_limit_storm_s" in fault:
        # One refusal told the producer when the storm ends; it asked nothing more before that.
        assert refused_during_storm == 1


def test_sigkill_mid_batch_loses_nothing(
    x: httpx.Client, sandbox_settings: Settings, spawn_worker: Callable[..., object], tmp_path: Path
) -> None:
    client = connect_redis(sandbox_settings)
    keys = RedisKeys.of(sandbox_settings)
    first = spawn_worker("producer", tmp_path / "producer.log")
    wait_for(lambda: client.get(keys.since_id), 30, "the first poll")
    x.post("/sandbox/faults", json={"latency_ms": 300, "endpoints": ["mentions"]})
    created = x.post("/sandbox/mentions", json={"text": "kill me", "count": 600}).json()["ids"]
    before = x.get("/sandbox/stats").json()["requests_per_endpoint"].get("mentions", 0)
    wait_for(
        lambda: x.get("/sandbox/stats").json()["requests_per_endpoint"].get("mentions", 0) >= before + 3,
        30,
        "the producer to be paging through the batch",
    )
    os.kill(first.pid, signal.SIGKILL)  # type: ignore[attr-defined]
    first.wait(timeout=10)  # type: ignore[attr-defined]
    x.post("/sandbox/faults", json={})
    spawn_worker("producer", tmp_path / "producer.log")
    wait_for(
        lambda: set(created) <= set(published_ids(sandbox_settings)), 60, "every mention after the restart"
    )


def test_standby_takes_over_within_two_intervals(
    x: httpx.Client, sandbox_settings: Settings, spawn_worker: Callable[..., object], tmp_path: Path
) -> None:
    client = connect_redis(sandbox_settings)
    keys = RedisKeys.of(sandbox_settings)
    interval = "1"
    leader = spawn_worker("producer", tmp_path / "leader.log", POLL_INTERVAL_S=interval)
    wait_for(lambda: client.get(keys.producer_lease), 30, "a leader")
    standby = spawn_worker("producer", tmp_path / "standby.log", POLL_INTERVAL_S=interval)
    wait_for(lambda: client.zcard(keys.workers) >= 2, 30, "the standby's heartbeat")
    lease_holder = client.get(keys.producer_lease)
    assert lease_holder and lease_holder.endswith(f"-{leader.pid}")  # type: ignore[attr-defined]
    os.kill(leader.pid, signal.SIGKILL)  # type: ignore[attr-defined]
    killed_at = time.monotonic()
    wait_for(lambda: (client.get(keys.producer_lease) or "").endswith(f"-{standby.pid}"), 10, "the takeover")  # type: ignore[attr-defined]
    assert time.monotonic() - killed_at <= 2 * float(interval) + 1.0
    created = x.post("/sandbox/mentions", json={"text": "after takeover"}).json()["ids"]
    wait_for(lambda: set(created) <= set(published_ids(sandbox_settings)), 20, "the standby publishing")
