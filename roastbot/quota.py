"""One shared picture of the X quota, kept in Redis from the headers X sends.

Every worker records what it sees; before a call, a worker asks whether the call is
known to be refused (``blocked_until``) or, for posting, reserves one unit atomically
(``reserve``) so that many consumers together never spend more than X grants.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from roastbot.batch import Op, load_script
from roastbot.keys import RedisKeys
from roastbot.redis_conn import RedisClient

# Give back one unit lua/quota_take.lua counted for a call that never reached X (the daily budget refused
# it first): only in the window it was counted in, never above the limit. ARGV: that window's reset.
_GIVE_BACK = """
local q = redis.call('HMGET', KEYS[1], 'limit', 'remaining', 'reset')
local limit, remaining, reset = tonumber(q[1]), tonumber(q[2]), tonumber(q[3])
if remaining == nil or reset ~= tonumber(ARGV[1]) or (limit ~= nil and remaining >= limit) then
  return 0
end
redis.call('HINCRBY', KEYS[1], 'remaining', 1)
return 1
"""

# The header families X sends; the 24-hour ones are undocumented and optional.
_HEADER_FAMILIES = {
    "window": "x-rate-limit-",
    "app_24h": "x-app-limit-24hour-",
    "user_24h": "x-user-limit-24hour-",
}


@dataclass(frozen=True)
class Slot:
    """One ``QuotaBook.take``: ``wait_until`` is None when granted; ``window`` is the reset of the
    known window the unit was counted in (None when it was not counted)."""

    wait_until: float | None
    window: float | None


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
    def __init__(self, client: RedisClient, keys: RedisKeys) -> None:
        self.client = client
        self.keys = keys
        self._reserve = load_script(client, "quota_take")
        self._record = load_script(client, "quota_record")
        self._give_back = client.register_script(_GIVE_BACK)

    def record_op(
        self, endpoint: str, headers: Mapping[str, str], refused: bool = False, now: float | None = None
    ) -> Op | None:
        """``record`` as an op (None when the answer carried no quota)."""
        quota = parse_quota_headers(headers)
        if not quota:
            return None
        now = time.time() if now is None else now
        keys = (self.keys.quota(endpoint), self.keys.quota_endpoints)
        remaining = 0 if refused else quota["remaining"]
        return Op(
            "quota_record",
            keys,
            (quota["limit"], remaining, quota["reset"], now, int(refused), now, endpoint),
        )

    def record(
        self, endpoint: str, headers: Mapping[str, str], refused: bool = False, now: float | None = None
    ) -> None:
        """Store the quota X reported for an endpoint (a 429 means nothing is left)."""
        op = self.record_op(endpoint, headers, refused, now)
        if op is not None:
            self._record(keys=list(op.keys), args=list(op.args))

    def write(self, ops: list[Op]) -> None:
        """Ops of ``record_op`` (deferred by a caller that could not write them), now."""
        for op in ops:
            self._record(keys=list(op.keys), args=list(op.args))

    def mark_exhausted(self, endpoint: str, reset_at: float) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(
            self.keys.quota(endpoint),
            mapping={"remaining": 0, "reset": int(reset_at), "seen_at": time.time(), "assumed": 0},
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
        return self.take(endpoint, now).wait_until

    def take(self, endpoint: str, now: float | None = None, leaving: str = "") -> Slot:
        """``reserve``, also saying which window the unit was counted in (for ``give_back``);
        ``leaving``: a mention whose wait for a post slot ends with the unit (triage's set)."""
        wait, window = self._reserve(
            keys=[self.keys.quota(endpoint), self.keys.post_waiting],
            args=[now if now is not None else time.time(), leaving],
        )
        return Slot(float(wait) if float(wait) else None, float(window) if float(window) else None)

    def give_back(self, endpoint: str, slot: Slot) -> None:
        """Return a unit ``take`` counted for a call that never reached X. A unit taken before
        the window was known was never counted, and one from a window that ended is moot."""
        if slot.window is not None:
            self._give_back(keys=[self.keys.quota(endpoint)], args=[int(slot.window)])
