"""Quota triage over real Kafka, Redis and the X sandbox: a mention the post quota cannot
reach in time is skipped `quota_triage` before any roast is written; the freshest get posted;
nothing is lost and every offset is committed."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from datetime import timedelta

import httpx
import pytest

from roastbot.holds import Holds
from roastbot.kafka_wiring import consumer_lag
from roastbot.keys import RedisKeys
from roastbot.models import utc_now
from roastbot.quota import QuotaBook
from roastbot.redis_conn import connect_redis
from roastbot.retry import Interrupted
from roastbot.roasting import Roaster, RoastRequest, roaster_from_settings
from roastbot.roasting.base import RoastDraft
from roastbot.settings import Settings
from roastbot.spend import SpendLedger
from roastbot.x_gateway import XGateway
from tests.helpers import wait_for
from tests.integration.pipeline import pipeline
from tests.integration.runner_bench import RunnerBench, runner_bench

pytestmark = pytest.mark.integration

BASIC_POSTS = 100  # Basic: 100 per 24 h


class CountingRoaster:
    """The offline roaster, counting the roasts asked for each mention (an LLM call each)."""

    def __init__(self, inner: Roaster) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def roast(self, request: RoastRequest) -> RoastDraft:
        with self._lock:
            self.calls[request.mention_id] += 1
        return self.inner.roast(request)


def spend_posts(x: httpx.Client, gateway: XGateway, count: int, label: str = "Spending") -> None:
    """Post ``count`` replies outside the bot's mentions: X's answers tell the shared quota
    (``label`` keeps the texts of a second call apart: X refuses the same text twice)."""
    target = x.post("/sandbox/mentions", json={"text": "quota spender"}).json()["ids"][0]
    for n in range(count):
        gateway.post_reply(f"{label} post number {n} of the quota window.", target)


def test_a_backlog_beyond_the_quota_is_triaged_before_roasting_and_nothing_is_lost(
    x: httpx.Client, sandbox_settings: Settings, gateway: XGateway
) -> None:
    # Basic's 24-hour window scaled to 15 min, 16 of its 100 posts left; 25 mentions, and a
    # reply may answer a mention up to 5 min old: the reset comes too late for 9 of them.
    x.post("/sandbox/limits", json={"tier": "basic", "time_scale": 96})
    spend_posts(x, gateway, BASIC_POSTS - 16)
    settings = sandbox_settings.model_copy(
        update={"consumer_concurrency": 4, "per_author_limit_per_hour": 0, "max_reply_delay_s": 300.0}
    )
    roaster = CountingRoaster(roaster_from_settings(settings))
    with pipeline(settings, x, roaster) as bot:
        bot.pause_consumer()
        ids = [bot.mention(f"backlog {n}: my {n} open tabs", author={"username": f"b{n}"}) for n in range(25)]
        wait_for(lambda: bot.counter("published") >= 25, 20, "the backlog in Kafka")
        bot.control.set_switch("paused", False)
        states = {i: bot.final_state(i, timeout_s=60) for i in ids}
        wait_for(lambda: sum(p.lag for p in consumer_lag(settings)) == 0, 30, "every offset committed")
    posted = [i for i, s in states.items() if s["state"] == "posted"]
    triaged = [i for i, s in states.items() if s["state"] == "skipped" and s["reason"] == "quota_triage"]
    assert len(posted) == 16
    assert sorted(posted + triaged) == sorted(ids)  # every mention ended, one way or the other
    assert all(not bot.replies(i) for i in triaged)
    assert all(roaster.calls[i] == 0 for i in triaged), "a triaged mention was roasted"
    assert all(roaster.calls[i] >= 1 for i in posted)
    assert all("roast" not in states[i] for i in triaged)
    assert bot.counter("skipped:quota_triage") == len(triaged)
    assert all(len(bot.replies(i)) == 1 for i in posted)
    stats = x.get("/sandbox/stats").json()
    assert stats["rate_limited_responses"] == 0  # triage never sent a POST the quota refuses
    assert bot.control.client.zcard(bot.keys.post_waiting) == 0  # nobody is left waiting


def test_a_mention_too_old_by_the_reset_is_skipped_and_a_fresh_one_waits_for_it(
    x: httpx.Client, sandbox_settings: Settings, gateway: XGateway
) -> None:
    # Basic's window scaled to 20 s and spent: the next slot comes at its reset. A reply may
    # answer a mention up to 120 s old, so one 119.5 s old cannot wait for it; a fresh one can.
    x.post("/sandbox/limits", json={"tier": "basic", "time_scale": 4320})
    spend_posts(x, gateway, BASIC_POSTS)
    settings = sandbox_settings.model_copy(update={"max_reply_delay_s": 120.0})
    roaster = CountingRoaster(roaster_from_settings(settings))
    with runner_bench(settings, x, roaster) as bot:
        old = bot.mention("roast me, I asked two minutes ago", author={"username": "early"})
        fresh = bot.mention("roast me, I just asked", author={"username": "late"})
        skipped = bot.deliver(old, created_at=utc_now() - timedelta(seconds=119.5))
        assert (skipped["state"], skipped.get("reason")) == ("skipped", "quota_triage")
        assert roaster.calls[old] == 0 and not bot.replies(old)
        posted = bot.deliver(fresh)  # waits for the reset
        assert posted["state"] == "posted", posted
        assert roaster.calls[fresh] == 1 and len(bot.replies(fresh)) == 1


def _deliver_until_stopped(bot: RunnerBench, mention_id: str) -> None:
    with contextlib.suppress(Interrupted):  # the runner's stop, at the end of the test
        bot.deliver(mention_id)


def test_waiting_mentions_take_the_slots_best_first_by_followers(
    x: httpx.Client, sandbox_settings: Settings, gateway: XGateway
) -> None:
    # Basic's window scaled to 60 s with one post left; three mentions roasted and waiting
    # behind a posting hold. Once it is lifted, the slot goes to the author with the most
    # followers; the others wait for the reset.
    x.post("/sandbox/limits", json={"tier": "basic", "time_scale": 1440})
    spend_posts(x, gateway, BASIC_POSTS - 1)
    settings = sandbox_settings.model_copy(update={"triage": "followers"})
    with runner_bench(settings, x) as bot:
        holds = Holds(bot.control.client, bot.keys)
        holds.raise_hold("automation_block", "an operator's hold for the test")
        ids = {
            followers: bot.mention(
                f"roast me, {followers} follow me",
                author={"username": f"f{followers}", "followers_count": followers},
            )
            for followers in (10, 1000, 100)
        }
        threads = [threading.Thread(target=_deliver_until_stopped, args=(bot, i)) for i in ids.values()]
        for thread in threads:
            thread.start()
        wait_for(lambda: all(bot.state(i).get("state") == "ready" for i in ids.values()), 30, "three waiting")
        waiting = [member.mention_id for member in bot.runner.triage.waiting()]
        assert waiting == [ids[1000], ids[100], ids[10]]
        holds.lift()
        assert bot.final_state(ids[1000])["state"] == "posted"
        assert bot.state(ids[100])["state"] == bot.state(ids[10])["state"] == "ready"
        assert not bot.replies(ids[100]) and not bot.replies(ids[10])
    for thread in threads:
        thread.join(timeout=30)  # the runner's stop ends their wait for the reset


def test_a_post_tried_again_and_refused_by_the_budget_keeps_its_place_among_the_waiting(
    x: httpx.Client, sandbox_settings: Settings, gateway: XGateway
) -> None:
    # Basic's window scaled to 15 min, a reply may answer a mention up to 120 s old: a mention
    # that has to wait for the reset is skipped. The first POST of a well-followed mention is
    # refused (automation_block): its next POST, from posting, reserves its own price, which
    # a $0 cap refuses. It must wait for the budget's hold where it stood, at its score: once
    # the cap is raised, the one post left goes to it, not to a less-followed one behind it.
    x.post("/sandbox/limits", json={"tier": "basic", "time_scale": 96})
    spend_posts(x, gateway, BASIC_POSTS - 3)
    x.post("/sandbox/faults", json={"post_refusal": "automation_block", "post_refusal_count": 1})
    settings = sandbox_settings.model_copy(
        update={
            "triage": "followers",
            "max_reply_delay_s": 120.0,
            "daily_budget_usd": 1.0,
            "price_x_read_per_post_usd": 0.0,  # reads priced in test_spend
        }
    )
    client, keys = connect_redis(settings), RedisKeys.of(settings)
    spend, holds, quota = SpendLedger(client, keys, settings), Holds(client, keys), QuotaBook(client, keys)
    with runner_bench(settings, x, spend=spend) as bot:
        first = bot.mention("roast me, 1000 follow me", author={"username": "many", "followers_count": 1000})
        threads = [threading.Thread(target=_deliver_until_stopped, args=(bot, first))]
        threads[0].start()
        wait_for(lambda: [h.code for h in holds.active()] == ["automation_block"], 30, "X's refusal")
        assert bot.state(first)["state"] == "posting" and not bot.replies(first)
        spend.set_cap_for_today(0.0)  # the next POST's price passes it
        holds.lift()
        wait_for(lambda: [h.code for h in holds.active()] == ["daily_budget"], 30, "the budget's hold")
        # Its POST tried again, refused before it left: still posting, the unit given back (the
        # book says what X said), and back among the waiting at the score it was admitted with.
        assert bot.state(first)["state"] == "posting" and not bot.replies(first)
        wait_for(lambda: client.zscore(bot.keys.post_waiting, first) is not None, 5, "it waits again")
        assert client.zscore(bot.keys.post_waiting, first) == float(bot.state(first)["triage_score"])
        counters = x.get("/sandbox/limits").json()["counters"]
        assert quota.snapshot("post").remaining == min(
            c["remaining"] for n, c in counters.items() if "post" in n
        )
        second = bot.mention("roast me, 10 follow me", author={"username": "few", "followers_count": 10})
        threads.append(threading.Thread(target=_deliver_until_stopped, args=(bot, second)))
        threads[1].start()
        wait_for(lambda: client.zscore(bot.keys.post_waiting, second) is not None, 30, "the second waiting")
        assert bot.state(second)["state"] == "generating"  # for the budget's hold, as the first
        spend_posts(x, gateway, quota.snapshot("post").remaining - 1, "Leaving one")  # one post left
        assert quota.snapshot("post").remaining == 1
        spend.set_cap_for_today(1.0)  # lifts the budget's hold
        assert bot.final_state(first)["state"] == "posted"
        skipped = bot.final_state(second)
        assert (skipped["state"], skipped.get("reason")) == ("skipped", "quota_triage")
        assert len(bot.replies(first)) == 1 and not bot.replies(second)
        assert spend.today().posts == 1
    for thread in threads:
        thread.join(timeout=30)
