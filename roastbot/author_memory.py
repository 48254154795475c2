"""What the bot told each author lately: never the same roast or skeleton twice within 30 days.

One sorted set per author (``RedisKeys.author_roast_memory``): member a JSON {text, skeleton},
score the time it was written. It is bounded three ways: entries older than the window are
dropped on every write, at most ``AUTHOR_MEMORY_CAP`` are kept, and the key expires a window
after the author's last roast. A read is one command, a write one MULTI pipeline (or ops in the batch of a move).

Memory improves roasts but never decides whether one is posted: a Redis error here is logged
and the roast goes ahead without it (the post's own bookkeeping still runs through Redis and
fails loudly there).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

import redis

from roastbot.batch import Op, command
from roastbot.keys import AUTHOR_MEMORY_CAP, AUTHOR_MEMORY_WINDOW_S, RedisKeys
from roastbot.redis_conn import RedisClient

log = logging.getLogger(__name__)
RECENT_FOR_PROMPT = 3  # the roasts an LLM is shown as material not to repeat


@dataclass(frozen=True)
class AuthorHistory:
    """An author's roasts within the window, newest first."""

    texts: tuple[str, ...] = ()
    skeletons: tuple[str, ...] = ()

    @property
    def recent(self) -> tuple[str, ...]:
        return self.texts[:RECENT_FOR_PROMPT]


class AuthorMemory:
    def __init__(
        self,
        client: RedisClient,
        keys: RedisKeys,
        *,
        window_s: float = AUTHOR_MEMORY_WINDOW_S,
        cap: int = AUTHOR_MEMORY_CAP,
    ) -> None:
        self.client = client
        self.keys = keys
        self.window_s = window_s
        self.cap = cap

    def history_op(self, author_id: str) -> Op:
        """The read of ``history`` as an op (``history_of`` reads its answer), for a batch."""
        key = self.keys.author_roast_memory(author_id)
        return command(
            "ZREVRANGEBYSCORE", key, args=["+inf", time.time() - self.window_s, "LIMIT", 0, self.cap]
        )

    def history(self, author_id: str) -> AuthorHistory:
        """The author's roasts within the window (empty, and logged, if Redis cannot answer)."""
        op = self.history_op(author_id)
        try:
            raw = self.client.execute_command(op.name, *op.keys, *op.args)
        except redis.RedisError as error:
            log.warning("author memory unreadable, roasting without it: %s", error)
            return AuthorHistory()
        return history_of(raw)

    def remember_ops(self, author_id: str, text: str, skeleton: str) -> list[Op]:
        """Record a roast for the author, trimmed to the window and the cap, its TTL refreshed
        (as ops: the move that keeps the roast carries them)."""
        key = self.keys.author_roast_memory(author_id)
        now = time.time()
        member = json.dumps({"text": text, "skeleton": skeleton}, ensure_ascii=False, sort_keys=True)
        return [
            command("ZADD", key, args=[now, member]),
            command("ZREMRANGEBYSCORE", key, args=["-inf", now - self.window_s]),
            command("ZREMRANGEBYRANK", key, args=[0, -self.cap - 1]),  # keep the newest `cap`
            command("EXPIRE", key, args=[int(self.window_s)]),
        ]

    def remember(self, author_id: str, text: str, skeleton: str) -> None:
        """Record a roast for the author: one MULTI pipeline that also trims and refreshes the TTL."""
        pipe = self.client.pipeline(transaction=True)
        for op in self.remember_ops(author_id, text, skeleton):
            pipe.execute_command(op.name, *op.keys, *op.args)
        try:
            pipe.execute()
        except redis.RedisError as error:
            log.warning("author memory not updated: %s", error)


def history_of(raw: object) -> AuthorHistory:
    """From the answer of ``AuthorMemory.history_op``."""
    entries = [_decode(item) for item in raw or []]  # type: ignore[attr-defined]
    kept = [entry for entry in entries if entry is not None]
    return AuthorHistory(
        texts=tuple(text for text, _ in kept),
        skeletons=tuple(dict.fromkeys(skeleton for _, skeleton in kept if skeleton)),
    )


def _decode(raw: bytes | str) -> tuple[str, str] | None:
    try:
        entry = json.loads(raw)
        return str(entry["text"]), str(entry.get("skeleton", ""))
    except (ValueError, KeyError, TypeError):
        return None
