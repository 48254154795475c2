"""What each posted roast earned: its schedule of metrics reads and the metrics themselves.

A posted reply is tracked from the moment the consumer records it as posted: its hash keeps
the roast record (the mention, roaster, model, prompt version, skeleton) joined with what X
later reports at each check (``ENGAGEMENT_CHECKS_S``, +1 h and +24 h by default), and
whether the mention's author answered the reply ("started a conversation"). That answer is
recorded on the consumer's path: it arrives as a new mention whose referenced tweet is our
reply, so one HGET per mention that replies to something tells it, and X's reply_count
(which counts anyone's replies) is not needed for it. Every key expires after
``ENGAGEMENT_RETENTION_S``; the index and the due-schedule are trimmed to the same window.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from roastbot.batch import Op, command
from roastbot.keys import ENGAGEMENT_POSTS_CAP, RedisKeys
from roastbot.models import Mention
from roastbot.redis_conn import RedisClient
from roastbot.settings import Settings

# The roast record's fields kept per reply; the last four are roastbot.roasting.base.PROVENANCE,
# spelt out because importing the roasting package loads the safety models (not for the tracker).
ROAST_FIELDS = (
    "mention_id",
    "author_id",
    "author",
    "mention",
    "roast",
    "roaster",
    "model",
    "prompt_version",
    "skeleton",
)
LOOKUP_MAX_IDS = 100  # X's GET /2/tweets takes at most 100 ids
RESULTS_SHOWN = 5000  # the newest tracked replies the console reads at once


def check_label(seconds: float) -> str:
    """+1h, +24h, +90s: how long after posting a check reads the metrics."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"+{int(seconds // 3600)}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"+{int(seconds // 60)}m"
    return f"+{seconds:g}s"


class EngagementBook:
    """The tracker's schedule and the metrics per posted reply, in Redis."""

    def __init__(
        self, client: RedisClient, keys: RedisKeys, settings: Settings, clock: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self.keys = keys
        self.checks_s = sorted(settings.engagement_checks_s)
        self.retention_s = settings.engagement_retention_s
        self.clock = clock

    # --- the consumer's side ----------------------------------------------------------
    def track_ops(
        self, reply_id: str, roast: Mapping[str, object], posted_at: float | None = None
    ) -> list[Op]:
        """``track`` as ops (none without a reply): the move to posted carries them."""
        if not reply_id:
            return []
        posted_at = self.clock() if posted_at is None else posted_at
        key = self.keys.engagement_post(reply_id)
        fields = {name: str(roast.get(name, "") or "") for name in ROAST_FIELDS}
        record = {**fields, "reply_id": reply_id, "posted_at": posted_at, "checks_done": 0}
        ops = [
            command("HSET", key, args=[part for pair in record.items() for part in pair]),
            command("EXPIRE", key, args=[int(self.retention_s)]),
            command("ZADD", self.keys.engagement_posts, args=[posted_at, reply_id]),
            command("ZADD", self.keys.engagement_due, args=[posted_at + self.checks_s[0], reply_id]),
        ]
        for index in (self.keys.engagement_posts, self.keys.engagement_due):
            ops.append(command("ZREMRANGEBYSCORE", index, args=["-inf", posted_at - self.retention_s]))
            ops.append(
                command("ZREMRANGEBYRANK", index, args=[0, -ENGAGEMENT_POSTS_CAP - 1])
            )  # beyond the cap
        return ops

    def track(self, reply_id: str, roast: Mapping[str, object], posted_at: float | None = None) -> None:
        """A reply was posted: keep its roast record and schedule its first metrics read."""
        ops = self.track_ops(reply_id, roast, posted_at)
        if not ops:
            return
        pipe = self.client.pipeline(transaction=True)
        for op in ops:
            pipe.execute_command(op.name, *op.keys, *op.args)
        pipe.execute()

    def note_answer(self, mention: Mention) -> bool:
        """The mention answers one of our tracked replies and comes from the roasted author:
        that roast started a conversation (recorded once, with the answer's id)."""
        replied_to = mention.referenced_tweet_id
        if not replied_to:
            return False
        key = self.keys.engagement_post(replied_to)
        if self.client.hget(key, "author_id") != mention.author_id:
            return False
        self.client.hsetnx(key, "answered_by", mention.id)
        self.client.hsetnx(key, "answered_at", self.clock())
        return True

    # --- the tracker's side -----------------------------------------------------------
    def due(self, now: float | None = None, limit: int = LOOKUP_MAX_IDS) -> list[str]:
        """Replies whose next read is due, the longest waiting first (at most ``limit``)."""
        now = self.clock() if now is None else now
        return list(self.client.zrangebyscore(self.keys.engagement_due, "-inf", now, start=0, num=limit))

    def due_count(self) -> int:
        return int(self.client.zcount(self.keys.engagement_due, "-inf", self.clock()))

    def record(self, metrics: Mapping[str, Mapping[str, int]], asked: list[str]) -> None:
        """Store what X said for each asked reply and schedule its next check (none after the
        last); a reply X did not return (deleted, or expired here) leaves the schedule."""
        now = self.clock()
        pipe = self.client.pipeline(transaction=False)
        for reply_id in asked:
            pipe.hmget(self.keys.engagement_post(reply_id), "posted_at", "checks_done")
        stored = pipe.execute()
        pipe = self.client.pipeline(transaction=True)
        for reply_id, (posted_at, done) in zip(asked, stored, strict=True):
            key = self.keys.engagement_post(reply_id)
            found = metrics.get(reply_id)
            if posted_at is None or found is None:
                pipe.zrem(self.keys.engagement_due, reply_id)
                if posted_at is not None:
                    pipe.hset(key, "gone", 1)
                continue
            check = int(done or 0)
            pipe.hset(
                key,
                mapping={
                    f"check:{check}": json.dumps({"at": now, **found}),
                    "checks_done": check + 1,
                    "likes": int(found.get("like_count", 0)),
                    "replies": int(found.get("reply_count", 0)),
                    "read_at": now,
                },
            )
            if check + 1 < len(self.checks_s):
                pipe.zadd(self.keys.engagement_due, {reply_id: float(posted_at) + self.checks_s[check + 1]})
            else:
                pipe.zrem(self.keys.engagement_due, reply_id)
        pipe.execute()

    # --- the console's side -----------------------------------------------------------
    def posts(self, since: float, limit: int = RESULTS_SHOWN) -> list[dict[str, Any]]:
        """Tracked replies posted since ``since``, newest first, each with its checks decoded."""
        ids = self.client.zrevrangebyscore(self.keys.engagement_posts, "+inf", since, start=0, num=limit)
        pipe = self.client.pipeline(transaction=False)
        for reply_id in ids:
            pipe.hgetall(self.keys.engagement_post(reply_id))
        rows = []
        for raw in pipe.execute():
            if not raw:
                continue  # expired since the index was trimmed
            checks = [json.loads(raw[f"check:{i}"]) for i in range(int(raw.get("checks_done") or 0))]
            rows.append({**raw, "checks": checks})
        return rows
