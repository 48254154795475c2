"""Who gets roasted: opt-out, block list, per-author and per-conversation limits (before any LLM call)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from roastbot.keys import RedisKeys
from roastbot.models import Mention
from roastbot.redis_conn import RedisClient

AUTHOR_WINDOW_S = 3600
OPT_OUT_PATTERN = re.compile(r"(?<![\w@#])stop(?![\w])", re.IGNORECASE)
OPT_OUT_CONFIRMATION = "Got it, no more roasts for you. Mention me with START if you change your mind."

# Reserve a mention's slot in a conversation's window, then in its author's hour, unless a
# limit is reached (a limit of 0 or less is no limit); idempotent per mention. When the
# author's hour is full the conversation's slot is given back. Returns '' when both are
# granted, else the limit that refused: 'conversation_limit' or 'author_limit'.
# KEYS[1] the conversation's roasts, KEYS[2] the author's roasts (sorted sets, mention -> time).
# ARGV[1] now (s), ARGV[2] mention id, ARGV[3] conversation limit, ARGV[4] its window (s),
# ARGV[5] author limit, ARGV[6] the author's window (s).
_RESERVE_SLOTS = """
local now, mention_id = tonumber(ARGV[1]), ARGV[2]
local function reserve(key, limit, window)
  if limit <= 0 then return true end
  redis.call('ZREMRANGEBYSCORE', key, 0, now - window)
  if redis.call('ZSCORE', key, mention_id) then return true end
  if redis.call('ZCARD', key) >= limit then return false end
  redis.call('ZADD', key, now, mention_id)
  redis.call('EXPIRE', key, window)
  return true
end
if not reserve(KEYS[1], tonumber(ARGV[3]), tonumber(ARGV[4])) then return 'conversation_limit' end
if not reserve(KEYS[2], tonumber(ARGV[5]), tonumber(ARGV[6])) then
  redis.call('ZREM', KEYS[1], mention_id)
  redis.call('ZREM', KEYS[2], mention_id)
  return 'author_limit'
end
return ''
"""


@dataclass(frozen=True)
class Standing:
    """What the rules know of a mention's author and conversation, read in one round trip."""

    blocked: bool
    opted_out: bool
    conversation_replies: int  # the bot's replies in the conversation within the window


def wants_opt_out(mention: Mention, bot_username: str) -> bool:
    """'stop' as a word in the mention's own text (not in a handle or hashtag)."""
    text = (
        re.sub(rf"@{re.escape(bot_username)}\b", "", mention.text, flags=re.IGNORECASE)
        if bot_username
        else mention.text
    )
    return bool(OPT_OUT_PATTERN.search(text))


class AuthorRules:
    def __init__(self, client: RedisClient, keys: RedisKeys) -> None:
        self.client = client
        self.keys = keys
        self._reserve = client.register_script(_RESERVE_SLOTS)

    def standing(self, author_id: str, username: str, conversation_id: str, window_s: float) -> Standing:
        """Block list, opt-out and the conversation's recent replies, in one pipeline."""
        members = list({author_id, username.lower()} - {""}) or [author_id]
        pipe = self.client.pipeline(transaction=False)
        pipe.smismember(self.keys.block_list, members)
        pipe.sismember(self.keys.opt_out, author_id)
        pipe.zcount(self.keys.conversation_replies(conversation_id), time.time() - window_s, "+inf")
        blocked, opted_out, replies = pipe.execute()
        return Standing(any(blocked), bool(opted_out), int(replies))

    def reserve(self, mention: Mention, conversation_limit: int, window_s: float, author_limit: int) -> str:
        """The conversation's and the author's slots for this mention, in one script: '' when
        both are granted, else the reason of the refusal ('conversation_limit', 'author_limit')."""
        keys = [
            self.keys.conversation_roasts(mention.conversation_id),
            self.keys.author_roasts(mention.author_id),
        ]
        args = [time.time(), mention.id, conversation_limit, int(window_s), author_limit, AUTHOR_WINDOW_S]
        return str(self._reserve(keys=keys, args=args))

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
        keys = [self.keys.conversation_roasts(""), self.keys.author_roasts(author_id)]
        return self._reserve(keys=keys, args=[time.time(), mention_id, 0, 0, limit, AUTHOR_WINDOW_S]) == ""

    def reserve_conversation(
        self, conversation_id: str, mention_id: str, limit: int, window_s: float
    ) -> bool:
        """Take the conversation's roast for this window (pile-ons get one roast)."""
        keys = [self.keys.conversation_roasts(conversation_id), self.keys.author_roasts("")]
        return self._reserve(keys=keys, args=[time.time(), mention_id, limit, int(window_s), 0, 0]) == ""

    def give_back(self, mention: Mention) -> None:
        """Free the slots a mention took when it ends without a roast."""
        pipe = self.client.pipeline(transaction=False)
        pipe.zrem(self.keys.author_roasts(mention.author_id), mention.id)
        pipe.zrem(self.keys.conversation_roasts(mention.conversation_id), mention.id)
        pipe.execute()
