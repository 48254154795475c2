"""Regression tests for bugs the benchmark and the chaos suite found in the core modules."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import redis

from roastbot.keys import RedisKeys
from roastbot.lifecycle import State
from roastbot.mention_store import MentionStore, plant
from roastbot.quota import QuotaBook
from roastbot.settings import Settings
from roastbot.x_gateway import CLOCK_SKEW_S, PostedReply, XGateway
from sandbox.x_api.app import create_app
from sandbox.x_api.config import SandboxConfig
from tests.helpers import ServerThread, wait_for
from tests.integration.pipeline import Pipeline, pipeline

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
    book = QuotaBook(redis_client, RedisKeys.of(settings))
    now = time.time()
    reset = now + 60
    book.record("post", _answer(10, reset), now=now)
    assert [book.reserve("post", now=now) for _ in range(10)] == [None] * 10
    book.record("post", _answer(5, reset), now=now)  # the answer to the 5th post of the window
    assert book.reserve("post", now=now) == int(reset)


def test_a_unit_given_back_returns_only_to_the_window_that_counted_it(
    redis_client: redis.Redis, settings: Settings
) -> None:
    # A POST the daily budget refused before it left used to keep its unit of the shared post
    # quota: a capped day made the next window look shorter than X's.
    book = QuotaBook(redis_client, RedisKeys.of(settings))
    uncounted = book.take("post")  # no window known yet: granted, counted nowhere
    assert uncounted.wait_until is None and uncounted.window is None
    now = time.time()
    reset = now + 60
    book.record("post", _answer(3, reset), now=now)
    slot = book.take("post", now=now)
    assert (slot.wait_until, slot.window) == (None, int(reset))
    assert book.snapshot("post").remaining == 2
    book.give_back("post", slot)
    book.give_back("post", uncounted)
    assert book.snapshot("post").remaining == 3
    later = book.take("post", now=now)
    book.record("post", _answer(99, reset + 900), now=reset + 1)  # the next window's first answer
    book.give_back("post", later)  # counted in a window that ended: moot
    assert book.snapshot("post").remaining == 99
    book.record("post", _answer(100, reset + 1800), now=reset + 901)  # a window with all 100 left
    fresh = book.take("post", now=reset + 901)
    book.give_back("post", fresh)
    book.give_back("post", fresh)  # given back twice by mistake: never above X's limit
    assert book.snapshot("post").remaining == 100


def test_a_new_window_is_counted_from_its_first_call(redis_client: redis.Redis, settings: Settings) -> None:
    # After the reset, every caller used to get through uncounted until the first answer of
    # the new window came back; that answer then ignored the calls still in flight.
    book = QuotaBook(redis_client, RedisKeys.of(settings))
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
    book = QuotaBook(redis_client, RedisKeys.of(settings))
    start = time.time()
    book.record("post", _answer(0, start + 10, limit=3), now=start)
    after = start + 11
    assert book.reserve("post", now=after) is None  # the new window's first call
    book.record("post", _answer(0, start + 10, limit=3), now=after)  # a straggler from the old one
    assert [book.reserve("post", now=after) for _ in range(2)] == [None, None]
    # The straggler must not reopen the window: its 3 calls are spent, a 4th waits.
    assert book.reserve("post", now=after) is not None, "a straggler reopened the new window"


def test_a_refusal_always_blocks_until_its_reset(redis_client: redis.Redis, settings: Settings) -> None:
    # Not a regression of its own: it keeps the quota fix above from weakening 429 handling.
    book = QuotaBook(redis_client, RedisKeys.of(settings))
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


def _worker_died_after_its_post(bot: Pipeline, roast: str) -> tuple[str, str]:
    """With the consumer paused: a mention a dead worker left in `posting`, its POST landed."""
    client, keys = bot.control.client, bot.keys
    # Paused once it holds its partitions, so that the mention waits for the test.
    wait_for(lambda: bot.consumer_beat().get("partitions"), 30, "the consumer's partitions")
    bot.pause_consumer()
    mention_id = bot.mention("crash right after the POST")
    dead = MentionStore(client, keys, "dead-worker", lease_s=0.01)
    path = [State.CLAIMED, State.GENERATING, State.READY, State.POSTING]
    plant(dead, mention_id, path, stamp=("posting_at",), roast=roast)
    return mention_id, XGateway(bot.settings).post_reply(roast, mention_id)


def test_a_mention_left_in_posting_long_ago_is_reconciled_not_posted_twice(
    x: httpx.Client, sandbox_settings: Settings
) -> None:
    with pipeline(sandbox_settings, x) as bot:
        mention_id, reply_id = _worker_died_after_its_post(bot, "A reply from a worker that then died.")
        _bot_tweets(x, 650)  # other consumers kept replying while the claim's lease ran out
        bot.control.set_switch("paused", False)
        state = bot.final_state(mention_id)
        assert state["state"] == "posted" and state["reply_id"] == reply_id
        assert len(bot.replies(mention_id)) == 1


def test_the_first_post_attempt_is_recorded_and_bounds_reconciliation(
    x: httpx.Client, sandbox_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 9aac6d1, the handler's side: it records its first POST attempt, and reconciliation
    # searches the bot's timeline from that moment on.
    find: Callable[..., str | None] = XGateway.find_reply_to
    searches: list[tuple[str, float | None]] = []

    def spy(self: XGateway, mention_id: str, posted_after: float | None = None, **kw: object) -> str | None:
        searches.append((mention_id, posted_after))
        return find(self, mention_id, posted_after, **kw)

    monkeypatch.setattr(XGateway, "find_reply_to", spy)
    with pipeline(sandbox_settings, x) as bot:
        plain = bot.mention("roast me, plainly")
        assert bot.final_state(plain)["state"] == "posted"
        assert bot.state(plain).get("posting_at"), "the handler did not record its first POST attempt"
        mention_id, _ = _worker_died_after_its_post(bot, "A reply from a worker that then died.")
        bot.control.set_switch("paused", False)
        assert bot.final_state(mention_id)["state"] == "posted"
        posting_at = float(bot.state(mention_id)["posting_at"])
    mine = [after for searched, after in searches if searched == mention_id]
    assert mine and all(after == posting_at for after in mine), (mine, posting_at)


# --- a POST still in flight when its worker died (faf3b21) ----------------------------------

IN_FLIGHT_X_TIMEOUT_S = 3.0


def _takeover_with_lagging_timeline(
    x: httpx.Client, settings: Settings, monkeypatch: pytest.MonkeyPatch, visible_after_s: float
) -> tuple[dict[str, str], str, list[str], list[dict[str, object]]]:
    """A dead worker's POST landed; X's timeline shows it only `visible_after_s` later."""
    settings = settings.model_copy(update={"x_timeout_s": IN_FLIGHT_X_TIMEOUT_S})
    with pipeline(settings, x) as bot:
        mention_id, reply_id = _worker_died_after_its_post(
            bot, "A reply that landed just as its worker died."
        )
        visible_at = time.time() + visible_after_s
        find: Callable[..., str | None] = XGateway.find_reply_to
        post: Callable[..., PostedReply] = XGateway.post_reply_deferred  # the consumer's POST
        posts: list[str] = []

        def lagging_find(self: XGateway, *args: object, **kwargs: object) -> str | None:
            return find(self, *args, **kwargs) if time.time() >= visible_at else None

        def counted_post(self: XGateway, text: str, *args: object, **kwargs: object) -> PostedReply:
            posts.append(text)
            return post(self, text, *args, **kwargs)

        monkeypatch.setattr(XGateway, "find_reply_to", lagging_find)
        monkeypatch.setattr(XGateway, "post_reply_deferred", counted_post)
        bot.control.set_switch("paused", False)
        state = bot.final_state(mention_id, timeout_s=30)
        return state, reply_id, posts, bot.replies(mention_id)


def test_a_taken_over_post_is_given_time_to_land_before_reconciling(
    x: httpx.Client, sandbox_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # chaos test_producer_sigkilled_repeatedly (1 double reply in 2,000): reconcile only once
    # a POST that may still be in flight has had x_timeout_s to land.
    state, reply_id, posts, replies = _takeover_with_lagging_timeline(
        x, sandbox_settings, monkeypatch, visible_after_s=IN_FLIGHT_X_TIMEOUT_S / 2
    )
    assert len(replies) == 1, f"{len(replies)} replies: {[r['text'] for r in replies]}"
    assert state["state"] == "posted" and state["reply_id"] == reply_id
    assert posts == [], f"POSTed again before the first POST could land: {posts}"


def test_a_duplicate_of_our_own_text_is_never_followed_by_a_new_text(
    x: httpx.Client, sandbox_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # X calls our re-POST a duplicate and our reply stays out of sight: skip, never a new text.
    state, _, posts, replies = _takeover_with_lagging_timeline(
        x, sandbox_settings, monkeypatch, visible_after_s=3600
    )
    assert len(replies) == 1, f"{len(replies)} replies: {[r['text'] for r in replies]}"
    assert state["state"] == "skipped" and state["reason"] == "duplicate_content:unconfirmed", state
    assert len(posts) == 1  # the one re-POST X refused as a duplicate
