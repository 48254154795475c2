"""Quota triage: which mentions get the scarce post slots, decided before a roast is written.

A mention is admitted (joins the waiting set, ``RedisKeys.post_waiting``) only when the
posting quota can reach it before it is older than MAX_REPLY_DELAY_S (or MAX_MENTION_AGE_S):
every mention already waiting goes first, then what X reported (left in this window, when it
resets, the window's length) says when its slot comes, as the earliest moment, so a mention
that could still be answered in time is never triaged out. Waiting mentions then take slots
best first by TRIAGE. The estimate lives in one place, ``lua/triage.lua``, atomic with the
set it reads, so two consumers admitting at once never both take the last slot; the runner's
transitions keep the set (``lua/transition.lua``: a mention waits in generating and ready),
and a slot the budget hands back puts its mention back (``rejoin``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from roastbot.batch import Op, load_script
from roastbot.keys import RedisKeys
from roastbot.models import Mention
from roastbot.redis_conn import RedisClient
from roastbot.settings import Settings, TriageOrder


def triage_score(mention: Mention, order: TriageOrder) -> float:
    """Higher is posted sooner. Ties (and unknown counts) go to the newer mention."""
    created = mention.created_at.timestamp()
    if order == "newest":
        return created
    if order == "followers":
        worth = (mention.author.followers_count if mention.author else None) or 0
    else:
        worth = (mention.like_count or 0) + (mention.reply_count or 0)
    # The count first, then recency: seconds since mid-2017 stay below 1e9 (until 2049), so a
    # count scaled by 1e10 always outweighs them.
    return worth * 1e10 + (created - 1.5e9)


@dataclass(frozen=True)
class Verdict:
    in_time: bool
    wait_s: float  # until the earliest slot the quota allows this mention
    ahead: int  # mentions that go first


@dataclass(frozen=True)
class WaitingMention:
    mention_id: str
    score: float


class QuotaTriage:
    def __init__(
        self,
        client: RedisClient,
        keys: RedisKeys,
        *,
        order: TriageOrder,
        max_reply_delay_s: float,
        max_age_s: float,
    ) -> None:
        self.client = client
        self.keys = keys
        self.order = order
        self.budget_s = min(max_reply_delay_s, max_age_s)
        self._triage = load_script(client, "triage")

    @classmethod
    def from_settings(cls, client: RedisClient, keys: RedisKeys, settings: Settings) -> QuotaTriage:
        return cls(
            client,
            keys,
            order=settings.triage,
            max_reply_delay_s=settings.max_reply_delay_s,
            max_age_s=settings.max_mention_age_s,
        )

    def _ask(self, mention_id: str, score: float, age_s: float, mode: str, now: float | None) -> Verdict:
        now = time.time() if now is None else now
        in_time, wait, ahead = self._triage(
            keys=[self.keys.quota("post"), self.keys.post_waiting],
            args=[now, mention_id, score, max(0.0, age_s), self.budget_s, mode],
        )
        return Verdict(bool(int(in_time)), float(wait), int(ahead))

    def _args(self, mention: Mention, now: float | None) -> tuple[object, ...]:
        now = time.time() if now is None else now
        return (now, mention.id, self.score(mention), max(0.0, mention.age_s()), self.budget_s)

    def admit_op(self, mention: Mention, now: float | None = None) -> Op:
        """``admit`` as an op, a gate: it lets a batch go on when the mention joined the set."""
        keys = (self.keys.quota("post"), self.keys.post_waiting)
        return Op("triage", keys, (*self._args(mention, now), "admit"), gate="1")

    def slot_op(self, mention: Mention, now: float | None = None) -> Op:
        """A waiting mention's post slot when its turn has come (``lua/post_slot.lua``: its
        turn, then a unit of the post quota taken as it leaves the set), a gate."""
        return Op(
            "post_slot", (self.keys.quota("post"), self.keys.post_waiting), self._args(mention, now), gate="1"
        )

    def admit(self, mention: Mention, now: float | None = None) -> Verdict:
        """Join the waiting set when the quota reaches the mention in time (after all waiting)."""
        return self._ask(mention.id, self.score(mention), mention.age_s(), "admit", now)

    def turn(self, mention: Mention, now: float | None = None) -> Verdict:
        """For a waiting mention: its wait, the better-scored ones going first."""
        return self._ask(mention.id, self.score(mention), mention.age_s(), "turn", now)

    def rejoin(self, mention: Mention) -> None:
        """Back in the set at its score after its slot was handed back (the budget refused the
        POST's price; the slot took it out): it waits for the budget's hold where it stood, not
        behind every mention that waits, whether the move to posting or a POST tried again was
        refused."""
        self.client.zadd(self.keys.post_waiting, {mention.id: self.score(mention)})

    def score(self, mention: Mention) -> float:
        return triage_score(mention, self.order)

    # --- what the console shows ---------------------------------------------------------
    def waiting(self, limit: int = 10) -> list[WaitingMention]:
        """The waiting mentions, the one the next slot goes to first."""
        pairs = self.client.zrevrange(self.keys.post_waiting, 0, limit - 1, withscores=True)
        return [WaitingMention(member, score) for member, score in pairs]

    def waiting_count(self) -> int:
        return int(self.client.zcard(self.keys.post_waiting))

    def outlook(self, now: float | None = None) -> Verdict:
        """What triage would do with a mention arriving now (it joins nothing)."""
        return self._ask("", 0.0, 0.0, "probe", now)

    def created_at(self, mention_ids: list[str]) -> dict[str, float]:
        """When each waiting mention was created (as its state hash recorded at admission)."""
        pipe = self.client.pipeline(transaction=False)
        for mention_id in mention_ids:
            pipe.hget(self.keys.mention_state(mention_id), "mention_created_at")
        return {m: float(v) for m, v in zip(mention_ids, pipe.execute(), strict=True) if v}
