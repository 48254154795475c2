"""Redis round trips per posted mention: the runner's whole path, counted by the counting
connection (roastbot.redis_conn) on one in-process runner, not timed. Each step's reads and
writes ride on the moves (roastbot.batch): a regression past the figure here fails."""

from __future__ import annotations

import threading
import time
import traceback
from collections import Counter

import httpx
import pytest

from roastbot import redis_conn
from roastbot.keys import RedisKeys
from roastbot.models import Mention
from roastbot.quota import QuotaBook
from roastbot.redis_conn import connect_redis
from roastbot.roasting.metered import metered_roaster
from roastbot.settings import Settings
from roastbot.spend import LLM_INPUT, SpendLedger
from tests.integration.runner_bench import RunnerBench, runner_bench
from tests.integration.test_llm_bookings import MODEL, PROMPT_TOKENS, TokenRoaster

pytestmark = pytest.mark.integration

# 1 the claim (+ standing, switches, author memory); 2 the limits' slots + triage + the move
# to generating (+ holds); 3 the text claim + the move to ready + author memory (+ switches,
# holds); 4 the post slot + the POST's price + the move to posting; 5 the POST's quota and price
# + the move to posted + the engagement record. Was 21 (one per read, write and move).
ROUND_TRIPS_PER_POSTED_MENTION = 5


# An LLM roast costs no round trip more: its first call's price is reserved with the move to
# generating (2), what the call cost is booked with the move to ready (3). Was 7 (the
# reservation and the booking each a round trip of its own), then 6 (the reservation).
ROUND_TRIPS_PER_POSTED_LLM_ROAST = ROUND_TRIPS_PER_POSTED_MENTION


def counted_run(bot: RunnerBench, mention: Mention, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """One delivery of ``mention``; the round trips it made, by their callers in roastbot."""
    callers: Counter[str] = Counter()
    test_thread = threading.get_ident()
    add = redis_conn.ROUND_TRIPS.add

    def counted() -> None:
        add()
        if threading.get_ident() == test_thread:
            frames = [f for f in traceback.extract_stack() if "/roastbot/" in f.filename]
            callers[" < ".join(f"{f.name}" for f in reversed(frames[-4:]))] += 1

    monkeypatch.setattr(redis_conn.ROUND_TRIPS, "add", counted)
    before = redis_conn.ROUND_TRIPS.count
    bot.runner.run_message(bot.delivered(mention))  # type: ignore[arg-type]
    made, counter_saw = sum(callers.values()), redis_conn.ROUND_TRIPS.count - before
    monkeypatch.undo()
    assert counter_saw >= made > 0  # the counting connection saw them all
    return callers


def listed(callers: Counter[str]) -> str:
    return "\n".join(f"{n} x {c}" for c, n in callers.items())


def test_a_posted_mention_costs_at_most_its_round_trips(
    x: httpx.Client, sandbox_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, keys = connect_redis(sandbox_settings), RedisKeys.of(sandbox_settings)
    spend = SpendLedger(client, keys, sandbox_settings)  # as the worker wires it
    with runner_bench(sandbox_settings, x, spend=spend) as bot:
        assert bot.deliver(bot.mention("warm me up"))["state"] == "posted"  # scripts loaded, bot user read
        mention = bot.fetched(bot.mention("count my round trips", author={"username": "counted"}))
        replies_paid = spend.today().counts.get("x_reply", 0)
        asked_at = time.time()
        callers = counted_run(bot, mention, monkeypatch)
        state = bot.state(mention.id)
        assert state["state"] == "posted"
        # What rode on the moves was written: the POST's price and quota, the tracker's record.
        assert spend.today().counts.get("x_reply", 0) == replies_paid + 1
        assert (QuotaBook(client, keys).snapshot("post").seen_at or 0) >= asked_at
        assert client.hget(keys.engagement_post(state["reply_id"]), "mention_id") == mention.id
        assert sum(callers.values()) <= ROUND_TRIPS_PER_POSTED_MENTION, listed(callers)


def test_a_posted_llm_roast_costs_no_round_trip_more(
    x: httpx.Client, sandbox_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = sandbox_settings.model_copy(update={"llm_prices_usd_per_mtok": {MODEL: (0.88, 2.5)}})
    client, keys = connect_redis(settings), RedisKeys.of(settings)
    spend = SpendLedger(client, keys, settings)
    with runner_bench(settings, x, roaster=metered_roaster(TokenRoaster(), spend), spend=spend) as bot:
        assert bot.deliver(bot.mention("warm me up"))["state"] == "posted"
        mention = bot.fetched(bot.mention("count my round trips", author={"username": "counted"}))
        callers = counted_run(bot, mention, monkeypatch)
        assert bot.state(mention.id)["state"] == "posted"
        assert spend.today().counts[LLM_INPUT] == 2 * PROMPT_TOKENS  # what rode on the move was written
        assert sum(callers.values()) <= ROUND_TRIPS_PER_POSTED_LLM_ROAST, listed(callers)
