"""Regression tests for bugs the benchmark and the chaos suite found in the core modules."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from roastbot.keys import RedisKeys
from roastbot.mention_state import MentionStates
from roastbot.models import MentionState
from roastbot.quota import QuotaBook
from roastbot.redis_conn import connect_redis
from roastbot.settings import Settings
from roastbot.x_gateway import CLOCK_SKEW_S, XGateway
from sandbox.x_api.app import create_app
from sandbox.x_api.config import SandboxConfig
from tests.helpers import ServerThread, wait_for
from tests.integration.pipeline import pipeline

pytestmark = pytest.mark.integration


def _answer(remaining: int, reset: float, limit: int = 100) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(int(reset)),
    }


def test_a_late_answer_does_not_give_back_quota_already_reserved(
    redis_client: redis.Redis, settings: Settings
) -> None:
    # bench quota-bound: answers to earlier posts arrive after later reservations; their
    # higher `remaining` used to overwrite the count, so consumers posted into 429s.
    book = QuotaBook(redis_client, RedisKeys(settings.redis_key_prefix))
    now = time.time()
    reset = now + 60
    book.record("post", _answer(10, reset), now=now)
    assert [book.reserve("post", now=now) for _ in range(10)] == [None] * 10
    book.record("post", _answer(5, reset), now=now)  # the answer to the 5th post of the window
    assert book.reserve("post", now=now) == int(reset)


def test_a_new_window_is_counted_from_its_first_call(redis_client: redis.Redis, settings: Settings) -> None:
    # After the reset, every caller used to get through uncounted until the first answer of
    # the new window came back; that answer then ignored the calls still in flight.
    book = QuotaBook(redis_client, RedisKeys(settings.redis_key_prefix))
    start = time.time()
    book.record("post", _answer(0, start + 10, limit=3), now=start)
    after = start + 11
    assert [book.reserve("post", now=after) for _ in range(3)] == [None] * 3
    waits = book.reserve("post", now=after)
    assert waits is not None and after < waits <= after + 1  # until the window's first answer
    book.record("post", _answer(2, after + 10, limit=3), now=after + 0.5)  # only one served so far
    assert book.reserve("post", now=after + 0.5) == int(after + 10)


def test_an_answer_about_a_window_that_is_over_is_ignored(
    redis_client: redis.Redis, settings: Settings
) -> None:
    book = QuotaBook(redis_client, RedisKeys(settings.redis_key_prefix))
    start = time.time()
    book.record("post", _answer(0, start + 10, limit=3), now=start)
    after = start + 11
    assert book.reserve("post", now=after) is None  # the new window's first call
    book.record("post", _answer(0, start + 10, limit=3), now=after)  # a straggler from the old one
    assert [book.reserve("post", now=after) for _ in range(2)] == [None, None]


def test_a_refusal_always_blocks_until_its_reset(redis_client: redis.Redis, settings: Settings) -> None:
    book = QuotaBook(redis_client, RedisKeys(settings.redis_key_prefix))
    now = time.time()
    book.record("post", _answer(50, now + 900), now=now)
    book.record("post", _answer(0, now + 3), refused=True, now=now)  # a 429 storm until now + 3
    assert book.reserve("post", now=now) == int(now + 3)
    assert book.reserve("post", now=now + 4) is None  # after the storm, posting resumes


# --- reconciliation after a crash at the POST ---------------------------------------------


@pytest.fixture
def sandbox_settings(settings: Settings) -> Iterator[Settings]:
    with ServerThread(create_app(SandboxConfig(seed=7))) as server:
        yield settings.model_copy(update={"x_api_base_url": server.url})


@pytest.fixture
def x(sandbox_settings: Settings) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox_settings.x_api_base_url, timeout=30) as client:
        yield client


def _bot_tweets(x: httpx.Client, count: int) -> None:
    """Tweets by the bot posted after a reply, as other consumers' replies would be."""
    for number in range(count):
        x.post("/sandbox/tweets", json={"text": f"busy bot {number}", "author": {"username": "roastbot"}})


def test_a_reply_behind_many_newer_bot_tweets_is_still_found(
    x: httpx.Client, sandbox_settings: Settings
) -> None:
    # chaos test_consumers_sigkilled: a consumer killed after its POST landed; the mention was
    # reconciled only after the claim lease (35 s), when 500+ newer bot replies hid the reply
    # from the 5 pages walked since the mention, so the bot posted again (8 double replies).
    gateway = XGateway(sandbox_settings)
    mention_id = x.post("/sandbox/mentions", json={"text": "roast me"}).json()["ids"][0]
    posting_at = time.time()
    reply_id = gateway.post_reply("You tweet like a loading spinner.", mention_id)
    _bot_tweets(x, 650)
    assert gateway.find_reply_to(mention_id, posted_after=posting_at) == reply_id
    later = time.time() + CLOCK_SKEW_S + 1
    assert gateway.find_reply_to(mention_id, posted_after=later) is None  # only tweets since then


def _consumer_beat(client: redis.Redis, keys: RedisKeys) -> dict[str, str]:
    for worker in client.zrange(keys.workers, 0, -1):
        if worker.startswith("consumer"):
            return client.hgetall(keys.heartbeat(worker))
    return {}


def test_a_mention_left_in_posting_long_ago_is_reconciled_not_posted_twice(
    x: httpx.Client, sandbox_settings: Settings
) -> None:
    client = connect_redis(sandbox_settings)
    keys = RedisKeys(sandbox_settings.redis_key_prefix)
    with pipeline(sandbox_settings, x) as bot:
        # Paused once it holds its partitions (a pause only covers partitions already assigned).
        wait_for(lambda: _consumer_beat(client, keys).get("partitions"), 30, "the consumer's partitions")
        bot.control.set_switch("paused", True)
        wait_for(lambda: _consumer_beat(client, keys).get("status") == "paused", 10, "the consumer to pause")
        mention_id = bot.mention("crash right after the POST")
        roast = "A reply from a worker that then died."
        dead = MentionStates(client, keys, "dead-worker", lease_s=0.01)
        dead.claim(mention_id)
        dead.move(mention_id, MentionState.POSTING, roast=roast)
        dead.note_post_attempt(mention_id)
        reply_id = XGateway(sandbox_settings).post_reply(roast, mention_id)
        _bot_tweets(x, 650)  # other consumers kept replying while the claim's lease ran out
        bot.control.set_switch("paused", False)
        state = bot.final_state(mention_id)
        assert state["state"] == "posted" and state["reply_id"] == reply_id
        assert len(bot.replies(mention_id)) == 1
