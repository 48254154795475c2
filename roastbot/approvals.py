"""Approval mode: roasts wait for an operator before they are posted.

A parked roast lives in its mention's state hash (state ``pending_approval``, with the
mention itself), listed oldest first in a sorted set; the Kafka offset is committed, so
Redis holds the mention now. The console adds each decision to a Redis Stream; consumers
read it as one consumer group (XREADGROUP) and acknowledge a decision (XACK) only once the
mention has reached its next state through the same runner as a Kafka message. A decision
read by a worker that died stays pending in the group and is taken over (XAUTOCLAIM) once
it has been idle for a claim lease; a worker renews the decisions it works on meanwhile.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from enum import StrEnum

import redis

from roastbot.keys import RedisKeys
from roastbot.models import Mention
from roastbot.redis_conn import RedisClient

log = logging.getLogger(__name__)

DECISIONS_GROUP = "consumers"
DECISIONS_CAP = 10_000
DEAD_CONSUMER_IDLE_MS = 3600 * 1000  # a group member idle this long with nothing pending is gone


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
    entry_id: str = ""  # the stream entry, acknowledged once the decision is applied


class ApprovalQueue:
    def __init__(self, client: RedisClient, keys: RedisKeys, consumer_name: str = "console") -> None:
        self.client = client
        self.keys = keys
        self.consumer_name = consumer_name
        self._working: set[str] = set()  # entry ids this process is applying now
        self._lock = threading.Lock()

    # --- the console's side ------------------------------------------------------------
    def pending(self, limit: int = 200) -> list[PendingRoast]:
        """The oldest ``limit`` parked roasts, oldest first."""
        ids = self.client.zrange(self.keys.pending_approvals, 0, limit - 1)
        if not ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for mention_id in ids:
            pipe.hmget(self.keys.mention_state(mention_id), ["mention", "roast", "roaster", "parked_at"])
        roasts = []
        for mention, roast, roaster, parked_at in pipe.execute():
            if mention:  # decided (or expired) since the list was read
                roasts.append(
                    PendingRoast(
                        Mention.model_validate_json(mention),
                        roast or "",
                        roaster or "",
                        float(parked_at or 0),
                    )
                )
        return roasts

    def count(self) -> int:
        return int(self.client.zcard(self.keys.pending_approvals))

    def decide(self, mention_id: str, decision: Decision, text: str = "", actor: str = "operator") -> bool:
        """Queue an operator's decision; False when the roast is no longer pending."""
        if self.client.zscore(self.keys.pending_approvals, mention_id) is None:
            return False
        entry = {"mention_id": mention_id, "decision": decision.value, "text": text, "actor": actor}
        self.client.xadd(self.keys.approval_decisions, entry, maxlen=DECISIONS_CAP, approximate=True)
        return True

    # --- the consumers' side -----------------------------------------------------------
    def join(self) -> None:
        """Create the consumers' group (idempotent); it reads the stream from its start."""
        try:
            self.client.xgroup_create(self.keys.approval_decisions, DECISIONS_GROUP, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._forget_dead_members()

    def next_decisions(self, block_s: float, idle_s: float, count: int = 1) -> list[ApprovalDecision]:
        """Decisions a dead worker left unacknowledged for ``idle_s``, else new ones."""
        stream, group = self.keys.approval_decisions, DECISIONS_GROUP
        _, taken, *_ = self.client.xautoclaim(
            stream, group, self.consumer_name, int(idle_s * 1000), "0-0", count=count
        )
        entries = [entry for entry in taken if entry and entry[1]]
        if not entries:
            answer = self.client.xreadgroup(
                group, self.consumer_name, {stream: ">"}, count=count, block=max(1, int(block_s * 1000))
            )
            entries = [entry for _, batch in answer or [] for entry in batch]
        decisions = []
        for entry_id, fields in entries:
            decision = _decision(entry_id, fields)
            if decision is None:  # nothing to act on: the roast stays parked for a new decision
                log.warning("approval decision %s is unreadable: %s", entry_id, json.dumps(fields)[:200])
                self.client.xack(stream, group, entry_id)
            else:
                decisions.append(decision)
        with self._lock:
            self._working.update(d.entry_id for d in decisions)
        return decisions

    def done(self, decision: ApprovalDecision) -> None:
        """The decision reached the mention (or can never): acknowledge and drop it."""
        pipe = self.client.pipeline(transaction=False)
        pipe.xack(self.keys.approval_decisions, DECISIONS_GROUP, decision.entry_id)
        pipe.xdel(self.keys.approval_decisions, decision.entry_id)
        pipe.execute()
        self.put_down(decision)

    def put_down(self, decision: ApprovalDecision) -> None:
        """Stop renewing a decision left unacknowledged (shutdown): another worker takes it."""
        with self._lock:
            self._working.discard(decision.entry_id)

    def keep_alive(self) -> None:
        """Reset the idle time of the decisions this process is applying (XCLAIM to itself)."""
        with self._lock:
            working = sorted(self._working)
        if working:
            self.client.xclaim(
                self.keys.approval_decisions, DECISIONS_GROUP, self.consumer_name, 0, working, justid=True
            )

    def _forget_dead_members(self) -> None:
        """Drop group members (dead workers' names) long idle with nothing pending."""
        for member in self.client.xinfo_consumers(self.keys.approval_decisions, DECISIONS_GROUP):
            if member["pending"] == 0 and member["idle"] > DEAD_CONSUMER_IDLE_MS:
                self.client.xgroup_delconsumer(self.keys.approval_decisions, DECISIONS_GROUP, member["name"])


def _decision(entry_id: str, fields: dict[str, str]) -> ApprovalDecision | None:
    try:
        decision = Decision(fields.get("decision", ""))
    except ValueError:
        return None
    if not fields.get("mention_id"):
        return None
    return ApprovalDecision(
        fields.get("mention_id", ""), decision, fields.get("text", ""), fields.get("actor", ""), entry_id
    )
