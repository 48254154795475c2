"""The engagement tracker: re-reads posted replies' public_metrics, at the lowest priority.

Its rule, in the order it is checked before every call:

1. Only ``GET /2/tweets`` (X's tweets-lookup endpoint, up to 100 ids a call). The mention
   poll reads ``GET /2/users/:id/mentions``, a window of its own at X, so nothing the tracker
   does can spend or share the poll's quota; it runs in a process of its own, so it never
   holds up the producer's loop either.
2. Within its own window it keeps ``ENGAGEMENT_READ_FLOOR`` calls unused: it calls only while
   the remaining count X last reported is above the floor, takes each call's unit from the
   shared quota book first (atomic, like the consumers' posts), and otherwise waits for the
   window's reset. A 429 (someone else spent it) waits for the reset too.
3. The budget: each call reserves its highest price (ids times the read price) against
   ``DAILY_BUDGET_USD`` without raising the budget hold, so a tracker read that would pass the
   cap is simply not made (posts keep what is left), and gives the reservation back once the
   gateway has billed what X actually returned.

Reads are billed as owned reads ($0.001 a post: the bot's own posts, read with its own user
token) unless ``ENGAGEMENT_READ_PRICE=other`` prices them as other post reads ($0.005).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from roastbot.engagement import LOOKUP_MAX_IDS, EngagementBook
from roastbot.outcomes import Permanent, RateLimited, Transient
from roastbot.quota import QuotaBook
from roastbot.retry import full_jitter
from roastbot.settings import Settings
from roastbot.spend import X_OTHER_READ, X_READ, BudgetReached, SpendLedger
from roastbot.telemetry import Telemetry
from roastbot.x_gateway import XGateway

log = logging.getLogger(__name__)

LOOKUP_ENDPOINT = "tweets_lookup"  # roastbot.x_gateway.endpoint_name of GET /2/tweets
BACKOFF_CAP_S = 300.0


@dataclass(frozen=True)
class Pass:
    """What one pass did: ``status`` (read, idle, quota_floor, rate_limited, budget, error) and
    when the next pass may run."""

    status: str
    read: int = 0
    wait_until: float = 0.0


class EngagementTracker:
    def __init__(
        self,
        settings: Settings,
        book: EngagementBook,
        gateway: XGateway,
        quota: QuotaBook,
        spend: SpendLedger,
        telemetry: Telemetry,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.book = book
        self.gateway = gateway
        self.quota = quota
        self.spend = spend
        self.telemetry = telemetry
        self.clock = clock
        self.read_item = X_READ if settings.engagement_read_price == "owned" else X_OTHER_READ
        self.failures = 0
        self.last: Pass = Pass("starting")

    def _quota_wait(self, now: float) -> float | None:
        """The reset to wait for when the tracker may not call now (rule 2), else None."""
        known = self.quota.snapshot(LOOKUP_ENDPOINT)
        in_window = known.remaining is not None and known.reset is not None and known.reset > now
        if (
            in_window
            and known.remaining is not None
            and known.remaining <= self.settings.engagement_read_floor
        ):
            return known.reset
        return self.quota.reserve(LOOKUP_ENDPOINT, now)

    def run_pass(self) -> Pass:
        """At most one GET /2/tweets for the replies due now, if the rules above allow it."""
        now = self.clock()
        due = self.book.due(now, LOOKUP_MAX_IDS)
        if not due:
            return Pass("idle", wait_until=now + self.settings.engagement_interval_s)
        try:
            reservation = self.spend.reserve(
                self.read_item, len(due) * self.spend.prices.of(self.read_item), raise_hold=False
            )
        except BudgetReached:
            return Pass("budget", wait_until=now + max(self.settings.engagement_interval_s, 60.0))
        try:
            reset = self._quota_wait(now)
            if reset is not None:
                return Pass("quota_floor", wait_until=reset)
            metrics = self.gateway.post_metrics(due, self.read_item)
        except RateLimited as error:
            return Pass("rate_limited", wait_until=error.reset_at)
        except (Transient, Permanent) as error:
            self.failures += 1
            log.warning("engagement read failed (%s): trying again later", error)
            return Pass("error", wait_until=now + full_jitter(self.failures, BACKOFF_CAP_S, 1.0))
        finally:
            self.spend.refund(reservation)  # the gateway billed what X returned
        self.failures = 0
        self.book.record(metrics, due)
        self.telemetry.count("engagement_read", len(metrics))
        return Pass("read", read=len(metrics), wait_until=now)

    def run(self, stop_event: threading.Event) -> None:
        """Passes until stopped, with a heartbeat (status, due, last read) every pass."""
        outage_since: float | None = None
        while not stop_event.is_set():
            try:
                self.last = self.run_pass()
                self.telemetry.heartbeat(
                    self.settings.heartbeat_ttl_s,
                    status=self.last.status,
                    due=self.book.due_count(),
                    read_last_pass=self.last.read,
                )
            except redis.RedisError as error:
                # Redis is down: nothing to track without it, so wait and try again (one line
                # when it starts, one when it ends); the process stays up.
                self.failures += 1
                if outage_since is None:
                    outage_since = self.clock()
                    log.warning("tracker: Redis unavailable (%s); retrying", error)
                stop_event.wait(full_jitter(self.failures, 30.0, 0.5))
                continue
            if outage_since is not None:
                log.info("tracker: Redis is back after %.0f s", self.clock() - outage_since)
                outage_since, self.failures = None, 0
            beat_s = self.settings.heartbeat_ttl_s / 3  # wake in time to renew the heartbeat
            pause = min(max(0.0, self.last.wait_until - self.clock()), beat_s)
            if self.last.status == "read":
                pause = min(pause, self.settings.engagement_interval_s)
            stop_event.wait(pause)
        with contextlib.suppress(redis.RedisError):  # stopping during an outage: the beat expires
            self.telemetry.clear_heartbeat()
