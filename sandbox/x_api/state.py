"""The sandbox's whole state behind one lock, and the operations on it."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from twitter_text import parse_tweet

from sandbox.x_api import entities, problems
from sandbox.x_api.config import SandboxConfig
from sandbox.x_api.engagement import Engagement
from sandbox.x_api.faults import Faults
from sandbox.x_api.ratelimit import PRESETS, RateLimiter
from sandbox.x_api.stats import Stats
from sandbox.x_api.store import ServedAs, Store, Tweet, User

DEFAULT_AUTHOR = "sandbox_user"


class UnknownTweet(LookupError):
    """A control request named a tweet the sandbox does not have (or that is deleted)."""


@dataclass(frozen=True)
class Refusal:
    """POST /2/tweets said no: status, X's body, and our name for the reason."""

    status: int
    body: dict[str, Any]
    reason: str


def _bot_user(config: SandboxConfig) -> User:
    return User(
        id=config.bot_id,
        username=config.bot_username,
        name="Roast Bot",
        description="I roast what you mention me with. Be nice, or don't.",
        created_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


class Sandbox:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.limiter = RateLimiter(PRESETS[config.tier], config.time_scale)
        self.engagement = Engagement(seed=config.seed or 0, author_reply_rate=config.author_reply_rate)
        self.store = self._new_store()
        self.faults = Faults(random.Random(config.seed))
        self.stats = Stats()
        self.user_token_revoked = False  # as when the account owner revokes the app's access

    def _new_store(self) -> Store:
        store = Store(bot=_bot_user(self.config))
        store.grown_metrics = lambda tweet: self.engagement.metrics(
            tweet, time.time(), self.limiter.time_scale
        )
        return store

    # Synthetic users' side (control API, traffic generator)

    def _author(self, username: str | None, name: str | None, description: str | None) -> User:
        return self.store.ensure_user(username or DEFAULT_AUTHOR, name, description)

    def _parent(self, tweet_id: str | None) -> Tweet | None:
        if tweet_id is None:
            return None
        parent = self.store.visible(tweet_id)
        if parent is None:
            raise UnknownTweet(tweet_id)
        return parent

    def create_mention(
        self,
        text: str,
        username: str | None = None,
        name: str | None = None,
        description: str | None = None,
        in_reply_to_tweet_id: str | None = None,
        lang: str | None = None,
        category: str | None = None,
        served_as: ServedAs | None = None,
        followers_count: int | None = None,
        like_count: int = 0,
    ) -> Tweet:
        """A tweet by a (possibly new) user that mentions the bot (with the author's follower
        count and the tweet's likes, as its public_metrics serve them)."""
        with self.lock:
            bot = self.store.bot
            author = self._author(username, name, description)
            if followers_count is not None:
                author.followers_count = followers_count
            parent = self._parent(in_reply_to_tweet_id)
            if not self._mentions_bot(text):
                text = f"@{bot.username} {text}"
            tweet = self.store.add_tweet(author, text, parent, lang, category)
            tweet.served_as = served_as
            tweet.like_count = like_count
            self.stats.mentions_created += 1
            return tweet

    def _mentions_bot(self, text: str) -> bool:
        return self.store.bot.username.lower() in entities.parse(text).mentioned_usernames()

    def create_tweet(
        self,
        text: str,
        username: str | None = None,
        name: str | None = None,
        description: str | None = None,
        in_reply_to_tweet_id: str | None = None,
        lang: str | None = None,
        category: str | None = None,
    ) -> Tweet:
        """A plain tweet by a (possibly new) user, e.g. one to be roasted via "roast this"."""
        with self.lock:
            author = self._author(username, name, description)
            parent = self._parent(in_reply_to_tweet_id)
            tweet = self.store.add_tweet(author, text, parent, lang, category)
            self.stats.tweets_created += 1
            return tweet

    def delete(self, tweet_id: str) -> Tweet:
        with self.lock:
            tweet = self.store.delete(tweet_id)
            if tweet is None:
                raise UnknownTweet(tweet_id)
            return tweet

    # The bot's side (POST /2/tweets)

    def post(self, author_id: str, text: str, in_reply_to_tweet_id: str | None) -> Tweet | Refusal:
        """Create the bot's tweet, or refuse it the way X would."""
        with self.lock:
            refusal = self._refusal(author_id, text, in_reply_to_tweet_id)
            if refusal is not None:
                self.stats.posts_refused_by_reason[refusal.reason] += 1
                return refusal
            parent = self.store.visible(in_reply_to_tweet_id) if in_reply_to_tweet_id else None
            tweet = self.store.add_tweet(self.store.users[author_id], text, parent)
            self.stats.posts_created += 1
            if parent is not None:
                self.stats.replies_posted += 1
                if parent.author_id != author_id:
                    self.engagement.on_reply(tweet, parent, time.time(), self.limiter.time_scale)
            return tweet

    def advance_engagement(self, now: float) -> int:
        """Post the authors' answers to the bot whose (simulated) time has come; how many."""
        with self.lock:
            posted = 0
            for reply_id, text in self.engagement.due_answers(now):
                reply = self.store.visible(reply_id)
                mention = self.store.visible(reply.in_reply_to_tweet_id or "") if reply else None
                if reply is None or mention is None:
                    continue  # deleted since: nobody answers a post that is gone
                author = self.store.users[mention.author_id]
                self.store.add_tweet(author, f"@{self.store.bot.username} {text}", reply)
                self.stats.mentions_created += 1
                self.stats.author_answers += 1
                posted += 1
            return posted

    def configure_engagement(self, author_reply_rate: float) -> None:
        with self.lock:
            self.engagement.author_reply_rate = author_reply_rate

    def _refusal(self, author_id: str, text: str, in_reply_to_tweet_id: str | None) -> Refusal | None:
        injected = self.faults.take_post_refusal()
        if injected is not None:
            return Refusal(403, problems.forbidden(problems.REFUSALS[injected]), injected)
        if not text.strip():
            error = problems.ParameterError("Post text is empty.", {"text": [text]})
            return Refusal(400, problems.invalid_request([error]), "empty")
        if not parse_tweet(text).valid:
            error = problems.ParameterError(problems.TOO_LONG, {"text": [text]})
            return Refusal(400, problems.invalid_request([error]), "too_long")
        if in_reply_to_tweet_id is not None and self.store.visible(in_reply_to_tweet_id) is None:
            return Refusal(403, problems.forbidden(problems.REPLY_TO_DELETED), "deleted")
        if self.store.has_posted(author_id, text):
            return Refusal(403, problems.forbidden(problems.DUPLICATE), "duplicate")
        return None

    # Whole-sandbox operations

    def configure_limits(self, tier: str | None, time_scale: float | None) -> None:
        with self.lock:
            self.limiter.configure(
                PRESETS[tier] if tier else self.limiter.tier,
                time_scale if time_scale else self.limiter.time_scale,
            )

    def reset(self) -> None:
        """Back to a fresh start: only the bot remains; tier and time scale stay."""
        with self.lock:
            self.engagement.clear()
            self.store = self._new_store()
            self.stats = Stats()
            self.faults.clear()
            self.limiter.reset()
            self.user_token_revoked = False
