"""The daily budget in the running pipeline (real Kafka, Redis and the X sandbox): posting stops
at the cap to the cent, mentions wait (nothing dead-lettered), and posting resumes when an
operator raises the cap or the (simulated) UTC day ends; reads go on, slower."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from roastbot.holds import Holds
from roastbot.keys import RedisKeys
from roastbot.quota import QuotaBook
from roastbot.redis_conn import connect_redis
from roastbot.roasting import roaster_from_settings
from roastbot.roasting.metered import metered_roaster
from roastbot.settings import Settings
from roastbot.spend import X_REPLY, BudgetReached, SpendLedger, next_utc_midnight, utc_day
from tests.helpers import wait_for
from tests.integration.pipeline import pipeline, producer_thread

pytestmark = pytest.mark.integration

OBSERVE_S = 1.5  # an observation window: nothing may be posted while the hold stands


class ShiftedClock:
    """Real time plus an offset a test sets: a simulated time of day that runs at the real rate."""

    offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def budget_settings(settings: Settings, cap_usd: float) -> Settings:
    # Reads free here, so the cap buys a whole number of replies ($0.01 each); reads are
    # priced in test_spend.
    return settings.model_copy(update={"daily_budget_usd": cap_usd, "price_x_read_per_post_usd": 0.0})


def test_the_budget_stops_posting_at_the_cap_and_a_raised_cap_resumes_it(
    x: httpx.Client, sandbox_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = budget_settings(sandbox_settings, 0.02)
    client = connect_redis(settings)
    spend = SpendLedger(client, RedisKeys.of(settings), settings)
    holds = Holds(client, RedisKeys.of(settings))
    with pipeline(settings, x, spend=spend) as bot:
        # The first reply makes X's post window known to the shared quota book before the others.
        ids = [bot.mention("roast me, number 0", author={"username": "budget0"})]
        wait_for(lambda: bot.replies(ids[0]), 20, "the first reply")
        ids += [bot.mention(f"roast me, number {n}", author={"username": f"budget{n}"}) for n in (1, 2)]
        [hold] = wait_for(holds.active, 30, "the budget hold")
        assert hold.code == "daily_budget" and hold.credential == "DAILY_BUDGET_USD"
        wait_for(lambda: sum(bool(bot.replies(i)) for i in ids) == 2, 20, "two replies")
        time.sleep(OBSERVE_S)
        waiting = [i for i in ids if not bot.replies(i)]
        assert len(waiting) == 1, "a third reply passed the cap"
        # Waits, not skipped or dead-lettered: in ready, for its price is reserved with the move
        # to posting (refused, the slot given back), and back among the mentions waiting a slot.
        assert bot.state(waiting[0]).get("state") == "ready"
        assert client.zscore(RedisKeys.of(settings).post_waiting, waiting[0]) is not None
        assert spend.today().total == 20_000 and spend.today().posts == 2  # the cap, to the cent
        # The refused third post never reached X: the shared post quota still says what X said.
        x_post = x.get("/sandbox/limits").json()["counters"]["post:user"]  # X's x-rate-limit-* window
        assert QuotaBook(client, RedisKeys.of(settings)).snapshot("post").remaining == x_post["remaining"]

        spend.set_cap_for_today(0.03)  # what the console's command does
        assert bot.final_state(waiting[0])["state"] == "posted"
        assert spend.today().total == 30_000 and spend.today().posts == 3
        assert bot.counter("dead_lettered") == 0
    assert x.get("/sandbox/stats").json()["tweets_with_multiple_bot_replies"] == 0
    assert "daily budget reached" in caplog.text
    for secret in settings.secret_values():
        assert secret not in caplog.text


def test_the_budget_lifts_when_the_simulated_utc_day_ends(
    x: httpx.Client, sandbox_settings: Settings
) -> None:
    settings = budget_settings(sandbox_settings, 0.01)
    client = connect_redis(settings)
    keys = RedisKeys.of(settings)
    clock = ShiftedClock()
    spend = SpendLedger(client, keys, settings, clock=clock)
    with pipeline(settings, x, spend=spend) as bot:
        # Once the pipeline runs, the ledger's clock runs at the real rate 20 s before a UTC
        # midnight: the budget hold (a key that expires at that midnight) stands until then.
        clock.offset = next_utc_midnight(time.time()) - 20 - time.time()
        day = utc_day(clock())
        first = bot.mention("roast me first", author={"username": "early"})
        second = bot.mention("roast me second", author={"username": "late"})
        wait_for(Holds(client, keys).active, 18, "the budget hold")
        assert utc_day(clock()) == day, "the cap was reached too late to test the day's end"
        # The hold can come first: the second mention's price is refused while the first's
        # POST, reserved, is still out; its price is settled with the round trip after it.
        wait_for(lambda: spend.day(day).posts == 1, 10, "the first reply's price settled")
        assert [bool(bot.replies(first)), bool(bot.replies(second))].count(True) == 1
        # The simulated midnight passes: the hold expires, the waiting mention is posted on the new day.
        assert bot.final_state(first, timeout_s=60)["state"] == "posted"
        assert bot.final_state(second, timeout_s=60)["state"] == "posted"
        tomorrow = utc_day(clock())
        assert tomorrow != day
        assert spend.day(day).total == 10_000 and spend.day(tomorrow).total == 10_000


def test_reads_slow_to_the_floor_but_go_on_while_the_budget_is_spent(
    x: httpx.Client, sandbox_settings: Settings
) -> None:
    settings = budget_settings(sandbox_settings, 0.0).model_copy(update={"budget_poll_interval_s": 45.0})
    client = connect_redis(settings)
    spend = SpendLedger(client, RedisKeys.of(settings), settings)
    with producer_thread(settings, spend) as producer:
        assert producer.poll_interval_s() == settings.poll_interval_s
        with pytest.raises(BudgetReached, match="DAILY_BUDGET_USD"):
            spend.reserve_post("roast")  # a cap of $0: the first post would pass it
        assert producer.poll_interval_s() == 45.0
        wait_for(lambda: producer.lease_ms >= 45_000, 5, "the lease to follow the slower polls")
        polls = int(client.hget(producer.keys.counters, "polls") or 0)
        mention_id = x.post("/sandbox/mentions", json={"text": "still read"}).json()["ids"][0]
        producer.control.request_fetch_now()  # reads are slowed, never stopped
        wait_for(lambda: client.zscore(producer.keys.seen_mentions, mention_id), 15, "the mention read")
        assert int(client.hget(producer.keys.counters, "polls") or 0) == polls + 1


def test_the_budget_stops_generating_before_an_llm_call_would_pass_it(
    x: httpx.Client, llm: httpx.Client, together_settings: Settings
) -> None:
    settings = budget_settings(together_settings, 0.0)  # any priced call passes a $0 cap
    client = connect_redis(settings)
    keys = RedisKeys.of(settings)
    spend = SpendLedger(client, keys, settings)
    roaster = metered_roaster(roaster_from_settings(settings), spend)
    with pipeline(settings, x, roaster=roaster, spend=spend) as bot:
        mention_id = bot.mention("roast my standing desk that I never stand at")
        wait_for(Holds(client, keys).active, 30, "the budget hold")
        time.sleep(OBSERVE_S)
        # Waits before the LLM is asked, not admitted to generating: its first call's price is
        # reserved with that move, and refused there; nothing of it stays in the day's total.
        assert bot.state(mention_id).get("state") == "claimed"
        assert spend.today().total == 0
        assert llm.get("/sandbox/stats").json()["chat_completions"] == 0

        spend.set_cap_for_today(1.0)
        assert bot.final_state(mention_id)["state"] == "posted"
    assert llm.get("/sandbox/stats").json()["chat_completions"] >= 1
    assert spend.today().counts.get(X_REPLY) == 1
