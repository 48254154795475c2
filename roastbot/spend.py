"""What the bot spends, and the daily budget that stops it.

Every post and LLM call is priced from the settings and *reserved* before it is made: one
Lua script adds its price to the day's total unless that would pass the cap, so however
many consumers race for the last cent, the day never spends past it. A call that fails
gives its reservation back; an LLM call is settled to what its ``usage`` says. Reads are
recorded after the answer (their price depends on how many posts came back): the producer
only slows down while the budget is spent; the engagement tracker, the lowest priority,
reserves each read softly first (``raise_hold=False``) and stops at the cap.

Amounts are integer micro-dollars in Redis (exact sums; an LLM call's fraction of a
micro-dollar is rounded up). Day hashes expire after two months, minute hashes after 25 h.

When a reservation is refused the script also raises the budget hold (a key of its own that
expires at the next UTC midnight): posting and generating stop for every consumer, with the
console's banner, until the day ends or an operator sets a higher cap for the day.
"""

from __future__ import annotations

import calendar
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter

from roastbot.batch import Op, command, load_script
from roastbot.holds import hold_record
from roastbot.keys import MINUTE_BUCKET_TTL_S, SPEND_DAY_TTL_S, SPEND_READ_IDS_TTL_S, RedisKeys
from roastbot.outcomes import Permanent
from roastbot.redis_conn import RedisClient
from roastbot.settings import Settings

if TYPE_CHECKING:  # the roasting package loads the safety models: not for the producer
    from roastbot.roasting.base import RoastDraft
    from roastbot.roasting.llm_client import ChatAnswer

log = logging.getLogger(__name__)

MICRO = 1_000_000
BUDGET_HOLD = "daily_budget"  # the hold's code in roastbot.holds.CAUSES
BUDGET_SETTING = "DAILY_BUDGET_USD"

# The items priced (Redis fields and the Prometheus label).
X_REPLY = "x_reply"  # a reply to a post that mentioned the bot
X_POST = "x_post"
X_POST_WITH_URL = "x_post_with_url"
X_READ = "x_read"  # owned reads: own mentions, own posts, own user
X_OTHER_READ = "x_other_read"
LLM = "llm"  # a reservation; settled as the two below
LLM_INPUT = "llm_input"
LLM_OUTPUT = "llm_output"
POST_ITEMS = (X_REPLY, X_POST, X_POST_WITH_URL)


class BudgetReached(Permanent):
    """The next post or LLM call would pass the day's budget: a global hold (roastbot.holds)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, code=BUDGET_HOLD)


def micro(usd: float) -> int:
    return round(Decimal(str(usd)) * MICRO)


def utc_day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def next_utc_midnight(timestamp: float) -> float:
    start = datetime.fromtimestamp(timestamp, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (start + timedelta(days=1)).timestamp()


@dataclass(frozen=True)
class Prices:
    """Micro-dollars per item; LLM prices in USD per million tokens (= micro-dollars a token)."""

    x_reply: int
    x_post: int
    x_post_with_url: int
    x_read: int
    x_other_read: int
    llm: dict[str, tuple[float, float]]

    @classmethod
    def from_settings(cls, settings: Settings) -> Prices:
        return cls(
            x_reply=micro(settings.price_x_reply_usd),
            x_post=micro(settings.price_x_post_usd),
            x_post_with_url=micro(settings.price_x_post_with_url_usd),
            x_read=micro(settings.price_x_read_per_post_usd),
            x_other_read=micro(settings.price_x_other_read_per_post_usd),
            llm=dict(settings.llm_prices_usd_per_mtok),
        )

    def of(self, item: str) -> int:
        return int(getattr(self, item))

    @staticmethod
    def post_item(text: str, summoned: bool = True) -> str:
        """The item a post is billed as: any URL makes it the dear kind (X finds URLs as
        twitter-text does); a reply to a post that mentioned the bot is the cheap kind."""
        # Imported here: twitter-text costs about 0.3 s of CPU (pkg_resources, its emoji
        # pattern), and the producer and the tracker, which never post, would pay it at start.
        from roastbot.roasting.tweet_length import extract_urls  # twitter-text's, made cheaper

        if extract_urls(text):
            return X_POST_WITH_URL
        return X_REPLY if summoned else X_POST

    def llm_cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> tuple[int, int]:
        """Micro-dollars for the input and the output tokens (0 for a model without a price)."""
        price_in, price_out = self.llm.get(model, (0.0, 0.0))
        return math.ceil(prompt_tokens * price_in), math.ceil(completion_tokens * price_out)


@dataclass(frozen=True)
class Reservation:
    day: str
    item: str
    amount: int  # micro-dollars added to the day's total


@dataclass(frozen=True)
class DaySpend:
    day: str
    total: int  # micro-dollars
    by_item: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # posts, posts read, tokens
    cap: int | None = None  # micro-dollars; None: no cap
    reached: bool = False

    @property
    def total_usd(self) -> float:
        return self.total / MICRO

    @property
    def posts(self) -> int:
        return sum(self.counts.get(item, 0) for item in POST_ITEMS)

    @property
    def per_post_usd(self) -> float | None:
        """Everything spent today (reads and tokens too) over the posts it bought."""
        return self.total_usd / self.posts if self.posts else None

    @property
    def cap_usd(self) -> float | None:
        return None if self.cap is None else self.cap / MICRO


_COUNTERS: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()
_COUNTERS_LOCK = threading.Lock()


def spend_counter(registry: CollectorRegistry) -> Counter:
    """``roastbot_spend_usd_total{item}`` in a worker's registry (one per registry)."""
    with _COUNTERS_LOCK:
        if registry not in _COUNTERS:
            _COUNTERS[registry] = Counter(
                "roastbot_spend_usd", "US dollars spent, by priced item", ["item"], registry=registry
            )
        return _COUNTERS[registry]


class SpendLedger:
    """The cost ledger and the daily budget, shared by every worker through Redis."""

    def __init__(
        self,
        client: RedisClient,
        keys: RedisKeys,
        settings: Settings,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.keys = keys
        self.settings = settings
        self.prices = Prices.from_settings(settings)
        self.clock = clock
        self._counter = spend_counter(registry) if registry is not None else None
        self._reserve = load_script(client, "spend_reserve")

    # --- reservations (posts, LLM calls) ----------------------------------------------
    def reserve_op(self, item: str, amount: int, raise_hold: bool = True) -> tuple[Op, Reservation]:
        """``reserve`` as an op, a gate (``refused`` reads a refusal's answer), and the
        reservation it makes when it lets the batch go on."""
        now = self.clock()
        day = utc_day(now)
        cap = self.settings.daily_budget_usd
        detail = (
            f"{BUDGET_SETTING} reached on {day} (UTC): the next {item} "
            f"(${amount / MICRO:.4f}) would pass the day's cap"
        )
        args = (
            amount,
            -1 if cap is None else micro(cap),
            hold_record(BUDGET_HOLD, detail, BUDGET_SETTING, since=now),
            max(1, int((next_utc_midnight(now) - now) * 1000)),
            SPEND_DAY_TTL_S,
            int(raise_hold),
        )
        op = Op("spend_reserve", (self.keys.spend_day(day), self.keys.budget_hold), args, gate="1")
        return op, Reservation(day, item, amount)

    def refused(self, answer: object, reservation: Reservation) -> BudgetReached:
        """What a refused reservation means (2: this one raised the budget hold)."""
        detail = (
            f"{BUDGET_SETTING} reached on {reservation.day} (UTC): the next {reservation.item} "
            f"(${reservation.amount / MICRO:.4f}) would pass the day's cap"
        )
        if str(answer) == "2":
            log.warning("daily budget reached: posting and generating stop until 00:00 UTC (%s)", detail)
        return BudgetReached(detail)

    def reserve(self, item: str, amount: int, raise_hold: bool = True) -> Reservation:
        """Add ``amount`` to today's total unless that passes the cap; BudgetReached if it would
        (and, unless ``raise_hold`` is False, the budget hold stops posting and generating)."""
        return self._reserved(*self.reserve_op(item, amount, raise_hold))

    def _reserved(self, op: Op, reservation: Reservation) -> Reservation:
        granted = self._reserve(keys=list(op.keys), args=list(op.args))
        if int(granted) == 1:
            return reservation
        raise self.refused(granted, reservation)

    def post_reservation_op(self, text: str, summoned: bool = True) -> tuple[Op, Reservation]:
        """``reserve_post`` as an op (``reserve_op``)."""
        item = self.prices.post_item(text, summoned)
        return self.reserve_op(item, self.prices.of(item))

    def reserve_post(self, text: str, summoned: bool = True) -> Reservation:
        return self._reserved(*self.post_reservation_op(text, summoned))

    def llm_reservation_op(self, model: str) -> tuple[Op, Reservation]:
        """``reserve_llm`` as an op (``reserve_op``)."""
        cost_in, cost_out = self.prices.llm_cost(
            model, self.settings.llm_reserve_prompt_tokens, self.settings.llm_reserve_completion_tokens
        )
        return self.reserve_op(LLM, cost_in + cost_out)

    def reserve_llm(self, model: str) -> Reservation:
        """A call's price before its usage is known: LLM_RESERVE_*_TOKENS at the model's price."""
        return self._reserved(*self.llm_reservation_op(model))

    def refund(self, reservation: Reservation) -> None:
        """The call failed: nothing was billed."""
        if reservation.amount:
            self.client.hincrby(self.keys.spend_day(reservation.day), "total", -reservation.amount)

    def settle(self, reservation: Reservation, charges: dict[str, tuple[int, int]] | None = None) -> None:
        """Book what the call cost: ``charges`` item -> (micro-dollars, count); by default the
        reserved item at its reserved price, once. The day's total moves by the difference."""
        self._run(self.settle_ops(reservation, charges))

    def settle_ops(
        self, reservation: Reservation, charges: dict[str, tuple[int, int]] | None = None
    ) -> list[Op]:
        """``settle`` as ops, for a batch (the Prometheus counter counts them now)."""
        charges = charges if charges is not None else {reservation.item: (reservation.amount, 1)}
        actual = sum(amount for amount, _count in charges.values())
        return self._book_ops(reservation.day, charges, total_delta=actual - reservation.amount)

    def settle_llm(self, reservation: Reservation, usage: RoastDraft | ChatAnswer) -> None:
        """Book an LLM call (a roaster's draft or the guard's answer) from the tokens it used."""
        self._run(self.settle_llm_ops(reservation, usage))

    def settle_llm_ops(self, reservation: Reservation, usage: RoastDraft | ChatAnswer) -> list[Op]:
        """``settle_llm`` as ops, for a batch (``settle_ops``)."""
        cost_in, cost_out = self.prices.llm_cost(usage.model, usage.prompt_tokens, usage.completion_tokens)
        charges = {LLM_INPUT: (cost_in, usage.prompt_tokens), LLM_OUTPUT: (cost_out, usage.completion_tokens)}
        return self.settle_ops(reservation, charges)

    # --- reads ------------------------------------------------------------------------
    def record_reads(self, item: str, post_ids: Iterable[str]) -> int:
        """Bill the posts an answer returned, each once per UTC day (as X does); returns the
        micro-dollars charged."""
        ids = sorted({str(post_id) for post_id in post_ids})
        if not ids:
            return 0  # an answer without data is not billed
        day = utc_day(self.clock())
        key = self.keys.spend_read_ids(day)
        pipe = self.client.pipeline(transaction=False)
        pipe.sadd(key, *ids)
        pipe.expire(key, SPEND_READ_IDS_TTL_S)
        new, _ = pipe.execute()
        amount = int(new) * self.prices.of(item)
        if new:
            self._book(day, {item: (amount, int(new))}, total_delta=amount)
        return amount

    def _book(self, day: str, charges: dict[str, tuple[int, int]], total_delta: int) -> None:
        self._run(self._book_ops(day, charges, total_delta))

    def _book_ops(self, day: str, charges: dict[str, tuple[int, int]], total_delta: int) -> list[Op]:
        day_key, minute_key = self.keys.spend_day(day), self.keys.spend_minute(int(self.clock() // 60))
        ops = [command("HINCRBY", day_key, args=["total", total_delta])] if total_delta else []
        for item, (amount, count) in charges.items():
            ops.append(command("HINCRBY", day_key, args=[f"usd:{item}", amount]))
            ops.append(command("HINCRBY", day_key, args=[f"count:{item}", count]))
            ops.append(command("HINCRBY", minute_key, args=[item, amount]))
        ops.append(command("EXPIRE", day_key, args=[SPEND_DAY_TTL_S]))
        ops.append(command("EXPIRE", minute_key, args=[MINUTE_BUCKET_TTL_S]))
        if self._counter is not None:
            for item, (amount, _count) in charges.items():
                if amount:
                    self._counter.labels(item=item).inc(amount / MICRO)
        return ops

    def _run(self, ops: list[Op]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for op in ops:
            pipe.execute_command(op.name, *op.keys, *op.args)
        pipe.execute()

    # --- what was spent ---------------------------------------------------------------
    def day(self, day: str) -> DaySpend:
        raw = self.client.hgetall(self.keys.spend_day(day))
        cap = raw.get("cap")
        configured = self.settings.daily_budget_usd
        cap_micro = int(cap) if cap is not None else (None if configured is None else micro(configured))
        return DaySpend(
            day=day,
            total=int(raw.get("total") or 0),
            by_item={k.removeprefix("usd:"): int(v) for k, v in raw.items() if k.startswith("usd:")},
            counts={k.removeprefix("count:"): int(v) for k, v in raw.items() if k.startswith("count:")},
            cap=None if cap_micro is not None and cap_micro < 0 else cap_micro,
            reached=raw.get("reached") == "1",
        )

    def today(self) -> DaySpend:
        return self.day(utc_day(self.clock()))

    def month_to_date(self) -> int:
        """Micro-dollars spent since the 1st of this UTC month."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        pipe = self.client.pipeline(transaction=False)
        for day_of_month in range(1, now.day + 1):
            pipe.hget(self.keys.spend_day(now.replace(day=day_of_month).strftime("%Y-%m-%d")), "total")
        return sum(int(total or 0) for total in pipe.execute())

    def projected_month_usd(self) -> float:
        """This month's spend at the rate it has run since the 1st."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        elapsed_s = max(60.0, (now - start).total_seconds())  # the first minute is no rate yet
        month_s = calendar.monthrange(now.year, now.month)[1] * 86400
        return self.month_to_date() / MICRO * month_s / elapsed_s

    # --- the budget -------------------------------------------------------------------
    def budget_reached(self) -> bool:
        return bool(self.client.hexists(self.keys.spend_day(utc_day(self.clock())), "reached"))

    def poll_interval_s(self, interval_s: float) -> float:
        """The producer's interval: no shorter than BUDGET_POLL_INTERVAL_S while the budget is spent."""
        if self.budget_reached():
            return max(interval_s, self.settings.budget_poll_interval_s)
        return interval_s

    def set_cap_for_today(self, usd: float | None) -> None:
        """An operator's cap for today (None: back to DAILY_BUDGET_USD). Lifts the budget hold:
        the next reservation decides again against the new cap."""
        key = self.keys.spend_day(utc_day(self.clock()))
        pipe = self.client.pipeline(transaction=True)
        if usd is None:
            pipe.hdel(key, "cap")
        else:
            pipe.hset(key, "cap", micro(usd))
        pipe.hdel(key, "reached")
        pipe.delete(self.keys.budget_hold)
        pipe.expire(key, SPEND_DAY_TTL_S)
        pipe.execute()
