"""What a mention's LLM calls cost, over real Redis through the runner: each call is reserved
before it is made and booked once, with the move that follows its step (roastbot.runner's
``_book_calls``), refused drafts included; what a call answered before a failure is booked
in a round trip of its own."""

from __future__ import annotations

from contextlib import AbstractContextManager

import httpx
import pytest

from roastbot.holds import Holds
from roastbot.keys import RedisKeys
from roastbot.redis_conn import connect_redis
from roastbot.retry import Interrupted
from roastbot.roasting.base import RoastDraft, RoastRequest
from roastbot.roasting.metered import metered_roaster
from roastbot.settings import Settings
from roastbot.spend import LLM_INPUT, LLM_OUTPUT, DaySpend, SpendLedger
from tests.integration.runner_bench import RunnerBench, runner_bench

pytestmark = pytest.mark.integration

MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
PROMPT_TOKENS, COMPLETION_TOKENS = 1234, 57
CALL_COST = 1086 + 143  # 1234 x $0.88/M and 57 x $2.50/M, each rounded up (micro-dollars)
WORDS = ("velvet", "gravel", "pickle", "lantern", "walrus", "tundra", "cobalt", "marmot")


class TokenRoaster:
    """An LLM roaster's shape (fixed usage): a new text each call, or ``text`` every time; the
    first ``unsafe`` drafts carry a link (refused), and call ``fails_on`` raises a bug."""

    name = "together"
    model = MODEL

    def __init__(self, text: str = "", unsafe: int = 0, fails_on: int = 0) -> None:
        self.text, self.unsafe, self.fails_on = text, unsafe, fails_on
        self.calls = 0

    def roast(self, request: RoastRequest) -> RoastDraft:
        self.calls += 1
        if self.calls == self.fails_on:
            raise RuntimeError("the roaster broke")
        text = self.text or f"Your tabs have tabs, {WORDS[self.calls % len(WORDS)]} edition."
        if self.calls <= self.unsafe:
            text += " See https://example.com"
        return RoastDraft(
            text, self.name, self.model, prompt_tokens=PROMPT_TOKENS, completion_tokens=COMPLETION_TOKENS
        )


@pytest.fixture
def priced(sandbox_settings: Settings) -> Settings:
    return sandbox_settings.model_copy(update={"llm_prices_usd_per_mtok": {MODEL: (0.88, 2.5)}})


def bench_with(
    settings: Settings, x: httpx.Client, roaster: TokenRoaster
) -> tuple[AbstractContextManager[RunnerBench], SpendLedger]:
    """The runner with ``roaster`` behind the budget, and the ledger, as the worker wires them."""
    spend = SpendLedger(connect_redis(settings), RedisKeys.of(settings), settings)
    return runner_bench(settings, x, roaster=metered_roaster(roaster, spend), spend=spend), spend


def llm_calls_booked(today: DaySpend, calls: int) -> bool:
    """``calls`` calls' tokens booked, and the day's LLM total settled to them (posts apart)."""
    llm_total = today.total - sum(v for k, v in today.by_item.items() if k not in {LLM_INPUT, LLM_OUTPUT})
    return (
        today.counts.get(LLM_INPUT, 0) == calls * PROMPT_TOKENS
        and today.counts.get(LLM_OUTPUT, 0) == calls * COMPLETION_TOKENS
        and llm_total == calls * CALL_COST
    )


def test_refused_drafts_are_billed_with_the_move_to_skipped(priced: Settings, x: httpx.Client) -> None:
    roaster = TokenRoaster(unsafe=3)
    context, spend = bench_with(priced, x, roaster)
    with context as bot:
        state = bot.deliver(bot.mention("roast my tabs"))
    assert state["state"] == "skipped" and state["reason"].startswith("safety:")
    assert roaster.calls == priced.roast_max_attempts == 3
    assert llm_calls_booked(spend.today(), 3), spend.today()


def test_a_draft_whose_text_another_mention_took_is_billed_once(priced: Settings, x: httpx.Client) -> None:
    """The move to ready refused (the text is taken) still wrote its draft's booking; the next
    move books only the drafts written after it."""
    roaster = TokenRoaster(text="Your tabs have tabs, and the tabs have opinions.")
    context, spend = bench_with(priced, x, roaster)
    with context as bot:
        assert bot.deliver(bot.mention("roast my tabs"))["state"] == "posted"  # 1 call
        second = bot.deliver(bot.mention("roast my tabs too", author={"username": "second"}))
    # The taken text (1 call), then three drafts repeating it, refused (3 calls).
    assert second["state"] == "skipped" and "repeated" in second["reason"]
    assert roaster.calls == 5
    assert llm_calls_booked(spend.today(), 5), spend.today()


def test_calls_answered_before_a_failure_are_booked_and_the_failed_one_refunded(
    priced: Settings, x: httpx.Client
) -> None:
    roaster = TokenRoaster(unsafe=1, fails_on=2)  # a refused draft, then a bug in the second call
    context, spend = bench_with(priced, x, roaster)
    with context as bot:
        mention_id = bot.mention("roast my tabs")
        with pytest.raises(RuntimeError, match="the roaster broke"):
            bot.deliver(mention_id)
        assert bot.state(mention_id)["state"] == "generating"  # handed back for the next attempt
    assert roaster.calls == 2
    assert llm_calls_booked(spend.today(), 1), spend.today()


def test_the_first_calls_price_a_limit_refused_with_the_move_is_refunded(
    priced: Settings, x: httpx.Client
) -> None:
    """The first call's price is reserved with the move to generating, before the limits'
    slots: when a limit refuses the move, that price goes back (no call was made)."""
    settings = priced.model_copy(update={"per_author_limit_per_hour": 1})
    roaster = TokenRoaster()
    context, spend = bench_with(settings, x, roaster)
    with context as bot:
        assert bot.deliver(bot.mention("roast my tabs", author={"username": "twice"}))["state"] == "posted"
        second = bot.deliver(bot.mention("roast my tabs again", author={"username": "twice"}))
    assert second["state"] == "skipped" and second["reason"] == "author_limit", second
    assert roaster.calls == 1
    assert llm_calls_booked(spend.today(), 1), spend.today()


def test_a_price_reserved_with_the_move_to_generating_and_never_used_is_refunded(
    priced: Settings, x: httpx.Client
) -> None:
    """A hold stops generating and the worker shuts down while the mention waits in it: the
    price reserved for its first call goes back to the day's total."""
    roaster = TokenRoaster()
    context, spend = bench_with(priced, x, roaster)
    with context as bot:
        Holds(bot.runner.store.client, bot.keys).raise_hold("llm_auth", "the LLM refused the API key")
        bot.runner.policy.stop_event.set()  # the wait for the hold ends at once: a shutdown
        mention_id = bot.mention("roast my tabs")
        with pytest.raises(Interrupted):
            bot.deliver(mention_id)
        assert bot.state(mention_id)["state"] == "generating"  # admitted: its price was reserved
    assert roaster.calls == 0
    assert llm_calls_booked(spend.today(), 0), spend.today()  # reads apart
