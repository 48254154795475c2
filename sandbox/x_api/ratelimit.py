"""X's rate limits per endpoint and 24-hour posting caps, with a time scale for tests.

Windows are fixed: a window opens on the first request and lasts `seconds / time_scale`
real seconds. Reset headers are real Unix seconds rounded up, so a client that waits
until the reset is never refused by the window it waited for.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

QUARTER_HOUR = 15 * 60
DAY = 24 * 60 * 60
ENDPOINTS = ("mentions", "post", "me", "user_tweets", "tweets_lookup")


@dataclass(frozen=True)
class Window:
    seconds: int
    per_user: int
    per_app: int


@dataclass(frozen=True)
class Tier:
    name: str
    windows: Mapping[str, Window]
    post_per_user_24h: int  # x-user-limit-24hour-*
    post_per_app_24h: int  # x-app-limit-24hour-*


def _tier(name: str, post_user: int, post_app: int, **windows: Window) -> Tier:
    return Tier(name, windows, post_user, post_app)


# Mentions and POST /2/tweets: X docs (Dec 2025), see /work/shared/FACTS.md. The other
# endpoints follow X's published table as best known (me, lookups, user timelines).
PRESETS: dict[str, Tier] = {
    "free": _tier(
        "free",
        17,
        17,
        mentions=Window(QUARTER_HOUR, 1, 1),
        post=Window(DAY, 17, 17),
        me=Window(DAY, 25, 25),
        user_tweets=Window(QUARTER_HOUR, 1, 1),
        tweets_lookup=Window(QUARTER_HOUR, 1, 1),
    ),
    "basic": _tier(
        "basic",
        100,
        1667,
        mentions=Window(QUARTER_HOUR, 10, 15),
        post=Window(DAY, 100, 1667),
        me=Window(DAY, 100, 100),
        user_tweets=Window(QUARTER_HOUR, 5, 10),
        tweets_lookup=Window(QUARTER_HOUR, 15, 15),
    ),
    "pro": _tier(
        "pro",
        10_000,
        10_000,
        mentions=Window(QUARTER_HOUR, 300, 450),
        post=Window(QUARTER_HOUR, 100, 10_000),
        me=Window(QUARTER_HOUR, 75, 75),
        user_tweets=Window(QUARTER_HOUR, 900, 1500),
        tweets_lookup=Window(QUARTER_HOUR, 900, 450),
    ),
    "unlimited": _tier(
        "unlimited",
        10_000_000,
        10_000_000,
        **{name: Window(QUARTER_HOUR, 1_000_000, 1_000_000) for name in ENDPOINTS},
    ),
}


@dataclass
class _Bucket:
    limit: int
    length_s: float  # real seconds
    opened_at: float | None = None
    used: int = 0

    def roll(self, now: float) -> None:
        if self.opened_at is None or now >= self.opened_at + self.length_s:
            self.opened_at, self.used = now, 0

    def reset_at(self, now: float) -> int:
        opened = now if self.opened_at is None else self.opened_at
        return math.ceil(opened + self.length_s)

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    headers: dict[str, str]
    reset_at: int  # when the refusing limit (or the window) resets


@dataclass
class RateLimiter:
    tier: Tier
    time_scale: float = 1.0
    clock: Callable[[], float] = time.time
    _buckets: dict[tuple[str, str], _Bucket] = field(default_factory=dict)

    def configure(self, tier: Tier, time_scale: float) -> None:
        """Switch preset and scale; every counter starts afresh."""
        self.tier, self.time_scale = tier, time_scale
        self._buckets.clear()

    def reset(self) -> None:
        self._buckets.clear()

    def _bucket(self, key: tuple[str, str], limit: int, seconds: int) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(limit, seconds / self.time_scale)
        bucket.roll(self.clock())
        return bucket

    def _involved(self, endpoint: str, kind: str) -> list[tuple[str, _Bucket]]:
        window = self.tier.windows.get(endpoint)
        if window is None:
            return []
        limit = window.per_user if kind == "user" else window.per_app
        involved = [("x-rate-limit-", self._bucket((endpoint, kind), limit, window.seconds))]
        if endpoint == "post":
            involved.append(
                ("x-app-limit-24hour-", self._bucket(("post-24h", "app"), self.tier.post_per_app_24h, DAY))
            )
            involved.append(
                ("x-user-limit-24hour-", self._bucket(("post-24h", "user"), self.tier.post_per_user_24h, DAY))
            )
        return involved

    def _headers(self, involved: list[tuple[str, _Bucket]], now: float) -> dict[str, str]:
        headers = {}
        for prefix, bucket in involved:
            headers[prefix + "limit"] = str(bucket.limit)
            headers[prefix + "remaining"] = str(bucket.remaining)
            headers[prefix + "reset"] = str(bucket.reset_at(now))
        return headers

    def acquire(self, endpoint: str, kind: str) -> Decision:
        """Count one request, unless a limit it draws on is spent."""
        now = self.clock()
        involved = self._involved(endpoint, kind)
        spent = [bucket for _, bucket in involved if bucket.remaining == 0]
        if not spent:
            for _, bucket in involved:
                bucket.used += 1
        resets = [b.reset_at(now) for b in spent] or [b.reset_at(now) for _, b in involved[:1]] or [int(now)]
        return Decision(allowed=not spent, headers=self._headers(involved, now), reset_at=max(resets))

    def peek(self, endpoint: str, kind: str) -> dict[str, str]:
        """The headers an answer carries without counting it (faults, auth failures)."""
        return self._headers(self._involved(endpoint, kind), self.clock())

    def snapshot(self) -> dict[str, object]:
        now = self.clock()
        for bucket in self._buckets.values():
            bucket.roll(now)
        counters = {
            f"{endpoint}:{kind}": {
                "limit": bucket.limit,
                "used": bucket.used,
                "remaining": bucket.remaining,
                "reset": bucket.reset_at(now),
                "window_s": bucket.length_s,
            }
            for (endpoint, kind), bucket in sorted(self._buckets.items())
        }
        return {"tier": self.tier.name, "time_scale": self.time_scale, "counters": counters}
