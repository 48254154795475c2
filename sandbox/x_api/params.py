"""Query parameter checks with X's invalid-request messages, collected then raised once."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.datastructures import QueryParams

from sandbox.x_api.problems import ParameterError

ID_PATTERN = re.compile(r"^[0-9]{1,19}$")

TWEET_FIELDS = frozenset(
    [
        "article",
        "attachments",
        "author_id",
        "card_uri",
        "community_id",
        "context_annotations",
        "conversation_id",
        "created_at",
        "display_text_range",
        "edit_controls",
        "edit_history_tweet_ids",
        "entities",
        "geo",
        "id",
        "in_reply_to_user_id",
        "lang",
        "media_metadata",
        "non_public_metrics",
        "note_tweet",
        "organic_metrics",
        "possibly_sensitive",
        "promoted_metrics",
        "public_metrics",
        "referenced_tweets",
        "reply_settings",
        "scopes",
        "source",
        "text",
        "withheld",
    ]
)
USER_FIELDS = frozenset(
    [
        "affiliation",
        "connection_status",
        "created_at",
        "description",
        "entities",
        "id",
        "is_identity_verified",
        "location",
        "most_recent_tweet_id",
        "name",
        "parody",
        "pinned_tweet_id",
        "profile_banner_url",
        "profile_image_url",
        "protected",
        "public_metrics",
        "receives_your_dm",
        "subscription",
        "subscription_type",
        "url",
        "username",
        "verified",
        "verified_followers_count",
        "verified_type",
        "withheld",
    ]
)
MEDIA_FIELDS = frozenset(
    [
        "alt_text",
        "duration_ms",
        "height",
        "media_key",
        "non_public_metrics",
        "organic_metrics",
        "preview_image_url",
        "promoted_metrics",
        "public_metrics",
        "type",
        "url",
        "variants",
        "width",
    ]
)
POLL_FIELDS = frozenset(["duration_minutes", "end_datetime", "id", "options", "voting_status"])
PLACE_FIELDS = frozenset(
    ["contained_within", "country", "country_code", "full_name", "geo", "id", "name", "place_type"]
)
TWEET_EXPANSIONS = frozenset(
    [
        "article.cover_media",
        "article.media_entities",
        "attachments.media_keys",
        "attachments.media_source_tweet",
        "attachments.poll_ids",
        "author_id",
        "edit_history_tweet_ids",
        "entities.mentions.username",
        "geo.place_id",
        "in_reply_to_user_id",
        "entities.note.mentions.username",
        "referenced_tweets.id",
        "referenced_tweets.id.attachments.media_keys",
        "referenced_tweets.id.author_id",
    ]
)
USER_EXPANSIONS = frozenset(["affiliation.user_id", "most_recent_tweet_id", "pinned_tweet_id"])

FIELD_PARAMS = {
    "tweet.fields": TWEET_FIELDS,
    "post.fields": TWEET_FIELDS,
    "user.fields": USER_FIELDS,
    "media.fields": MEDIA_FIELDS,
    "poll.fields": POLL_FIELDS,
    "place.fields": PLACE_FIELDS,
}


class QueryError(Exception):
    """The request's parameters are invalid; `errors` is X's list of what and why."""

    def __init__(self, errors: list[ParameterError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class PageToken:
    """Where a page starts: just older than ``boundary`` (a next_token) or just newer (a
    previous_token, for clients that page backward)."""

    boundary: int
    newer: bool = False


def encode_token(boundary: str, newer: bool = False) -> str:
    """An opaque pagination token (base32, lower case, like X's)."""
    return base64.b32encode(f"{'n' if newer else 'p'}{boundary}".encode()).decode().rstrip("=").lower()


def decode_token(token: str) -> PageToken | None:
    padded = token.upper() + "=" * (-len(token) % 8)
    try:
        raw = base64.b32decode(padded).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if raw[:1] not in {"p", "n"} or not ID_PATTERN.match(raw[1:]):
        return None
    return PageToken(int(raw[1:]), newer=raw.startswith("n"))


class QueryReader:
    """Reads one endpoint's query, noting every problem the way X words it."""

    def __init__(self, query: QueryParams, allowed: Iterable[str]) -> None:
        self._query = query
        self.errors: list[ParameterError] = []
        allowed = sorted(allowed)
        for name in query:
            if name not in allowed:
                self._fail(f"The query parameter [{name}] is not one of [{','.join(allowed)}]", name)

    def _fail(self, message: str, name: str) -> None:
        self.errors.append(ParameterError(message, {name: self._query.getlist(name)}))

    def _value(self, name: str) -> str | None:
        values = self._query.getlist(name)
        return ",".join(values) if values else None

    def fields(self, *names: str) -> frozenset[str]:
        """A comma-separated list checked against X's allowed values (union over aliases)."""
        chosen: set[str] = set()
        for name in names:
            chosen |= self.choice_list(name, FIELD_PARAMS[name])
        return frozenset(chosen)

    def expansions(self, known: frozenset[str]) -> frozenset[str]:
        return self.choice_list("expansions", known)

    def integer(self, name: str, low: int, high: int, default: int) -> int:
        value = self._value(name)
        if value is None:
            return default
        if not re.fullmatch(r"-?[0-9]+", value):
            self._fail(f"The `{name}` query parameter value [{value}] is not a valid integer", name)
            return default
        number = int(value)
        if not low <= number <= high:
            self._fail(f"The `{name}` query parameter value [{value}] is not between {low} and {high}", name)
            return default
        return number

    def tweet_id(self, name: str) -> int | None:
        value = self._value(name)
        if value is None:
            return None
        if not ID_PATTERN.match(value):
            self._fail(f"The `{name}` query parameter value [{value}] does not match ^[0-9]{{1,19}}$", name)
            return None
        return int(value)

    def ids(self, name: str, most: int = 100) -> list[str]:
        value = self._value(name)
        if value is None:
            self.errors.append(ParameterError(f"The `{name}` query parameter can not be empty", {name: [""]}))
            return []
        items = [v.strip() for v in value.split(",")]
        if not 1 <= len(items) <= most:
            self._fail(f"The `{name}` query parameter value [{value}] is not between 1 and {most}", name)
            return []
        bad = [v for v in items if not ID_PATTERN.match(v)]
        for item in bad:
            self._fail(f"The `{name}` query parameter value [{item}] does not match ^[0-9]{{1,19}}$", name)
        return [] if bad else list(dict.fromkeys(items))

    def time(self, name: str) -> datetime | None:
        value = self._value(name)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            self._fail(
                f"The `{name}` query parameter value [{value}] is not a valid RFC 3339 date-time", name
            )
            return None
        return parsed.astimezone(UTC)

    def token(self, name: str) -> PageToken | None:
        value = self._value(name)
        if value is None:
            return None
        token = decode_token(value)
        if token is None:
            self._fail(f"The `{name}` query parameter value [{value}] is not valid", name)
        return token

    def choice_list(self, name: str, known: frozenset[str]) -> frozenset[str]:
        value = self._value(name)
        chosen: set[str] = set()
        for item in (v.strip() for v in (value or "").split(",") if value):
            if item in known:
                chosen.add(item)
            else:
                self._fail(
                    f"The `{name}` query parameter value [{item}] is not one of [{','.join(sorted(known))}]",
                    name,
                )
        return frozenset(chosen)

    def check(self) -> None:
        if self.errors:
            raise QueryError(self.errors)


def path_id(name: str, value: str) -> None:
    """Path ids get the same pattern check as query ids."""
    if not ID_PATTERN.match(value):
        raise QueryError(
            [
                ParameterError(
                    f"The `{name}` query parameter value [{value}] does not match ^[0-9]{{1,19}}$",
                    {name: [value]},
                )
            ]
        )
