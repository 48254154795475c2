"""Who gets roasted: opt-out, block list, per-author and per-conversation limits (before any LLM call)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from roastbot.batch import Op, command, load_script
from roastbot.keys import RedisKeys
from roastbot.models import Mention
from roastbot.redis_conn import RedisClient

AUTHOR_WINDOW_S = 3600
OPT_OUT_PATTERN = re.compile(r"(?<![\w@#])stop(?![\w])", re.IGNORECASE)
OPT_OUT_CONFIRMATION = "Got it, no more roasts for you. Mention me with START if you change your mind."


@dataclass(frozen=True)
class Standing:
    """What the rules know of a mention's author and conversation, read in one round trip."""

    blocked: bool
    opted_out: bool
    conversation_replies: int  # the bot's replies in the conversation within the window

    @classmethod
    def of(cls, answers: list[object]) -> Standing:
        """From the answers of ``AuthorRules.standing_ops`` (in a script or a pipeline)."""
        blocked, opted_out, replies = answers
        members = blocked if isinstance(blocked, list) else []
        return cls(any(int(b) for b in members), bool(int(str(int(opted_out)))), int(str(replies)))  # type: ignore[call-overload]


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
        self._reserve = load_script(client, "rules_reserve")

    def standing_ops(self, author_id: str, username: str, conversation_id: str, window_s: float) -> list[Op]:
        """Block list, opt-out and the conversation's recent replies, as ops (``Standing.of``
        reads their answers): the claim's round trip carries them."""
        members = list({author_id, username.lower()} - {""}) or [author_id]
        return [
            command("SMISMEMBER", self.keys.block_list, args=members),
            command("SISMEMBER", self.keys.opt_out, args=[author_id]),
            command(
                "ZCOUNT",
                self.keys.conversation_replies(conversation_id),
                args=[time.time() - window_s, "+inf"],
            ),
        ]

    def standing(self, author_id: str, username: str, conversation_id: str, window_s: float) -> Standing:
        """Block list, opt-out and the conversation's recent replies, in one pipeline."""
        pipe = self.client.pipeline(transaction=False)
        for op in self.standing_ops(author_id, username, conversation_id, window_s):
            pipe.execute_command(op.name, *op.keys, *op.args)
        return Standing.of(pipe.execute())

    def reserve_op(self, mention: Mention, conversation_limit: int, window_s: float, author_limit: int) -> Op:
        """``reserve`` as an op, a gate: it lets a batch go on when both slots are granted."""
        keys = (
            self.keys.conversation_roasts(mention.conversation_id),
            self.keys.author_roasts(mention.author_id),
        )
        args = (time.time(), mention.id, conversation_limit, int(window_s), author_limit, AUTHOR_WINDOW_S)
        return Op("rules_reserve", keys, args, gate="")

    def reserve(self, mention: Mention, conversation_limit: int, window_s: float, author_limit: int) -> str:
        """The conversation's and the author's slots for this mention, in one script: '' when
        both are granted, else the reason of the refusal ('conversation_limit', 'author_limit')."""
        op = self.reserve_op(mention, conversation_limit, window_s, author_limit)
        return str(self._reserve(keys=list(op.keys), args=list(op.args)))

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
