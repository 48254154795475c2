"""The mention message on Kafka (its states: ``roastbot.lifecycle``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_MESSAGE_BYTES = 64 * 1024  # a mention is a few KB at most; anything larger is garbage
# X's rule for a @handle; anything else in a username did not come from X.
USERNAME_PATTERN = r"^[A-Za-z0-9_]{1,15}$"
TWEET_ID_PATTERN = r"^[0-9]{1,20}$"
# X's long posts reach 25,000 characters; a message keeps the first 10,000 (and says so).
TEXT_MAX_CHARS = 10_000
NAME_MAX_CHARS = 100  # X allows 50
DESCRIPTION_MAX_CHARS = 500  # X allows 160


class Author(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=TWEET_ID_PATTERN)
    username: str = Field(default="", pattern=r"^([A-Za-z0-9_]{1,15})?$")  # empty: not known
    name: str = Field(default="", max_length=NAME_MAX_CHARS)
    description: str = Field(default="", max_length=DESCRIPTION_MAX_CHARS)
    followers_count: int | None = Field(default=None, ge=0)  # public_metrics; None: not served


class Mention(BaseModel):
    """One mention as published to the mentions topic.

    The first seven fields are the contract with every consumer; fields may be added,
    never dropped.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(pattern=TWEET_ID_PATTERN)
    text: str = Field(max_length=TEXT_MAX_CHARS)
    author_id: str = Field(pattern=TWEET_ID_PATTERN)
    conversation_id: str = Field(pattern=TWEET_ID_PATTERN)
    created_at: datetime
    processed_at: datetime
    referenced_tweet_id: str | None = None
    author: Author | None = None
    referenced_text: str | None = Field(default=None, max_length=TEXT_MAX_CHARS)
    referenced_author_username: str | None = Field(default=None, pattern=USERNAME_PATTERN)
    replay_of: str | None = None
    # Set when X's text (or the referenced post's) was longer than a message keeps.
    text_truncated: bool = False
    referenced_text_truncated: bool = False
    # The mention's own public_metrics when it was fetched (quota triage by engagement).
    like_count: int | None = Field(default=None, ge=0)
    reply_count: int | None = Field(default=None, ge=0)

    @classmethod
    def bounded(cls, *, text: str, referenced_text: str | None = None, **fields: object) -> Mention:
        """A mention whose texts are cut to what a message keeps (marked truncated), and whose
        serialized form fits MAX_MESSAGE_BYTES however the characters encode."""
        limit = TEXT_MAX_CHARS
        referenced_limit = TEXT_MAX_CHARS
        while True:
            mention = cls(
                text=text[:limit],
                text_truncated=len(text) > limit,
                referenced_text=None if referenced_text is None else referenced_text[:referenced_limit],
                referenced_text_truncated=referenced_text is not None
                and len(referenced_text) > referenced_limit,
                **fields,  # type: ignore[arg-type]
            )
            if len(mention.to_bytes()) <= MAX_MESSAGE_BYTES:
                return mention
            # Four-byte characters or escaped control characters: halve the longer text.
            if len(mention.text) >= len(mention.referenced_text or ""):
                limit = len(mention.text) // 2
            else:
                referenced_limit = len(mention.referenced_text or "") // 2

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Mention:
        """Parse a Kafka value; raises InvalidMessage with a reason for anything unusable."""
        if len(raw) > MAX_MESSAGE_BYTES:
            raise InvalidMessage(f"message of {len(raw)} bytes exceeds {MAX_MESSAGE_BYTES}")
        try:
            payload = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InvalidMessage(f"not JSON: {error}") from None
        if not isinstance(payload, dict):
            raise InvalidMessage(f"not a JSON object: the message is {_json_kind(payload)}")
        try:
            return cls.model_validate(payload)
        except ValidationError as error:
            raise InvalidMessage(f"invalid fields: {describe_fields(error)}") from None

    def age_s(self, now: datetime | None = None) -> float:
        return ((now or utc_now()) - self.created_at).total_seconds()

    @property
    def author_username(self) -> str:
        """The author's @handle, or "" when X sent no user object for them."""
        return self.author.username if self.author else ""


class InvalidMessage(ValueError):
    """A Kafka message that can never become a mention."""


def describe_fields(error: ValidationError) -> str:
    """Each bad field with what was wrong ("author.username: String should match pattern ..."),
    never the value itself."""
    problems = []
    for problem in error.errors(include_url=False, include_input=False):
        where = ".".join(map(str, problem["loc"])) or "(message)"
        problems.append(f"{where}: {problem['msg']}")
    return "; ".join(problems) or "rejected by the message model"


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return f"an array of {len(value)} items" if isinstance(value, list) else type(value).__name__


def utc_now() -> datetime:
    return datetime.now(UTC)
