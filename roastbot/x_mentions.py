"""Where X's mentions answer becomes Mentions, one tweet at a time.

The answer is read as plain JSON, not through tweepy's objects: tweepy builds every tweet
of a page at once and one odd value (a ``created_at`` it cannot parse, an id that is not a
number) fails the whole page, so the producer would ask for the same page forever. Here a
tweet that cannot become a mention is skipped with its reason and the rest of the page goes
on; a text longer than a message keeps is cut and marked truncated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from roastbot.models import (
    DESCRIPTION_MAX_CHARS,
    NAME_MAX_CHARS,
    USERNAME_PATTERN,
    Author,
    Mention,
    describe_fields,
)

_ID = re.compile(r"^[0-9]{1,20}$")
_USERNAME = re.compile(USERNAME_PATTERN)


@dataclass(frozen=True)
class FetchedMention:
    mention: Mention
    is_retweet: bool


@dataclass(frozen=True)
class SkippedMention:
    """A tweet of the answer that could not become a mention."""

    mention_id: str | None  # None when even the id was unusable
    reason: str


@dataclass(frozen=True)
class ParsedPage:
    mentions: list[FetchedMention]
    skipped: list[SkippedMention]
    next_token: str | None


class MalformedAnswer(ValueError):
    """The answer as a whole is not a mentions page (not one tweet in it: the page)."""


class _Unusable(ValueError):
    """One tweet that cannot become a mention; the message is the reason."""


def parse_mentions_page(answer: object, processed_at: datetime) -> ParsedPage:
    """Every usable mention of one page, and every unusable one with its reason."""
    if not isinstance(answer, dict):
        raise MalformedAnswer("the answer is not a JSON object")
    data = answer.get("data") or []
    if not isinstance(data, list):
        raise MalformedAnswer("data is not a list")
    includes = answer.get("includes") if isinstance(answer.get("includes"), dict) else {}
    users = _by_id(includes.get("users"))
    tweets = _by_id(includes.get("tweets"))
    meta = answer.get("meta") if isinstance(answer.get("meta"), dict) else {}
    token = meta.get("next_token")
    mentions, skipped = [], []
    for raw in data:
        try:
            mentions.append(_mention(raw, users, tweets, processed_at))
        except _Unusable as problem:
            skipped.append(
                SkippedMention(_tweet_id(raw.get("id")) if isinstance(raw, dict) else None, str(problem))
            )
    return ParsedPage(mentions, skipped, token if isinstance(token, str) and token else None)


def _by_id(items: object) -> dict[str, dict[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {found: item for item in items if isinstance(item, dict) and (found := _tweet_id(item.get("id")))}


def _tweet_id(value: object) -> str | None:
    """X's ids are strings of digits; a bare integer is read as one (bools are not)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    return value if isinstance(value, str) and _ID.match(value) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _created_at(value: object, fallback: datetime) -> datetime:
    """X's timestamp; when it is missing or unreadable, the fetch time (ages count from then)."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return fallback
        return parsed if parsed.tzinfo is not None else fallback
    return fallback


def _references(value: object) -> list[tuple[str, str]]:
    """(type, id) of each well-formed referenced tweet; odd entries are ignored."""
    if not isinstance(value, list):
        return []
    found = []
    for ref in value:
        if (
            isinstance(ref, dict)
            and isinstance(ref.get("type"), str)
            and (ref_id := _tweet_id(ref.get("id")))
        ):
            found.append((ref["type"], ref_id))
    return found


def _count(metrics: object, name: str) -> int | None:
    """One of X's public_metrics counts; None when absent or not a count."""
    value = metrics.get(name) if isinstance(metrics, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _author(author_id: str, user: dict[str, Any] | None) -> Author | None:
    if user is None:
        return None
    username = user.get("username")
    if not isinstance(username, str) or not _USERNAME.match(username):
        raise _Unusable("the author's username is missing or not a valid X username")
    return Author(
        id=author_id,
        username=username,
        name=(_text(user.get("name")) or "")[:NAME_MAX_CHARS],
        description=(_text(user.get("description")) or "")[:DESCRIPTION_MAX_CHARS],
        followers_count=_count(user.get("public_metrics"), "followers_count"),
    )


def _mention(
    raw: object, users: dict[str, dict[str, Any]], tweets: dict[str, dict[str, Any]], processed_at: datetime
) -> FetchedMention:
    if not isinstance(raw, dict):
        raise _Unusable("the tweet is not a JSON object")
    tweet_id = _tweet_id(raw.get("id"))
    if tweet_id is None:
        raise _Unusable("id is missing or not a tweet id")
    text = _text(raw.get("text"))
    if text is None:
        raise _Unusable("text is missing or not a string")
    author_id = _tweet_id(raw.get("author_id"))
    if author_id is None:
        raise _Unusable("author_id is missing or not a user id")
    refs = _references(raw.get("referenced_tweets"))
    replied_to = next((ref_id for kind, ref_id in refs if kind in {"replied_to", "quoted"}), None)
    referenced = tweets.get(replied_to) if replied_to else None
    referenced_author = users.get(_tweet_id(referenced.get("author_id")) or "") if referenced else None
    referenced_username = _text((referenced_author or {}).get("username"))
    try:
        mention = Mention.bounded(
            id=tweet_id,
            text=text,
            author_id=author_id,
            conversation_id=_tweet_id(raw.get("conversation_id")) or tweet_id,
            created_at=_created_at(raw.get("created_at"), processed_at),
            processed_at=processed_at,
            referenced_tweet_id=replied_to,
            author=_author(author_id, users.get(author_id)),
            referenced_text=_text(referenced.get("text")) if referenced else None,
            referenced_author_username=(
                referenced_username if referenced_username and _USERNAME.match(referenced_username) else None
            ),
            like_count=_count(raw.get("public_metrics"), "like_count"),
            reply_count=_count(raw.get("public_metrics"), "reply_count"),
        )
    except ValidationError as error:
        raise _Unusable(f"rejected by the message model: {describe_fields(error)}") from None
    return FetchedMention(mention, is_retweet=any(kind == "retweeted" for kind, _ in refs))
