"""The cost ledger and the daily budget over real Redis (and the X sandbox for the gateway):
posts, reads and tokens at their prices, the cap held to the cent under a race, and the
budget hold lifting at the next (simulated) UTC day or when the cap is raised."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import httpx
import pytest
import redis
from prometheus_client import CollectorRegistry

from roastbot.batch import Batch, Op
from roastbot.holds import EVERYTHING, Holds
from roastbot.keys import RedisKeys
from roastbot.outcomes import Permanent, Transient
from roastbot.quota import QuotaBook
from roastbot.roasting import build_roaster, generate_safe_roast
from roastbot.roasting.base import RoastDraft, RoastRequest
from roastbot.roasting.guard import GuardedRoaster
from roastbot.roasting.llm_client import ChatAnswer
from roastbot.roasting.metered import MeteredGuard, billed_to, metered_roaster
from roastbot.settings import Settings
from roastbot.spend import (
    LLM_INPUT,
    LLM_OUTPUT,
    X_READ,
    X_REPLY,
    BudgetReached,
    SpendLedger,
)
from roastbot.x_gateway import XGateway
from sandbox.llm_fake.model import GUARD_UNSAFE_MARKER
from tests.helpers import ServerThread

pytestmark = pytest.mark.integration

MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"


class Clock:
    """A settable clock (Unix seconds) for the ledger."""

    def __init__(self, when: str) -> None:
        self.now = datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, when: str) -> None:
        self.now = datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp()


GUARD_MODEL = "meta-llama/Llama-Guard-4-12B"


class UsageRoaster:
    """An LLM roaster's shape with fixed usage: what the meter books comes from the draft."""

    name = "together"
    model = MODEL

    def __init__(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.calls = 0
        self.usage = (prompt_tokens, completion_tokens)

    def roast(self, request: RoastRequest) -> RoastDraft:
        self.calls += 1
        return RoastDraft(
            text="Your tabs have tabs.",
            roaster=self.name,
            model=self.model,
            prompt_tokens=self.usage[0],
            completion_tokens=self.usage[1],
        )


def ledger_for(client: redis.Redis, settings: Settings, **kwargs: object) -> SpendLedger:
    return SpendLedger(client, RedisKeys.of(settings), settings, **kwargs)  # type: ignore[arg-type]


def test_the_gateway_books_posts_and_reads_at_their_prices(
    x: httpx.Client, sandbox_settings: Settings, redis_client: redis.Redis
) -> None:
    registry = CollectorRegistry()
    spend = ledger_for(redis_client, sandbox_settings, registry=registry)
    keys = RedisKeys.of(sandbox_settings)
    gateway = XGateway(sandbox_settings, QuotaBook(redis_client, keys), spend=spend)
    ids = x.post("/sandbox/mentions", json={"text": "roast me", "count": 3}).json()["ids"]

    gateway.bot_user()
    assert spend.today().by_item == {X_READ: 1000}  # the bot's own user: an owned read
    assert len(gateway.mentions_page(since_id=None).mentions) == 3
    assert spend.today().by_item == {X_READ: 4 * 1000}  # $0.001 a post returned
    gateway.mentions_page(since_id=None)  # the same posts again, the same UTC day: billed once
    assert gateway.mentions_page(since_id=ids[-1]).mentions == []  # no data: not billed
    gateway.post_reply("You tweet like a loading spinner.", ids[0])

    today = spend.today()
    assert today.by_item == {X_READ: 4000, X_REPLY: 10_000}
    assert today.counts == {X_READ: 4, X_REPLY: 1}
    assert today.total == 14_000 and today.posts == 1
    assert today.per_post_usd == pytest.approx(0.014)
    assert registry.get_sample_value("roastbot_spend_usd_total", {"item": X_REPLY}) == pytest.approx(0.01)
    assert registry.get_sample_value("roastbot_spend_usd_total", {"item": X_READ}) == pytest.approx(0.004)
    now_minute = int(spend.clock() // 60)
    minutes = [redis_client.hgetall(keys.spend_minute(m)) for m in (now_minute - 1, now_minute)]
    assert {item: sum(int(m.get(item, 0)) for m in minutes) for item in (X_READ, X_REPLY)} == {
        X_READ: 4000,
        X_REPLY: 10_000,
    }
    assert 0 < redis_client.ttl(keys.spend_day(today.day)) <= 62 * 86400  # bounded
    assert 0 < redis_client.ttl(keys.spend_minute(int(spend.clock() // 60))) <= 25 * 3600


def test_a_refused_post_gives_its_reservation_back(
    x: httpx.Client, sandbox_settings: Settings, redis_client: redis.Redis
) -> None:
    spend = ledger_for(redis_client, sandbox_settings)
    gateway = XGateway(sandbox_settings, spend=spend)
    x.post("/sandbox/faults", json={"post_refusal": "duplicate", "post_refusal_count": 1})
    mention_id = x.post("/sandbox/mentions", json={"text": "roast me"}).json()["ids"][0]
    with pytest.raises(Permanent, match="duplicate"):
        gateway.post_reply("Same old roast.", mention_id)
    assert spend.today().total == 0 and spend.today().posts == 0


def test_a_deferred_post_leaves_its_bookkeeping_to_the_caller_unless_it_fails(
    x: httpx.Client, sandbox_settings: Settings, redis_client: redis.Redis
) -> None:
    # The consumer writes a posted reply's quota and price with the move to posted; a POST
    # that fails has no such move, so its quota is written at once and its price given back.
    keys = RedisKeys.of(sandbox_settings)
    quota, spend = QuotaBook(redis_client, keys), ledger_for(redis_client, sandbox_settings)
    gateway = XGateway(sandbox_settings, quota, spend=spend)
    first, second = x.post("/sandbox/mentions", json={"text": "roast me", "count": 2}).json()["ids"]
    posted = gateway.post_reply_deferred("Your tabs have tabs.", first)
    assert [r["id"] for r in x.get(f"/sandbox/tweets/{first}/replies").json()["replies"]] == [posted.tweet_id]
    assert quota.snapshot("post").seen_at is None  # not written: the caller's round trip carries it
    assert spend.today().total == 10_000 and spend.today().counts == {}  # reserved, not yet settled
    Batch(redis_client).run(posted.ops)
    assert quota.snapshot("post").seen_at is not None
    assert spend.today().counts == {X_REPLY: 1} and spend.today().total == 10_000

    redis_client.delete(keys.quota("post"))
    x.post("/sandbox/faults", json={"malformed_rate": 1.0, "endpoints": ["post"]})
    with pytest.raises(Transient, match="malformed"):
        gateway.post_reply_deferred("Your tabs have more tabs.", second)
    assert quota.snapshot("post").seen_at is not None  # X counted it: its quota written at once
    assert spend.today().total == 10_000 and spend.today().counts == {X_REPLY: 1}  # price given back


def test_llm_calls_are_booked_from_usage_at_the_models_price(
    sandbox_settings: Settings, redis_client: redis.Redis
) -> None:
    settings = sandbox_settings.model_copy(update={"llm_prices_usd_per_mtok": {MODEL: (0.88, 2.5)}})
    spend = ledger_for(redis_client, settings)
    roaster = metered_roaster(UsageRoaster(prompt_tokens=1234, completion_tokens=57), spend)
    roaster.roast(RoastRequest(mention_id="1", text="roast me", author_username="dave"))
    roaster.roast(RoastRequest(mention_id="2", text="roast me", author_username="erin"))
    today = spend.today()
    # 1234 x $0.88/M = 1085.92 -> 1086 micro-dollars; 57 x $2.50/M = 142.5 -> 143 (rounded up).
    assert today.by_item == {LLM_INPUT: 2 * 1086, LLM_OUTPUT: 2 * 143}
    assert today.counts == {LLM_INPUT: 2 * 1234, LLM_OUTPUT: 2 * 57}
    assert today.total == 2 * (1086 + 143)  # the reservations were settled to the usage


def test_a_metered_roaster_keeps_its_guard_in_front(
    sandbox_settings: Settings, redis_client: redis.Redis, llm_fake: ServerThread
) -> None:
    # The consumer meters the roaster the factory built; with GUARD_MODEL set that roaster is
    # guarded, and generate_safe_roast must still find the guard (a meter wrapped around it
    # would hide it: drafts posted unclassified).
    roaster = build_roaster(
        "openai",
        api_key="test-key",
        base_url=f"{llm_fake.url}/v1",
        model="fake/roaster-1",
        timeout_s=5,
        seed=0,
        guard_model="meta-llama/Llama-Guard-4-12B",
    )
    metered = metered_roaster(roaster, ledger_for(redis_client, sandbox_settings))
    request = RoastRequest("3", f"@roastbot roast my {GUARD_UNSAFE_MARKER}", "alice")
    result = generate_safe_roast(metered, request, "alice", max_attempts=2)
    assert result.draft is None and result.reasons == ("guard:S10",)
    assert ledger_for(redis_client, sandbox_settings).today().counts[LLM_INPUT] > 0  # and metered
    assert isinstance(metered.guard, MeteredGuard)  # the guard's calls are metered too


class UsageGuard:
    """A guard model's shape with fixed usage and a scripted answer (or failure)."""

    model = GUARD_MODEL

    def __init__(self, content: str | None = "safe", fails: bool = False) -> None:
        self.content, self.fails = content, fails

    def ask(self, text: str) -> ChatAnswer:
        if self.fails:
            raise Transient("guard request timed out")
        return ChatAnswer(self.content, self.model, prompt_tokens=400, completion_tokens=2)


def test_guard_calls_are_booked_at_the_guard_models_price(
    sandbox_settings: Settings, redis_client: redis.Redis
) -> None:
    settings = sandbox_settings.model_copy(update={"llm_prices_usd_per_mtok": {GUARD_MODEL: (0.2, 0.2)}})
    spend = ledger_for(redis_client, settings)
    assert MeteredGuard(UsageGuard("safe"), spend).classify("Your tabs have tabs.").safe  # type: ignore[arg-type]
    with pytest.raises(Transient, match="neither safe nor unsafe"):  # garbage, but billed all the same
        MeteredGuard(UsageGuard("maybe?"), spend).classify("Your tabs have tabs.")  # type: ignore[arg-type]
    with pytest.raises(Transient, match="timed out"):  # a failed request is not billed
        MeteredGuard(UsageGuard(fails=True), spend).classify("Your tabs have tabs.")  # type: ignore[arg-type]
    today = spend.today()
    # 400 x $0.20/M = 80 micro-dollars in, 2 x $0.20/M = 0.4 -> 1 out; two answers billed.
    assert today.counts == {LLM_INPUT: 800, LLM_OUTPUT: 4}
    assert today.by_item == {LLM_INPUT: 160, LLM_OUTPUT: 2}
    assert today.total == 162  # every reservation settled or refunded


def test_a_roaster_billed_to_bookings_leaves_its_calls_and_its_guards_to_them(
    sandbox_settings: Settings, redis_client: redis.Redis
) -> None:
    prices = {MODEL: (0.88, 2.5), GUARD_MODEL: (0.2, 0.2)}
    settings = sandbox_settings.model_copy(update={"llm_prices_usd_per_mtok": prices})
    spend = ledger_for(redis_client, settings)
    # As metered_roaster meters a guarded roaster (its guard a GuardModel; this one has its shape).
    metered = GuardedRoaster(
        metered_roaster(UsageRoaster(prompt_tokens=1234, completion_tokens=57), spend),
        MeteredGuard(UsageGuard("safe"), spend),  # type: ignore[arg-type]
    )
    bookings: list[Op] = []
    roaster = billed_to(metered, bookings)
    result = generate_safe_roast(roaster, RoastRequest("1", "roast me", "dave"), "dave", max_attempts=1)
    assert result.draft is not None
    reserved = spend.today()
    assert reserved.counts == {} and reserved.total > 0  # reserved before the calls, nothing booked
    Batch(redis_client).run(bookings)  # the round trip they ride on
    today = spend.today()
    assert today.counts == {LLM_INPUT: 1234 + 400, LLM_OUTPUT: 57 + 2}  # the roast and the guard's answer
    assert today.total == 1086 + 143 + 80 + 1  # settled to the usage


def test_two_racing_reservations_for_the_last_cent_one_passes(
    sandbox_settings: Settings, redis_client: redis.Redis
) -> None:
    settings = sandbox_settings.model_copy(update={"daily_budget_usd": 0.03})
    spend = ledger_for(redis_client, settings)
    for _ in range(2):
        spend.settle(spend.reserve_post("roast"))
    assert spend.today().total == 20_000
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def race() -> None:
        start.wait()
        try:
            spend.reserve_post("roast")
            outcomes.append("granted")
        except BudgetReached:
            outcomes.append("refused")

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(outcomes) == ["granted"] + ["refused"] * 7
    assert spend.today().total == 30_000  # exactly the cap, never past it
    [hold] = Holds(redis_client, RedisKeys.of(settings)).active()
    assert (hold.code, hold.stops, hold.credential) == ("daily_budget", EVERYTHING, "DAILY_BUDGET_USD")
    with pytest.raises(BudgetReached):
        spend.reserve_llm(MODEL)  # generating stops too, however cheap the call


def test_the_budget_lifts_at_the_next_utc_day(sandbox_settings: Settings, redis_client: redis.Redis) -> None:
    settings = sandbox_settings.model_copy(update={"daily_budget_usd": 0.01})
    clock = Clock("2026-12-02T23:59:58")
    spend = ledger_for(redis_client, settings, clock=clock)
    keys = RedisKeys.of(settings)
    spend.settle(spend.reserve_post("roast"))
    with pytest.raises(BudgetReached, match="2026-12-02"):
        spend.reserve_post("roast")
    assert spend.budget_reached() and Holds(redis_client, keys).active(EVERYTHING)
    assert 0 < redis_client.pttl(keys.budget_hold) <= 2000  # the hold ends at midnight UTC
    assert spend.poll_interval_s(15) == settings.budget_poll_interval_s  # reads slow down

    clock.set("2026-12-03T00:00:01")
    assert not spend.budget_reached() and spend.poll_interval_s(15) == 15
    spend.settle(spend.reserve_post("roast"))  # a new day, a new budget
    assert spend.today().day == "2026-12-03" and spend.today().total == 10_000
    assert not Holds(redis_client, keys).active()  # the day's first reservation cleared the stale hold
    assert spend.day("2026-12-02").total == 10_000 and spend.day("2026-12-02").reached


def test_an_operators_cap_for_today_lifts_the_hold(
    sandbox_settings: Settings, redis_client: redis.Redis
) -> None:
    settings = sandbox_settings.model_copy(update={"daily_budget_usd": 0.01})
    spend = ledger_for(redis_client, settings)
    keys = RedisKeys.of(settings)
    spend.settle(spend.reserve_post("roast"))
    with pytest.raises(BudgetReached):
        spend.reserve_post("roast")
    assert Holds(redis_client, keys).lift() == []  # "lift hold" leaves the budget's hold alone
    assert Holds(redis_client, keys).active()

    spend.set_cap_for_today(0.02)
    assert not Holds(redis_client, keys).active() and not spend.budget_reached()
    spend.settle(spend.reserve_post("roast"))
    with pytest.raises(BudgetReached):
        spend.reserve_post("roast")  # the raised cap holds to the cent as well
    assert spend.today().total == 20_000 and spend.today().cap_usd == 0.02
