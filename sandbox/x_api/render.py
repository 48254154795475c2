"""Tweets and users as X API v2 JSON: requested fields, expansions and `includes`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sandbox.x_api import problems
from sandbox.x_api.entities import display_url
from sandbox.x_api.store import Store, Tweet, User

DEFAULT_PROFILE_IMAGE = "https://abs.twimg.com/sticky/default_profile_images/default_profile_normal.png"


def iso(moment: datetime) -> str:
    """X's timestamp format: UTC, milliseconds, `Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Selection:
    tweet_fields: frozenset[str] = frozenset()
    user_fields: frozenset[str] = frozenset()
    expansions: frozenset[str] = frozenset()


def _entities(store: Store, tweet: Tweet) -> dict[str, Any]:
    parsed = tweet.entities
    out: dict[str, Any] = {}
    if parsed.mentions:
        mentions = []
        for m in parsed.mentions:
            entry: dict[str, Any] = {"start": m.start, "end": m.end, "username": m.username}
            user = store.user_by_username(m.username)
            if user is not None:
                entry["id"] = user.id
            mentions.append(entry)
        out["mentions"] = mentions
    if parsed.hashtags:
        out["hashtags"] = [{"start": h.start, "end": h.end, "tag": h.tag} for h in parsed.hashtags]
    if parsed.cashtags:
        out["cashtags"] = [{"start": c.start, "end": c.end, "tag": c.tag} for c in parsed.cashtags]
    if parsed.urls:
        out["urls"] = [
            {
                "start": u.start,
                "end": u.end,
                "url": u.url,
                "expanded_url": u.url,
                "display_url": display_url(u.url),
            }
            for u in parsed.urls
        ]
    return out


def referenced(tweet: Tweet) -> list[dict[str, str]]:
    return [{"type": "replied_to", "id": tweet.in_reply_to_tweet_id}] if tweet.in_reply_to_tweet_id else []


def tweet_json(store: Store, tweet: Tweet, fields: frozenset[str]) -> dict[str, Any]:
    """One tweet: id, text and edit_history_tweet_ids always, the rest when asked for."""
    out: dict[str, Any] = {"id": tweet.id, "text": tweet.text, "edit_history_tweet_ids": [tweet.id]}
    if "author_id" in fields:
        out["author_id"] = tweet.author_id
    if "conversation_id" in fields:
        out["conversation_id"] = tweet.conversation_id
    if "created_at" in fields:
        out["created_at"] = iso(tweet.created_at)
    if "in_reply_to_user_id" in fields and tweet.in_reply_to_user_id:
        out["in_reply_to_user_id"] = tweet.in_reply_to_user_id
    if "referenced_tweets" in fields and tweet.in_reply_to_tweet_id:
        out["referenced_tweets"] = referenced(tweet)
    if "entities" in fields:
        found = _entities(store, tweet)
        if found:
            out["entities"] = found
    if "lang" in fields:
        out["lang"] = tweet.lang
    if "possibly_sensitive" in fields:
        out["possibly_sensitive"] = False
    if "reply_settings" in fields:
        out["reply_settings"] = "everyone"
    if "edit_controls" in fields:
        out["edit_controls"] = {
            "edits_remaining": 5,
            "is_edit_eligible": True,
            "editable_until": iso(tweet.created_at + timedelta(hours=1)),
        }
    if "public_metrics" in fields:
        out["public_metrics"] = {
            "retweet_count": 0,
            "reply_count": len(store.replies_to(tweet.id)),
            "like_count": tweet.like_count,
            "quote_count": 0,
            "bookmark_count": 0,
            "impression_count": 0,
            **(store.grown_metrics(tweet) or {}),
        }
    return out


def _as_served(store: Store, tweet: Tweet, fields: frozenset[str]) -> dict[str, Any]:
    """The tweet as X's answers carry it: with its ``served_as`` oddities, if any."""
    out = tweet_json(store, tweet, fields)
    return tweet.served_as.apply(out) if tweet.served_as is not None else out


def user_json(store: Store, user: User, fields: frozenset[str]) -> dict[str, Any]:
    """One user: id, name and username always, the rest when asked for."""
    out: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.username}
    if "description" in fields:
        out["description"] = user.description
    if "created_at" in fields:
        out["created_at"] = iso(user.created_at)
    if "protected" in fields:
        out["protected"] = user.protected
    if "verified" in fields:
        out["verified"] = user.verified
    if "verified_type" in fields:
        out["verified_type"] = "none"
    if "profile_image_url" in fields:
        out["profile_image_url"] = DEFAULT_PROFILE_IMAGE
    if "url" in fields:
        out["url"] = ""
    if "public_metrics" in fields:
        out["public_metrics"] = {
            "followers_count": user.followers_count,
            "following_count": 0,
            "tweet_count": store.tweet_count(user.id),
            "listed_count": 0,
            "like_count": 0,
            "media_count": 0,
        }
    return out


@dataclass
class _Includes:
    users: dict[str, User] = field(default_factory=dict)
    tweets: dict[str, Tweet] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def user(self, store: Store, user_id: str | None) -> None:
        user = store.users.get(user_id) if user_id else None
        if user is not None:
            self.users.setdefault(user.id, user)


def tweets_answer(
    store: Store, tweets: list[Tweet], selection: Selection, single: bool = False
) -> dict[str, Any]:
    """`data` (list, or one object when `single`), then `includes` and `errors` when any."""
    wanted = selection.expansions
    includes = _Includes()
    for tweet in tweets:
        if "author_id" in wanted:
            includes.user(store, tweet.author_id)
        if "in_reply_to_user_id" in wanted:
            includes.user(store, tweet.in_reply_to_user_id)
        if "entities.mentions.username" in wanted:
            for mention in tweet.entities.mentions:
                found = store.user_by_username(mention.username)
                includes.user(store, found.id if found else None)
        if wanted & {"referenced_tweets.id", "referenced_tweets.id.author_id"} and tweet.in_reply_to_tweet_id:
            parent = store.visible(tweet.in_reply_to_tweet_id)
            if parent is None:
                includes.errors.append(
                    problems.not_found("tweet", "referenced_tweets.id", tweet.in_reply_to_tweet_id)
                )
            else:
                if "referenced_tweets.id" in wanted:
                    includes.tweets.setdefault(parent.id, parent)
                if "referenced_tweets.id.author_id" in wanted:
                    includes.user(store, parent.author_id)
    answer: dict[str, Any] = {}
    rendered = [_as_served(store, t, selection.tweet_fields) for t in tweets]
    if rendered:
        answer["data"] = rendered[0] if single else rendered
    extra: dict[str, Any] = {}
    if includes.users:
        extra["users"] = [user_json(store, u, selection.user_fields) for u in includes.users.values()]
    if includes.tweets:
        extra["tweets"] = [_as_served(store, t, selection.tweet_fields) for t in includes.tweets.values()]
    if extra:
        answer["includes"] = extra
    if includes.errors:
        answer["errors"] = includes.errors
    return answer
