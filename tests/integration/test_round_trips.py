"""Redis round trips per posted mention: the runner's whole path, counted by the counting
connection (roastbot.redis_conn) on one in-process runner, not timed. Each step's reads and
writes ride on the moves (roastbot.batch): a regression past the figure here fails."""

from __future__ import annotations

import threading
import traceback
from collections import Counter

import httpx
import pytest

from roastbot import redis_conn
from roastbot.keys import RedisKeys
from roastbot.redis_conn import connect_redis
from roastbot.settings import Settings
from roastbot.spend import SpendLedger
from tests.integration.runner_bench import runner_bench

pytestmark = pytest.mark.integration

# claim (+ standing, switches, author memory); rules' slots + triage + move to generating
# (+ holds); text claim + move to ready + author memory (+ switches, holds); post slot + move
# to posting; the POST's spend reservation, quota record and settlement; move to posted
# (+ engagement record).
ROUND_TRIPS_PER_POSTED_MENTION = 8


def test_a_posted_mention_costs_at_most_its_round_trips(
    x: httpx.Client, sandbox_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = connect_redis(sandbox_settings)
    spend = SpendLedger(client, RedisKeys.of(sandbox_settings), sandbox_settings)  # as the worker wires it
    with runner_bench(sandbox_settings, x, spend=spend) as bot:
        assert bot.deliver(bot.mention("warm me up"))["state"] == "posted"  # scripts loaded, bot user read
        mention = bot.fetched(bot.mention("count my round trips", author={"username": "counted"}))
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
        made = sum(callers.values())
        monkeypatch.undo()
        assert bot.state(mention.id)["state"] == "posted"
        assert redis_conn.ROUND_TRIPS.count - before >= made  # the counter saw them all
        assert made <= ROUND_TRIPS_PER_POSTED_MENTION, "\n".join(f"{n} x {c}" for c, n in callers.items())
