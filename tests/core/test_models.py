from __future__ import annotations

import json

import pytest

from roastbot.models import MAX_MESSAGE_BYTES, InvalidMessage, Mention

CONTRACT_FIELDS = {
    "id",
    "text",
    "author_id",
    "conversation_id",
    "created_at",
    "processed_at",
    "referenced_tweet_id",
}


def sample() -> dict[str, object]:
    return {
        "id": "1900000000000000001",
        "text": "@roastbot roast me",
        "author_id": "42",
        "conversation_id": "1900000000000000001",
        "created_at": "2026-11-29T10:00:00.000Z",
        "processed_at": "2026-11-29T10:00:01.000Z",
        "referenced_tweet_id": None,
    }


def test_message_keeps_every_contract_field() -> None:
    mention = Mention.from_bytes(json.dumps(sample()).encode())
    assert set(json.loads(mention.to_bytes())) >= CONTRACT_FIELDS


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (json.dumps({**sample(), "id": "abc"}).encode(), "invalid fields: id"),
        (json.dumps({k: v for k, v in sample().items() if k != "text"}).encode(), "invalid fields: text"),
        (b"x" * (MAX_MESSAGE_BYTES + 1), "exceeds"),
    ],
)
def test_unusable_messages_raise_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason):
        Mention.from_bytes(raw)
