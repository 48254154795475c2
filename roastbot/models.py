"""The mention message on Kafka (its states: ``roastbot.lifecycle``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_MESSAGE_BYTES = 64 * 1024  # a mention is a few KB at most; anything larger is garbage


class Author(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    username: str = ""
    name: str = ""
    description: str = ""


class Mention(BaseModel):
    """One mention as published to the mentions topic.

    The first seven fields are the contract with every consumer; fields may be added,
    never dropped.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(pattern=r"^[0-9]{1,20}$")
    text: str = Field(max_length=10_000)
    author_id: str = Field(pattern=r"^[0-9]{1,20}$")
    conversation_id: str = Field(pattern=r"^[0-9]{1,20}$")
    created_at: datetime
    processed_at: datetime
    referenced_tweet_id: str | None = None
    author: Author | None = None
    referenced_text: str | None = None
    referenced_author_username: str | None = None
    replay_of: str | None = None

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Mention:
        """Parse a Kafka value; raises InvalidMessage with a reason for anything unusable."""
        if len(raw) > MAX_MESSAGE_BYTES:
            raise InvalidMessage(f"message of {len(raw)} bytes exceeds {MAX_MESSAGE_BYTES}")
        try:
            return cls.model_validate(json.loads(raw))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InvalidMessage(f"not JSON: {error}") from None
        except ValidationError as error:
            fields = ", ".join(".".join(map(str, e["loc"])) for e in error.errors())
            raise InvalidMessage(f"invalid fields: {fields}") from None

    def age_s(self, now: datetime | None = None) -> float:
        return ((now or utc_now()) - self.created_at).total_seconds()


class InvalidMessage(ValueError):
    """A Kafka message that can never become a mention."""


def utc_now() -> datetime:
    return datetime.now(UTC)
