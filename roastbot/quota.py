"""One shared picture of the X quota, kept in Redis from the headers X sends.

Every worker records what it sees; before a call, a worker asks whether the call is
known to be refused (``blocked_until``) or, for posting, reserves one unit atomically
(``reserve``) so that many consumers together never spend more than X grants.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import redis

from roastbot.keys import RedisKeys

# Atomically take one unit of quota unless the window is known to be spent.
# Returns 0 when the caller may go ahead, else the reset time (Unix seconds).
_RESERVE = """
local remaining = tonumber(redis.call('HGET', KEYS[1], 'remaining'))
local reset = tonumber(redis.call('HGET', KEYS[1], 'reset'))
local now = tonumber(ARGV[1])
if remaining == nil or reset == nil or reset <= now then
  return 0
end
if remaining <= 0 then
  return reset
end
redis.call('HINCRBY', KEYS[1], 'remaining', -1)
return 0
"""

# The header families X sends; the 24-hour ones are undocumented and optional.
_HEADER_FAMILIES = {
    "window": "x-rate-limit-",
    "app_24h": "x-app-limit-24hour-",
    "user_24h": "x-user-limit-24hour-",
}


@dataclass(frozen=True)
class QuotaSnapshot:
    endpoint: str
    limit: int | None
    remaining: int | None
    reset: float | None
    seen_at: float | None

    def exhausted_until(self, now: float) -> float | None:
        if self.remaining is not None and self.remaining <= 0 and self.reset and self.reset > now:
            return self.reset
        return None


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_quota_headers(headers: Mapping[str, str]) -> dict[str, int]:
    """The tightest of X's limits in one answer: (limit, remaining, reset)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    tightest: dict[str, int] = {}
    for prefix in _HEADER_FAMILIES.values():
        remaining = _int_or_none(lowered.get(prefix + "remaining"))
        reset = _int_or_none(lowered.get(prefix + "reset"))
        limit = _int_or_none(lowered.get(prefix + "limit"))
        if remaining is None or reset is None:
            continue
        exhausted_later = remaining <= 0 and reset > tightest.get("reset", 0)
        if not tightest or remaining < tightest["remaining"] or exhausted_later:
            tightest = {"limit": limit if limit is not None else -1, "remaining": remaining, "reset": reset}
    return tightest


class QuotaBook:
    def __init__(self, client: redis.Redis, keys: RedisKeys) -> None:
        self.client = client
        self.keys = keys
        self._reserve = client.register_script(_RESERVE)

    def record(self, endpoint: str, headers: Mapping[str, str], refused: bool = False) -> None:
        """Store the quota X reported for an endpoint (a 429 means nothing is left)."""
        quota = parse_quota_headers(headers)
        if not quota:
            return
        if refused:
            quota["remaining"] = 0
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(self.keys.quota(endpoint), mapping={**quota, "seen_at": time.time()})
        pipe.sadd(self.keys.quota_endpoints, endpoint)
        pipe.execute()

    def mark_exhausted(self, endpoint: str, reset_at: float) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(
            self.keys.quota(endpoint),
            mapping={"remaining": 0, "reset": int(reset_at), "seen_at": time.time()},
        )
        pipe.sadd(self.keys.quota_endpoints, endpoint)
        pipe.execute()

    def snapshot(self, endpoint: str) -> QuotaSnapshot:
        raw = self.client.hgetall(self.keys.quota(endpoint))
        seen_at = raw.get("seen_at")
        return QuotaSnapshot(
            endpoint=endpoint,
            limit=_int_or_none(raw.get("limit")),
            remaining=_int_or_none(raw.get("remaining")),
            reset=float(raw["reset"]) if raw.get("reset") else None,
            seen_at=float(seen_at) if seen_at else None,
        )

    def blocked_until(self, endpoint: str, now: float | None = None) -> float | None:
        """The reset time when the endpoint's quota is known to be spent, else None."""
        return self.snapshot(endpoint).exhausted_until(now if now is not None else time.time())

    def reserve(self, endpoint: str, now: float | None = None) -> float | None:
        """Take one unit of quota; None when granted, else the reset time to wait for."""
        result = self._reserve(
            keys=[self.keys.quota(endpoint)], args=[now if now is not None else time.time()]
        )
        return float(result) if int(result) else None
