"""The state record of each mention in Redis, claimed atomically.

Two consumers never work on one mention at once: a claim is a lease owned by one
handler thread of one worker (two copies of a mention, as a producer restart republishes,
may be in flight in one process at once). The ``posting`` state is written *before* the
POST to X, so a worker that dies between the POST and the bookkeeping leaves a trace that
the next owner reconciles with X before posting anything again.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

import redis

from roastbot.keys import MENTION_STATE_TTL_S, RedisKeys
from roastbot.models import MentionState

# KEYS[1] state hash. ARGV: owner, now, lease_until, reclaimable state or '', ttl_s.
# Returns {verdict, state}: verdict is claimed | final | busy.
_CLAIM = """
local state = redis.call('HGET', KEYS[1], 'state')
local owner = redis.call('HGET', KEYS[1], 'owner')
local lease = tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0')
local now = tonumber(ARGV[2])
local parked = state == 'posted' or state == 'skipped' or state == 'pending_approval' or state == 'dead_lettered'
if parked and state ~= ARGV[4] then
  return {'final', state}
end
if owner and owner ~= '' and owner ~= ARGV[1] and lease > now then
  return {'busy', state or ''}
end
local previous = state or 'queued'
if parked then previous = 'queued' end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'lease_until', ARGV[3], 'updated_at', ARGV[2])
if not state then
  redis.call('HSET', KEYS[1], 'state', 'queued', 'first_seen', ARGV[2])
end
redis.call('HINCRBY', KEYS[1], 'claims', 1)
redis.call('EXPIRE', KEYS[1], ARGV[5])
return {'claimed', previous}
"""

# Only the owner may move a claimed mention; returns 1 when written.
_TRANSITION = """
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then
  return 0
end
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 1
"""


class ClaimVerdict(StrEnum):
    CLAIMED = "claimed"
    FINAL = "final"
    BUSY = "busy"


@dataclass(frozen=True)
class Claim:
    verdict: ClaimVerdict
    previous_state: str


class LostClaim(Exception):
    """Another worker took the mention over (our lease expired)."""


class MentionStates:
    def __init__(self, client: redis.Redis, keys: RedisKeys, worker_id: str, lease_s: float) -> None:
        self.client = client
        self.keys = keys
        self.worker_id = worker_id
        self.lease_s = lease_s
        self._claim = client.register_script(_CLAIM)
        self._transition = client.register_script(_TRANSITION)

    @property
    def owner(self) -> str:
        """The claim holder: this worker's thread. A mention is handled start to end in one
        thread, and handler threads of one process share the worker id; with the worker id
        alone, a second copy of a mention in flight would pass as the owner and post again."""
        return f"{self.worker_id}/{threading.get_ident()}"

    def claim(self, mention_id: str, reclaim: MentionState | None = None) -> Claim:
        """Own the mention unless it is final; ``reclaim`` reopens one parked state
        (a replayed dead letter, an approved roast)."""
        now = time.time()
        verdict, previous = self._claim(
            keys=[self.keys.mention_state(mention_id)],
            args=[self.owner, now, now + self.lease_s, reclaim.value if reclaim else "", MENTION_STATE_TTL_S],
        )
        return Claim(ClaimVerdict(verdict), previous)

    def move(self, mention_id: str, state: MentionState, **fields: object) -> None:
        """Set the state (and renew the lease) while we own the mention."""
        now = time.time()
        values: dict[str, object] = {
            "state": state.value,
            "updated_at": now,
            "lease_until": now + self.lease_s,
        }
        if state.is_final or state == MentionState.PENDING_APPROVAL:
            values["owner"] = ""
            values["finished_at"] = now
        values.update(fields)
        args: list[object] = [self.owner]
        for name, value in values.items():
            args.extend([name, json.dumps(value) if isinstance(value, list | dict) else str(value)])
        if not self._transition(keys=[self.keys.mention_state(mention_id)], args=args):
            raise LostClaim(mention_id)

    def note_post_attempt(self, mention_id: str) -> None:
        """Remember when the first POST for the mention was attempted, across owners: its reply
        can only be on X from then on, which bounds the search when reconciling."""
        self.client.hsetnx(self.keys.mention_state(mention_id), "posting_at", time.time())

    def release(self, mention_id: str) -> None:
        """Hand an unfinished mention back (shutdown); its state stays for the next owner."""
        self._transition(
            keys=[self.keys.mention_state(mention_id)], args=[self.owner, "owner", "", "lease_until", "0"]
        )

    def get(self, mention_id: str) -> dict[str, str]:
        return self.client.hgetall(self.keys.mention_state(mention_id))
