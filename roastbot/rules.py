"""Who gets roasted: opt-out, block list, per-author and per-conversation limits (before any LLM call)."""

from __future__ import annotations

import re
import time

import redis

from roastbot.keys import RedisKeys
from roastbot.models import Mention

AUTHOR_WINDOW_S = 3600
OPT_OUT_PATTERN = re.compile(r"(?<![\w@#])stop(?![\w])", re.IGNORECASE)
OPT_OUT_CONFIRMATION = "Got it, no more roasts for you. Mention me with START if you change your mind."

# Reserve one slot in a sliding window (an author's hour, a conversation's window)
# unless the limit is reached; idempotent per mention. 1 = granted.
_RESERVE_SLOT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, tonumber(ARGV[1]) - tonumber(ARGV[3]))
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


def wants_opt_out(mention: Mention, bot_username: str) -> bool:
    """'stop' as a word in the mention's own text (not in a handle or hashtag)."""
    text = (
        re.sub(rf"@{re.escape(bot_username)}\b", "", mention.text, flags=re.IGNORECASE)
        if bot_username
        else mention.text
    )
    return bool(OPT_OUT_PATTERN.search(text))


class AuthorRules:
    def __init__(self, client: redis.Redis, keys: RedisKeys) -> None:
        self.client = client
        self.keys = keys
        self._reserve = client.register_script(_RESERVE_SLOT)

    def is_opted_out(self, author_id: str) -> bool:
        return bool(self.client.sismember(self.keys.opt_out, author_id))

    def opt_out(self, author_id: str) -> bool:
        """Add to the opt-out set; True when the author was not in it yet."""
        return bool(self.client.sadd(self.keys.opt_out, author_id))

    def is_blocked(self, author_id: str, username: str) -> bool:
        members = {author_id, username.lower()} - {""}
        return any(self.client.smismember(self.keys.block_list, list(members)))

    def reserve_roast(self, author_id: str, mention_id: str, limit: int) -> bool:
        """Take one of the author's hourly roasts for this mention (idempotent per mention)."""
        if limit <= 0:
            return True
        return bool(
            self._reserve(
                keys=[self.keys.author_roasts(author_id)],
                args=[time.time(), limit, AUTHOR_WINDOW_S, mention_id],
            )
        )

    def reserve_conversation(
        self, conversation_id: str, mention_id: str, limit: int, window_s: float
    ) -> bool:
        """Take the conversation's roast for this window (pile-ons get one roast)."""
        if limit <= 0:
            return True
        key = self.keys.conversation_roasts(conversation_id)
        return bool(self._reserve(keys=[key], args=[time.time(), limit, int(window_s), mention_id]))

    def give_back(self, mention: Mention) -> None:
        """Free the slots a mention took when it ends without a roast."""
        pipe = self.client.pipeline(transaction=False)
        pipe.zrem(self.keys.author_roasts(mention.author_id), mention.id)
        pipe.zrem(self.keys.conversation_roasts(mention.conversation_id), mention.id)
        pipe.execute()
