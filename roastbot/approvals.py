"""Approval mode: roasts wait for an operator before they are posted.

The consumer parks a roast here (state ``pending_approval``, the Kafka offset is
committed: Redis holds the mention now). The console records a decision; consumers
pick decisions up and post approved roasts through the same exactly-once path.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import StrEnum

import redis

from roastbot.keys import RedisKeys
from roastbot.models import Mention


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True)
class PendingRoast:
    mention: Mention
    roast: str
    roaster: str
    parked_at: float


@dataclass(frozen=True)
class ApprovalDecision:
    mention_id: str
    decision: Decision
    text: str
    actor: str


class Approvals:
    def __init__(self, client: redis.Redis, keys: RedisKeys) -> None:
        self.client = client
        self.keys = keys

    @property
    def _decisions(self) -> str:
        return self.keys.pending_approvals + ":decisions"

    def park(self, mention: Mention, roast: str, roaster: str) -> None:
        record = {
            "mention": mention.model_dump(mode="json"),
            "roast": roast,
            "roaster": roaster,
            "parked_at": time.time(),
        }
        self.client.hset(self.keys.pending_approvals, mention.id, json.dumps(record))

    def pending(self, limit: int = 200) -> list[PendingRoast]:
        roasts = []
        for raw in list(self.client.hvals(self.keys.pending_approvals))[:limit]:
            record = json.loads(raw)
            roasts.append(
                PendingRoast(
                    Mention.model_validate(record["mention"]),
                    record["roast"],
                    record["roaster"],
                    record["parked_at"],
                )
            )
        return sorted(roasts, key=lambda p: p.parked_at)

    def decide(self, mention_id: str, decision: Decision, text: str = "", actor: str = "operator") -> bool:
        """Queue an operator's decision; False when the roast is no longer pending."""
        if not self.client.hexists(self.keys.pending_approvals, mention_id):
            return False
        entry = {"mention_id": mention_id, "decision": decision.value, "text": text, "actor": actor}
        self.client.rpush(self._decisions, json.dumps(entry))
        return True

    def next_decision(self, timeout_s: float) -> ApprovalDecision | None:
        popped = self.client.blpop([self._decisions], timeout=timeout_s)
        if popped is None:
            return None
        entry = json.loads(popped[1])
        return ApprovalDecision(
            entry["mention_id"], Decision(entry["decision"]), entry["text"], entry["actor"]
        )

    def take(self, mention_id: str) -> PendingRoast | None:
        """Remove a pending roast (atomically: only one consumer acts on a decision)."""
        pipe = self.client.pipeline()
        pipe.hget(self.keys.pending_approvals, mention_id)
        pipe.hdel(self.keys.pending_approvals, mention_id)
        raw, deleted = pipe.execute()
        if not raw or not deleted:
            return None
        record = json.loads(raw)
        return PendingRoast(
            Mention.model_validate(record["mention"]), record["roast"], record["roaster"], record["parked_at"]
        )
