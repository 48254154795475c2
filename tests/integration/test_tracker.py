"""The engagement tracker over real Redis and the X sandbox over HTTP: reads at each check,
at most 100 ids a call, above its quota floor, within the budget, beside a running producer."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from roastbot.engagement import EngagementBook
from roastbot.keys import RedisKeys
from roastbot.quota import QuotaBook
from roastbot.redis_conn import connect_redis
from roastbot.settings import Settings
from roastbot.spend import MICRO, SpendLedger
from roastbot.telemetry import Telemetry
from roastbot.tracker import EngagementTracker
from roastbot.x_gateway import XGateway
from tests.helpers import wait_for
from tests.integration.pipeline import producer_thread

pytestmark = pytest.mark.integration


def post_replies(x: httpx.Client, settings: Settings, count: int) -> list[str]:
    """``count`` mentions and the bot's reply to each (unlimited tier, not billed), tracked."""
    x.post("/sandbox/limits", json={"tier": "unlimited", "time_scale": 1}).raise_for_status()
    ids = x.post("/sandbox/mentions", json={"text": "roast my sourdough", "count": count}).json()["ids"]
    client = connect_redis(settings)
    book = EngagementBook(client, RedisKeys.of(settings), settings)
    poster = XGateway(settings)
    replies = [
        poster.post_reply(f"Sourdough roast number {n}", mention_id) for n, mention_id in enumerate(ids)
    ]
    posted_at = time.time()  # one moment for all, so that each check finds them due together
    for number, (mention_id, reply_id) in enumerate(zip(ids, replies, strict=True)):
        roast = {"mention_id": mention_id, "roast": f"roast {number}", "roaster": "offline"}
        book.track(reply_id, roast, posted_at=posted_at)
    return replies


@contextmanager
def tracker_running(settings: Settings) -> Iterator[EngagementTracker]:
    client = connect_redis(settings)
    keys = RedisKeys.of(settings)
    quota = QuotaBook(client, keys)
    spend = SpendLedger(client, keys, settings)
    telemetry = Telemetry(client, keys, "tracker", worker_id="tracker-test")
    tracker = EngagementTracker(
        settings,
        EngagementBook(client, keys, settings),
        XGateway(settings, quota, spend),
        quota,
        spend,
        telemetry,
    )
    stop = threading.Event()
    thread = threading.Thread(target=tracker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield tracker
    finally:
        alive = thread.is_alive()
        stop.set()
        thread.join(timeout=30)
        assert alive, "the tracker's loop ended before it was asked to stop"
        assert not thread.is_alive(), "tracker did not stop on request"


def lookups(x: httpx.Client) -> int:
    return int(x.get("/sandbox/stats").json()["requests_per_endpoint"].get("tweets_lookup", 0))


def test_reads_at_each_check_with_at_most_100_ids_a_call(x: httpx.Client, sandbox_settings: Settings) -> None:
    # Time scale 36,000: a simulated hour is 0.1 s, so the checks are +1 h and +24 h simulated.
    settings = sandbox_settings.model_copy(
        update={"engagement_checks_s": [0.1, 2.4], "engagement_interval_s": 0.05}
    )
    replies = post_replies(x, settings, 150)
    x.post("/sandbox/limits", json={"tier": "pro", "time_scale": 36_000}).raise_for_status()
    book = EngagementBook(connect_redis(settings), RedisKeys.of(settings), settings)
    with tracker_running(settings):
        wait_for(
            lambda: all(int(p["checks_done"]) == 2 for p in book.posts(0)), 60, "both checks of every reply"
        )
    posts = {p["reply_id"]: p for p in book.posts(0)}
    assert set(posts) == set(replies)
    for post in posts.values():
        first, second = post["checks"]
        assert first["at"] >= float(post["posted_at"]) + 0.1
        assert second["at"] >= float(post["posted_at"]) + 2.4
        assert second["like_count"] >= first["like_count"]
        assert int(post["likes"]) == second["like_count"]
    assert sum(int(p["likes"]) for p in posts.values()) > 0  # the sandbox grew them
    # Each call's answer is recorded at one moment: the checks read at one moment are one
    # call's ids. (How the 300 reads fall into calls depends on the timing: a late second pass
    # reads the last 50 first checks with 50 second checks, in one call.)
    ids_per_call = Counter(check["at"] for post in posts.values() for check in post["checks"])
    assert sum(ids_per_call.values()) == 300
    assert max(ids_per_call.values()) <= 100, ids_per_call
    assert lookups(x) == len(ids_per_call)
    assert not book.due(now=float("inf"))


def test_keeps_its_quota_floor_and_never_touches_the_mention_poll(
    x: httpx.Client, sandbox_settings: Settings
) -> None:
    # Basic: GET /2/tweets 15 per 15 min; time scale 300: a window lasts 3 s. A floor of 14
    # leaves the tracker one call a window, so 300 due replies need three windows.
    settings = sandbox_settings.model_copy(
        update={
            "engagement_checks_s": [0.0],
            "engagement_interval_s": 0.05,
            "engagement_read_floor": 14,
            "poll_interval_s": 0.2,
        }
    )
    post_replies(x, settings, 300)
    x.post("/sandbox/limits", json={"tier": "basic", "time_scale": 300}).raise_for_status()
    client = connect_redis(settings)
    keys = RedisKeys.of(settings)
    book = EngagementBook(client, keys, settings)
    with producer_thread(settings), tracker_running(settings) as tracker:
        wait_for(
            lambda: lookups(x) >= 1 and tracker.last.status == "quota_floor", 30, "the tracker at its floor"
        )
        limits = x.get("/sandbox/limits").json()["counters"]
        assert limits["tweets_lookup:user"]["used"] == 1  # 15 - floor 14: one call this window
        # The poll goes on meanwhile: new mentions are published while the tracker waits.
        fresh = x.post("/sandbox/mentions", json={"text": "roast my commute", "count": 3}).json()["ids"]
        wait_for(lambda: client.zscore(keys.seen_mentions, fresh[-1]) is not None, 30, "the poll to see them")
        wait_for(lambda: not book.due(), 60, "every reply read, one call a window")
    stats = x.get("/sandbox/stats").json()
    assert stats["rate_limited_responses"] == 0  # neither the poll nor the tracker met a 429
    assert lookups(x) == 3
    polls = int(client.hget(keys.counters, "polls") or 0)
    assert stats["requests_per_endpoint"]["mentions"] == polls  # every mentions call is the poll's


def test_the_budget_stops_tracker_reads_at_the_cap_without_stopping_posts(
    x: httpx.Client, sandbox_settings: Settings
) -> None:
    # Owned reads at $0.001: the first call (100 ids) costs $0.10; the next (50) would pass $0.12.
    settings = sandbox_settings.model_copy(
        update={"engagement_checks_s": [0.0], "engagement_interval_s": 0.05, "daily_budget_usd": 0.12}
    )
    post_replies(x, settings, 150)
    client = connect_redis(settings)
    keys = RedisKeys.of(settings)
    with tracker_running(settings) as tracker:
        wait_for(lambda: tracker.last.status == "budget", 30, "the tracker to stop at the budget")
    spend = SpendLedger(client, keys, settings).today()
    assert spend.total == 100 * 1000  # micro-dollars: 100 owned reads, nothing past the cap
    assert spend.by_item == {"x_read": 100 * 1000}
    assert spend.total / MICRO <= 0.12
    assert lookups(x) == 1
    assert client.get(keys.budget_hold) is None  # posting and generating go on
    assert len(EngagementBook(client, keys, settings).due()) == 50


def test_a_redis_outage_keeps_the_tracker_up_and_backing_off(sandbox_settings: Settings) -> None:
    with free_port_redis_url() as unreachable:
        settings = sandbox_settings.model_copy(
            update={"redis_url": unreachable, "engagement_interval_s": 0.05}
        )
        with tracker_running(settings) as tracker:
            wait_for(lambda: tracker.failures >= 3, 30, "three failed passes in a row")


@contextmanager
def free_port_redis_url() -> Iterator[str]:
    """A Redis URL where nothing listens (a port of our own, bound and not accepting)."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield f"redis://127.0.0.1:{holder.getsockname()[1]}/0"
