"""The X gateway over HTTP against the sandbox: mapping, typed outcomes, shared quota."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import tweepy

from roastbot.keys import RedisKeys
from roastbot.outcomes import Permanent, RateLimited, Transient
from roastbot.quota import QuotaBook
from roastbot.redis_conn import connect_redis
from roastbot.settings import Settings
from roastbot.x_gateway import XGateway

pytestmark = pytest.mark.integration


def test_mentions_become_messages_with_context(x: httpx.Client, gateway: XGateway) -> None:
    original = x.post(
        "/sandbox/tweets", json={"text": "my hot take: tabs > spaces", "author": {"username": "carol"}}
    ).json()
    x.post(
        "/sandbox/mentions",
        json={
            "text": "@roastbot roast this",
            "author": {"username": "dave", "name": "Dave", "description": "coffee first"},
            "in_reply_to_tweet_id": original["id"],
        },
    )
    page = gateway.mentions_page(since_id=None)
    assert len(page.mentions) == 1
    mention = page.mentions[0].mention
    assert mention.author is not None and mention.author.username == "dave"
    assert mention.author.description == "coffee first"
    assert mention.referenced_tweet_id == original["id"]
    assert mention.referenced_text == "my hot take: tabs > spaces"
    assert mention.referenced_author_username == "carol"
    assert mention.conversation_id == original["id"]
    assert not page.mentions[0].is_retweet


def test_pagination_and_since_id(x: httpx.Client, gateway: XGateway) -> None:
    ids = x.post("/sandbox/mentions", json={"text": "hi", "count": 130}).json()["ids"]
    first = gateway.mentions_page(since_id=None)
    assert len(first.mentions) == 100 and first.next_token
    second = gateway.mentions_page(since_id=None, pagination_token=first.next_token)
    assert len(second.mentions) == 30 and second.next_token is None
    newer = gateway.mentions_page(since_id=ids[119])
    assert [m.mention.id for m in newer.mentions] == list(reversed(ids[120:]))


def test_post_reply_and_reconciliation(x: httpx.Client, gateway: XGateway) -> None:
    mention_id = x.post("/sandbox/mentions", json={"text": "roast me"}).json()["ids"][0]
    assert gateway.find_reply_to(mention_id) is None
    reply_id = gateway.post_reply("You tweet like a loading spinner.", mention_id)
    replies = x.get(f"/sandbox/tweets/{mention_id}/replies").json()["replies"]
    assert [r["id"] for r in replies] == [reply_id]
    assert gateway.find_reply_to(mention_id) == reply_id


def test_refusals_are_permanent_with_a_code(x: httpx.Client, gateway: XGateway) -> None:
    first, second = x.post("/sandbox/mentions", json={"text": "a", "count": 2}).json()["ids"]
    gateway.post_reply("Same joke twice.", first)
    with pytest.raises(Permanent) as duplicate:
        gateway.post_reply("Same joke twice.", second)
    assert duplicate.value.code == "duplicate"
    x.delete(f"/sandbox/tweets/{second}")
    with pytest.raises(Permanent) as deleted:
        gateway.post_reply("Too late.", second)
    assert deleted.value.code == "deleted"
    for refusal in ("reply_restricted", "automation_block", "suspended"):
        x.post("/sandbox/faults", json={"post_refusal": refusal, "post_refusal_count": 1})
        with pytest.raises(Permanent) as refused:
            gateway.post_reply(f"attempt {refusal}", first)
        assert refused.value.code == refusal


def test_bad_credentials_are_permanent(sandbox_settings: Settings) -> None:
    wrong = sandbox_settings.model_copy(
        update={"x_api_secret": sandbox_settings.x_api_secret.__class__("nope")}
    )
    with pytest.raises(Permanent) as refused:
        XGateway(wrong).bot_user()
    assert refused.value.code == "unauthorized"


def test_server_errors_and_garbage_are_transient(x: httpx.Client, gateway: XGateway) -> None:
    gateway.bot_user()
    x.post("/sandbox/faults", json={"error_rate": 1.0, "endpoints": ["mentions"]})
    with pytest.raises(Transient, match="server error"):
        gateway.mentions_page(None)
    x.post("/sandbox/faults", json={"malformed_rate": 1.0, "endpoints": ["mentions"]})
    with pytest.raises(Transient, match="malformed"):
        gateway.mentions_page(None)
    x.post("/sandbox/faults", json={"drop_rate": 1.0, "endpoints": ["mentions"]})
    with pytest.raises(Transient, match="network"):
        gateway.mentions_page(None)


def test_rate_limits_are_recorded_and_refusals_carry_the_reset(
    x: httpx.Client, gateway: XGateway, sandbox_settings: Settings
) -> None:
    x.post("/sandbox/limits", json={"tier": "free", "time_scale": 1})
    gateway.mentions_page(None)
    book = QuotaBook(connect_redis(sandbox_settings), RedisKeys.of(sandbox_settings))
    snapshot = book.snapshot("mentions")
    assert snapshot.limit == 1 and snapshot.remaining == 0
    assert book.blocked_until("mentions") == snapshot.reset
    with pytest.raises(RateLimited) as limited:
        gateway.mentions_page(None)
    assert limited.value.reset_at >= time.time()
    assert abs(limited.value.reset_at - (snapshot.reset or 0)) <= 1


def test_the_bot_account_is_asked_for_once_by_many_threads(x: httpx.Client, gateway: XGateway) -> None:
    # A consumer's handler threads all start by asking who the bot is.
    before = x.get("/sandbox/stats").json()["requests_per_endpoint"].get("me", 0)
    with ThreadPoolExecutor(max_workers=16) as pool:
        bots = list(pool.map(lambda _n: gateway.bot_user(), range(32)))
    assert {bot.id for bot in bots} == {bots[0].id}
    assert x.get("/sandbox/stats").json()["requests_per_endpoint"].get("me", 0) == before + 1


def test_concurrent_calls_reuse_connections_without_dropping_any(
    x: httpx.Client, sandbox_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # An LLM consumer's 32 handler threads share one gateway; a slow X keeps their calls open
    # together. A pool smaller than that drops (and logs) a connection after each call.
    threads = 32
    settings = sandbox_settings.model_copy(update={"consumer_concurrency": threads})
    gateway = XGateway(settings, QuotaBook(connect_redis(settings), RedisKeys.of(settings)))
    gateway.bot_user()
    x.post("/sandbox/faults", json={"latency_ms": 300, "endpoints": ["mentions"]})
    with (
        caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"),
        ThreadPoolExecutor(max_workers=threads) as pool,
    ):
        pages = list(pool.map(lambda _n: gateway.mentions_page(since_id=None), range(threads)))
    assert len(pages) == threads
    dropped = [r for r in caplog.records if "Connection pool is full" in r.getMessage()]
    assert dropped == []


def test_the_sandbox_serves_the_2026_reply_rule_and_it_is_reply_restricted(
    x: httpx.Client, gateway: XGateway
) -> None:
    # Since 23 Feb 2026 X refuses with "You can only reply to or quote posts where you are
    # mentioned or are the author"; the old word sniffing called that http_403.
    target = x.post("/sandbox/mentions", json={"text": "roast me"}).json()["ids"][0]
    x.post("/sandbox/faults", json={"post_refusal": "reply_restricted", "post_refusal_count": 1})
    with pytest.raises(Permanent) as refused:
        gateway.post_reply("A roast X will not take.", target)
    assert refused.value.code == "reply_restricted"
    assert "You can only reply to or quote posts where you are mentioned" in refused.value.reason


def test_our_own_errors_are_not_called_network_errors(
    gateway: XGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A TypeError of ours (here: tweepy called the wrong way) was a Transient "malformed
    # answer", retried and finally dead-lettered as if X had sent garbage.
    def wrong_call(self: tweepy.Client, **kwargs: object) -> None:
        raise TypeError("create_tweet() got an unexpected keyword argument 'in_reply_to'")

    monkeypatch.setattr(tweepy.Client, "create_tweet", wrong_call)
    with pytest.raises(TypeError, match="unexpected keyword"):
        gateway.post_reply("Never sent.", "1")
