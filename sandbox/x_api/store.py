"""Users and tweets in memory: ids, timelines, replies. Callers hold the sandbox lock."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.x_api import entities
from sandbox.x_api.entities import Entities
from sandbox.x_api.params import PageToken

TWITTER_EPOCH_MS = 1288834974657
MENTIONS_REACHABLE = 800  # X serves only the 800 most recent mentions
USER_TWEETS_REACHABLE = 3200  # and the 3,200 most recent tweets of a user


class SnowflakeIds:
    """Increasing 19-digit ids laid out like X's: milliseconds since X's epoch << 22."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._last = 0

    def next(self) -> tuple[str, datetime]:
        now = self._clock()
        candidate = ((int(now * 1000) - TWITTER_EPOCH_MS) << 22) | (1 << 17)
        self._last = max(candidate, self._last + 1)
        created = datetime.fromtimestamp(now, UTC).replace(microsecond=(int(now * 1000) % 1000) * 1000)
        return str(self._last), created


@dataclass
class User:
    id: str
    username: str
    name: str
    description: str
    created_at: datetime
    protected: bool = False
    verified: bool = False
    followers_count: int = 0


@dataclass(frozen=True)
class ServedAs:
    """What X's JSON for one tweet does differently from a well-formed one: fields left out,
    fields with other values (any JSON: wrong types, unknown entities). The store keeps the
    real tweet, so ids, timelines and pagination are unaffected."""

    omit: tuple[str, ...] = ()
    replace: dict[str, Any] = field(default_factory=dict)

    def apply(self, rendered: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in rendered.items() if k not in self.omit} | self.replace


@dataclass
class Tweet:
    id: str
    text: str
    author_id: str
    created_at: datetime
    conversation_id: str
    entities: Entities
    lang: str
    in_reply_to_tweet_id: str | None = None
    in_reply_to_user_id: str | None = None
    category: str | None = None  # what the traffic generator meant it as, for the console
    deleted: bool = False
    like_count: int = 0
    served_as: ServedAs | None = None  # how X's answers get this tweet wrong (robustness tests)

    @property
    def int_id(self) -> int:
        return int(self.id)


@dataclass(frozen=True)
class TimelineQuery:
    since_id: int | None = None
    until_id: int | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    page: PageToken | None = None  # from a pagination token
    max_results: int = 10
    exclude_replies: bool = False

    def accepts(self, tweet: Tweet) -> bool:
        tid = tweet.int_id
        return not (
            (self.since_id is not None and tid <= self.since_id)
            or (self.until_id is not None and tid >= self.until_id)
            or (self.start_time is not None and tweet.created_at < self.start_time)
            or (self.end_time is not None and tweet.created_at >= self.end_time)
            or (self.exclude_replies and tweet.in_reply_to_tweet_id is not None)
        )


@dataclass(frozen=True)
class TimelinePage:
    tweets: list[Tweet]  # newest first
    has_older: bool  # X sends a next_token
    has_newer: bool  # X sends a previous_token


def guess_lang(text: str) -> str:
    """A rough BCP 47 tag from the script; X's own detection is far better."""
    if any("\u3040" <= c <= "\u30ff" for c in text):
        return "ja"
    if any("\uac00" <= c <= "\ud7af" for c in text):
        return "ko"
    if any("\u4e00" <= c <= "\u9fff" for c in text):
        return "zh"
    if any("\u0400" <= c <= "\u04ff" for c in text):
        return "ru"
    if any("\u0600" <= c <= "\u06ff" for c in text):
        return "ar"
    letters = [c for c in text if c.isalpha()]
    return "en" if letters and all(c.isascii() for c in letters) else "und"


@dataclass
class Store:
    bot: User
    ids: SnowflakeIds = field(default_factory=SnowflakeIds)
    users: dict[str, User] = field(default_factory=dict)
    tweets: dict[str, Tweet] = field(default_factory=dict)
    _by_username: dict[str, str] = field(default_factory=dict)
    _authored: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    _mentions: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    _replies: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    _texts: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    # The grown public_metrics of a bot reply (sandbox.x_api.engagement), None for other tweets.
    grown_metrics: Callable[[Tweet], dict[str, int] | None] = lambda _tweet: None

    def __post_init__(self) -> None:
        self._add_user(self.bot)

    def _add_user(self, user: User) -> User:
        self.users[user.id] = user
        self._by_username[user.username.lower()] = user.id
        return user

    # Users

    def user_by_username(self, username: str) -> User | None:
        user_id = self._by_username.get(username.lower())
        return self.users.get(user_id) if user_id else None

    def ensure_user(self, username: str, name: str | None = None, description: str | None = None) -> User:
        """The user with that handle, created on first sight."""
        existing = self.user_by_username(username)
        if existing is not None:
            return existing
        user_id, created = self.ids.next()
        return self._add_user(
            User(
                id=user_id,
                username=username,
                name=name or username,
                description=description or "",
                created_at=created,
            )
        )

    # Tweets

    def add_tweet(
        self,
        author: User,
        text: str,
        in_reply_to: Tweet | None = None,
        lang: str | None = None,
        category: str | None = None,
    ) -> Tweet:
        tweet_id, created = self.ids.next()
        parsed = entities.parse(text)
        tweet = Tweet(
            id=tweet_id,
            text=text,
            author_id=author.id,
            created_at=created,
            conversation_id=in_reply_to.conversation_id if in_reply_to else tweet_id,
            entities=parsed,
            lang=lang or guess_lang(text),
            in_reply_to_tweet_id=in_reply_to.id if in_reply_to else None,
            in_reply_to_user_id=in_reply_to.author_id if in_reply_to else None,
            category=category,
        )
        self.tweets[tweet_id] = tweet
        self._authored[author.id].append(tweet_id)
        for username in parsed.mentioned_usernames():
            mentioned = self.user_by_username(username)
            if mentioned is not None:
                self._mentions[mentioned.id].append(tweet_id)
        if in_reply_to is not None:
            self._replies[in_reply_to.id].append(tweet_id)
        self._texts[(author.id, text)] += 1
        return tweet

    def visible(self, tweet_id: str) -> Tweet | None:
        tweet = self.tweets.get(tweet_id)
        return tweet if tweet is not None and not tweet.deleted else None

    def delete(self, tweet_id: str) -> Tweet | None:
        tweet = self.visible(tweet_id)
        if tweet is None:
            return None
        tweet.deleted = True
        self._texts[(tweet.author_id, tweet.text)] -= 1
        return tweet

    def has_posted(self, author_id: str, text: str) -> bool:
        """Whether the author has a live tweet with exactly this text (X's duplicate rule)."""
        return self._texts.get((author_id, text), 0) > 0

    def replies_to(self, tweet_id: str) -> list[Tweet]:
        return [t for t in (self.tweets[i] for i in self._replies.get(tweet_id, [])) if not t.deleted]

    def tweet_count(self, user_id: str) -> int:
        return sum(1 for i in self._authored.get(user_id, []) if not self.tweets[i].deleted)

    def live_tweets(self) -> Iterator[Tweet]:
        return (t for t in self.tweets.values() if not t.deleted)

    # Timelines

    def mentions(self, user_id: str, query: TimelineQuery) -> TimelinePage:
        return self._page(self._mentions.get(user_id, []), MENTIONS_REACHABLE, query)

    def authored(self, user_id: str, query: TimelineQuery) -> TimelinePage:
        return self._page(self._authored.get(user_id, []), USER_TWEETS_REACHABLE, query)

    def _page(self, ids: list[str], reachable: int, query: TimelineQuery) -> TimelinePage:
        matched: list[Tweet] = []  # every reachable tweet the query selects, newest first
        seen = 0
        for tweet_id in reversed(ids):  # ids only grow, so this walks newest first
            tweet = self.tweets[tweet_id]
            if tweet.deleted:
                continue
            seen += 1
            if seen > reachable:
                break
            if query.accepts(tweet):
                matched.append(tweet)
        token = query.page
        if token is None:
            tweets = matched[: query.max_results]
        elif token.newer:  # the page just before (newer than) the one the token came from
            tweets = [t for t in matched if t.int_id > token.boundary][-query.max_results :]
        else:
            tweets = [t for t in matched if t.int_id < token.boundary][: query.max_results]
        if not tweets:
            return TimelinePage(tweets=[], has_older=False, has_newer=False)
        return TimelinePage(
            tweets=tweets,
            has_older=matched[-1].int_id < tweets[-1].int_id,
            has_newer=matched[0].int_id > tweets[0].int_id,
        )
