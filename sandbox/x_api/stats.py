"""Counters the sandbox keeps about what it served and what the bot did."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sandbox.x_api.store import Store


@dataclass
class Stats:
    mentions_created: int = 0
    tweets_created: int = 0  # plain tweets by synthetic users
    posts_created: int = 0  # every tweet the bot posted through POST /2/tweets
    replies_posted: int = 0  # those of them that are replies
    rate_limited_responses: int = 0
    server_errors_served: int = 0
    dropped_connections: int = 0
    malformed_responses: int = 0
    author_answers: int = 0  # authors who answered the bot's reply (sandbox.x_api.engagement)
    requests_per_endpoint: Counter[str] = field(default_factory=Counter)
    posts_refused_by_reason: Counter[str] = field(default_factory=Counter)

    def snapshot(self, store: Store) -> dict[str, Any]:
        bot_id = store.bot.id
        replied: Counter[str] = Counter(
            t.in_reply_to_tweet_id
            for t in store.live_tweets()
            if t.author_id == bot_id and t.in_reply_to_tweet_id
        )
        multiple = sorted((tid for tid, n in replied.items() if n > 1), key=int)
        return {
            "mentions_created": self.mentions_created,
            "tweets_created": self.tweets_created,
            "posts_created": self.posts_created,
            "replies_posted": self.replies_posted,
            "tweets_with_multiple_bot_replies": len(multiple),
            "tweets_with_multiple_bot_replies_ids": multiple,
            "author_answers": self.author_answers,
            "rate_limited_responses": self.rate_limited_responses,
            "server_errors_served": self.server_errors_served,
            "dropped_connections": self.dropped_connections,
            "malformed_responses": self.malformed_responses,
            "requests_per_endpoint": dict(sorted(self.requests_per_endpoint.items())),
            "posts_refused_by_reason": dict(sorted(self.posts_refused_by_reason.items())),
        }
