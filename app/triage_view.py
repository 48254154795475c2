"""The quota triage queue as the console shows it: how many mentions wait for a post slot,
the oldest, who gets the next slot, and what triage does with a mention arriving now."""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.caching import FAST_TTL_S, cached
from app.connections import console_redis, redis_errors
from roastbot.settings import Settings
from roastbot.triage import QuotaTriage, Verdict

OLDEST_SCAN = 500  # waiting mentions read for the oldest (a few consumers' slots at most)


@dataclass(frozen=True)
class TriageQueue:
    order: str
    waiting: int
    oldest_age_s: float | None
    next_mention_id: str | None
    next_age_s: float | None
    arriving_now: Verdict
    budget_s: float


@cached(FAST_TTL_S)
def triage_queue(settings: Settings) -> TriageQueue:
    client, keys = console_redis(settings)
    triage = QuotaTriage.from_settings(client, keys, settings)
    now = time.time()
    with redis_errors(settings):
        members = [m.mention_id for m in triage.waiting(OLDEST_SCAN)]
        created = triage.created_at(members)
        outlook = triage.outlook(now)
        count = triage.waiting_count()
    first = members[0] if members else None
    return TriageQueue(
        order=settings.triage,
        waiting=count,
        oldest_age_s=now - min(created.values()) if created else None,
        next_mention_id=first,
        next_age_s=now - created[first] if first in created else None,
        arriving_now=outlook,
        budget_s=triage.budget_s,
    )
